// A bank's day with the registry in TypeScript, typed by what
// openapi-typescript generates from the OpenAPI document: sign in, file
// (under an Idempotency-Key, and once more to see the replay), amend under
// If-Match, meet a stale If-Match, search and read every page, check a
// certificate, cancel. Every enum is a typed literal and there is no cast:
// a document that gave untyped or missing shapes would not compile.
//
// npm run build compiles it to dist/, and main.ts runs it against a
// registry (docs/integrating.md, "A worked example in TypeScript");
// TestATypeScriptDay (client/typescript_test.go) runs it against a registry
// on loopback.
import type { components, operations } from "../generated/api.js";

export type Schemas = components["schemas"];
export type Problem = Schemas["Problem"];

// The JSON body of operation O's answer with status S.
type JSONOf<O, S extends number> = O extends { responses: { [K in S]: { content: { "application/json": infer B } } } } ? B : never;

// A refusal: the HTTP status and the problem document, whose code is typed
// (a client decides by the code, never by the text).
export class ProblemError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(`${status} ${problem.code}: ${problem.detail ?? problem.title}`);
  }
}

// An answer: its body, its ETag (a registration's version, for If-Match)
// and whether it is the stored answer to an earlier request with the same
// Idempotency-Key.
export interface Answer<T> {
  body: T;
  etag: string | null;
  replayed: boolean;
}

interface Send {
  idempotencyKey?: string;
  ifMatch?: string;
  // A request that does no harm when it arrives twice though it has no
  // Idempotency-Key (signing in: at worst a second token, which expires).
  harmlessTwice?: boolean;
}

// retryAfter is the wait, in seconds, that a Retry-After header asks for:
// whole seconds (what the registry sends) or an HTTP date; a second when
// there is none, and never more than a minute.
export function retryAfter(header: string | null, now: number = Date.now()): number {
  if (header === null) return 1;
  const h = header.trim();
  if (/^\d+$/.test(h)) return Math.min(Number(h), 60);
  const at = Date.parse(h);
  if (Number.isNaN(at)) return 1;
  return Math.min(Math.max(Math.ceil((at - now) / 1000), 0), 60);
}

const sleep = (seconds: number) => new Promise<void>((done) => setTimeout(done, seconds * 1000));

export class Registry {
  private readonly api: string;
  private token = "";

  // registryURL is the registry's address (https://registry.example);
  // /api/v1 is added. noteRetry hears of every request sent again.
  constructor(
    registryURL: string,
    private readonly noteRetry: (note: string) => void = () => {},
    private readonly maxRetries = 10,
  ) {
    const base = registryURL.replace(/\/+$/, "");
    this.api = base.endsWith("/api/v1") ? base : base + "/api/v1";
  }

  // useToken authenticates the calls that follow with a token an
  // organization's administrator issued (or signIn's).
  useToken(token: string) {
    this.token = token;
  }

  // call sends one request, and again after the wait Retry-After gives
  // while the registry answers 429 or 503, if the request is safe to send
  // twice: a GET, or a POST under an Idempotency-Key (the registry answers
  // its repetition with the first answer, and never makes a second change).
  private async call<T>(method: "GET" | "POST", path: string, body?: unknown, o: Send = {}): Promise<Answer<T>> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (this.token !== "") headers["Authorization"] = `Bearer ${this.token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (o.idempotencyKey !== undefined) headers["Idempotency-Key"] = o.idempotencyKey;
    if (o.ifMatch !== undefined) headers["If-Match"] = o.ifMatch;
    const again = method === "GET" || o.idempotencyKey !== undefined || o.harmlessTwice === true;
    for (let attempt = 0; ; attempt++) {
      const res = await fetch(this.api + path, { method, headers, body: body === undefined ? null : JSON.stringify(body) });
      if ((res.status === 429 || res.status === 503) && again && attempt < this.maxRetries) {
        const wait = retryAfter(res.headers.get("Retry-After"));
        await res.arrayBuffer();
        this.noteRetry(`${method} ${path} answered ${res.status}: sent again after ${wait} s`);
        await sleep(wait);
        continue;
      }
      if (!res.ok) {
        if (!(res.headers.get("Content-Type") ?? "").includes("json")) {
          throw new Error(`${method} ${path}: ${res.status} ${(await res.text()).slice(0, 200)}`);
        }
        const problem: Problem = await res.json();
        throw new ProblemError(res.status, problem);
      }
      const answer: T = await res.json();
      return { body: answer, etag: res.headers.get("ETag"), replayed: res.headers.get("Idempotent-Replayed") === "true" };
    }
  }

  // signIn exchanges a user's email and password for a token (POST /tokens,
  // which takes no token itself) and uses it from then on.
  async signIn(email: string, password: string) {
    const req: Schemas["TokenRequest"] = { email, password };
    const issued = await this.call<JSONOf<operations["createToken"], 201>>("POST", "/tokens", req, { harmlessTwice: true });
    this.useToken(issued.body.token);
    return issued.body.expires_at;
  }
  file(f: Schemas["Filing"], idempotencyKey: string) {
    return this.call<JSONOf<operations["fileRegistration"], 201>>("POST", "/registrations", f, { idempotencyKey });
  }
  amend(number: string, ifMatch: string, a: Schemas["Amendment"], idempotencyKey: string) {
    return this.call<JSONOf<operations["amendRegistration"], 201>>("POST", `/registrations/${number}/amendments`, a, { ifMatch, idempotencyKey });
  }
  cancel(number: string, ifMatch: string, c: Schemas["Cancellation"], idempotencyKey: string) {
    return this.call<JSONOf<operations["cancelRegistration"], 201>>("POST", `/registrations/${number}/cancellation`, c, { ifMatch, idempotencyKey });
  }
  search(req: Schemas["SearchRequest"], idempotencyKey: string) {
    return this.call<JSONOf<operations["search"], 201>>("POST", "/searches", req, { idempotencyKey });
  }
  results(number: string, cursor: string) {
    return this.call<JSONOf<operations["getSearchResults"], 200>>("GET", `/searches/${number}/results?cursor=${encodeURIComponent(cursor)}`);
  }
  certificate(number: string) {
    return this.call<JSONOf<operations["getCertificate"], 200>>("GET", `/certificates/${number}`);
  }
}

// The parties of the day's loans: the bank (the clerk's organization) and
// the borrower, a machine shop, each with its domicile and legal
// representative, as the 2021 Measures ask of a new filing.
export const bank: Schemas["Party"] = {
  type: "organization", name: "示例银行上海分行", uscc: "91310000132209458L",
  address: "上海市黄浦区中山东一路24号", legal_representative: "李明",
};
export const borrower: Schemas["Party"] = {
  type: "organization", name: "上海星辰精密机械有限公司", uscc: "91310115MA1K3YJ12G",
  address: "上海市浦东新区张江路88号", legal_representative: "王建国",
};

// day is the clerk's day; say hears a line for each step. run makes the
// day's Idempotency-Keys its own (a key is the user's for 24 hours).
export async function day(r: Registry, say: (line: string) => void, run: string): Promise<void> {
  const kind: Schemas["Kind"] = "chattel_mortgage";
  const lathe: Schemas["Item"] = { type: "equipment", serial_number: `LATHE-${run}` };
  const loan: Schemas["Filing"] = {
    kind,
    grantors: [borrower],
    secured_parties: [bank],
    collateral: { description: "一台数控车床", items: [lathe] },
    period_months: 36,
    reference: `loan ${run}-1`,
    // The bank agreed the content with the borrower before filing.
    agreed_with_grantor: true,
    principal_amount: { amount: "3000000.00", currency: "CNY" },
  };

  // File under an Idempotency-Key; the answer's ETag is the version.
  const filed = await r.file(loan, `${run}-file-1`);
  const number = filed.body.number;
  if (filed.etag === null) throw new Error("the filing's answer has no ETag");
  say(`filed ${number}: ${filed.body.status}, version ${filed.body.version}, expires ${filed.body.expires_at}`);

  // The same request with the same key, as after a lost answer: the first
  // answer again, and no second registration.
  const again = await r.file(loan, `${run}-file-1`);
  if (again.body.number !== number || !again.replayed) throw new Error(`the repeated filing was answered ${again.body.number}, replayed ${again.replayed}`);
  say(`the same filing again: ${again.body.number}, Idempotent-Replayed ${again.replayed}`);

  // A second loan to the same borrower, over another machine.
  const mill: Schemas["Item"] = { type: "equipment", serial_number: `MILL-${run}` };
  const second = await r.file({ ...loan, collateral: { description: "一台立式加工中心", items: [mill] }, reference: `loan ${run}-2` }, `${run}-file-2`);
  say(`filed ${second.body.number}: ${second.body.status}`);

  // Amend the first, on condition that nobody changed it since the filing.
  const truck: Schemas["Item"] = { type: "vehicle", serial_number: `VIN-${run}` };
  const amended = await r.amend(number, filed.etag, { add_items: [truck] }, `${run}-amend-1`);
  if (amended.etag === null) throw new Error("the amendment's answer has no ETag");
  const items = amended.body.collateral.items.map((it) => `${it.type} ${it.serial_number}`).join(", ");
  say(`amended ${number} to version ${amended.body.version}: ${items}`);

  // The filing's ETag is stale now: a change under it is refused, and
  // changes nothing.
  const reason: Schemas["Cancellation"]["reason"] = "debt_repaid";
  try {
    await r.cancel(number, filed.etag, { reason }, `${run}-cancel-1`);
    throw new Error("a cancellation under a stale If-Match went through");
  } catch (e) {
    if (!(e instanceof ProblemError) || e.problem.code !== "version_mismatch") throw e;
    say(`a stale If-Match: ${e.status} ${e.problem.code}`);
  }

  // Search by the borrower's USCC and read every page of the results.
  const criteria: Schemas["Criteria"] = { uscc: borrower.uscc };
  const found = await r.search({ criteria }, `${run}-search-1`);
  const numbers = found.body.results.map((res) => res.registration.number);
  say(`search ${found.body.number}: ${found.body.result_count} found, ${numbers.length} in its answer`);
  let pages = 0;
  for (let cursor = found.body.next_cursor; cursor !== undefined && pages < 1000; pages++) {
    const page = await r.results(found.body.number, cursor);
    for (const res of page.body.results) {
      const by: Schemas["SearchResult"]["matched_by"] = res.matched_by;
      numbers.push(res.registration.number);
      say(`  page ${pages + 1}: ${res.registration.number} (${by}, ${res.registration.status})`);
    }
    cursor = page.body.next_cursor;
  }
  if (numbers.length !== found.body.result_count || !numbers.includes(number) || !numbers.includes(second.body.number)) {
    throw new Error(`the pages gave ${numbers.length} of ${found.body.result_count}: ${numbers.join(" ")}`);
  }
  say(`read ${numbers.length} of ${found.body.result_count} in ${pages + 1} answers`);

  // Anyone can check a number: a lender shown a certificate does this.
  const cert = await r.certificate(number);
  const status: Schemas["Certificate"]["status"] = cert.body.status;
  say(`certificate ${cert.body.number}: ${cert.body.kind_of_certificate} ${cert.body.kind} ${status ?? "(no status)"} ${cert.body.digest}`);

  // The loan is repaid: cancel under the amendment's version. The refusal
  // above stored nothing under its key, so the same key goes on.
  const cancelled = await r.cancel(number, amended.etag, { reason }, `${run}-cancel-1`);
  const done: Schemas["Registration"]["status"] = cancelled.body.status;
  if (done !== "cancelled") throw new Error(`cancelled, yet ${done}`);
  say(`cancelled ${number}: ${done}, version ${cancelled.body.version}`);
}
