// A bank's day with the registry, written against the types that
// openapi-typescript generates from the OpenAPI document: file, amend with
// If-Match, search and page, read a certificate, cancel. It is compiled with
// tsc --noEmit and no casts: a document that gave untyped or missing shapes
// would fail here.
import type { components, operations } from "../generated/api";

type Schemas = components["schemas"];
type JSONOf<O, S extends number> = O extends { responses: { [K in S]: { content: { "application/json": infer B } } } } ? B : never;

export class Registry {
  constructor(private base: string, private token: string) {}

  private async call<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ body: T; etag: string | null }> {
    const res = await fetch(this.base + path, {
      method,
      headers: { Authorization: `Bearer ${this.token}`, "Content-Type": "application/json", ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) {
      const problem: Schemas["Problem"] = await res.json();
      throw new Error(`${problem.status} ${problem.code}: ${problem.detail ?? ""}`);
    }
    return { body: await res.json(), etag: res.headers.get("ETag") };
  }

  file(f: Schemas["Filing"], key: string) {
    return this.call<JSONOf<operations["fileRegistration"], 201>>("POST", "/registrations", f, { "Idempotency-Key": key });
  }
  amend(number: string, etag: string, a: Schemas["Amendment"]) {
    return this.call<JSONOf<operations["amendRegistration"], 201>>("POST", `/registrations/${number}/amendments`, a, { "If-Match": etag });
  }
  search(req: Schemas["SearchRequest"]) {
    return this.call<JSONOf<operations["search"], 201>>("POST", "/searches", req);
  }
  page(number: string, cursor: string) {
    return this.call<Schemas["SearchPage"]>("GET", `/searches/${number}/results?cursor=${encodeURIComponent(cursor)}`);
  }
  certificate(number: string) {
    return this.call<Schemas["Certificate"]>("GET", `/certificates/${number}`);
  }
  cancel(number: string, c: Schemas["Cancellation"]) {
    return this.call<Schemas["Registration"]>("POST", `/registrations/${number}/cancellation`, c);
  }
}

export async function day(r: Registry): Promise<string[]> {
  const said: string[] = [];
  const kind: Schemas["Kind"] = "chattel_mortgage";
  const item: Schemas["Item"] = { type: "equipment", serial_number: "SN-1" };
  const filed = await r.file({
    kind,
    grantors: [{ type: "organization", name: "Grantor Co", uscc: "91350100M000100Y43" }],
    secured_parties: [{ type: "organization", name: "Bank", uscc: "91110000100000589B" }],
    collateral: { description: "machines", items: [item] },
    period_months: 12,
  }, "day-1");
  const number: string = filed.body.number;
  if (filed.etag === null) throw new Error("no ETag");
  const amended = await r.amend(number, filed.etag, { add_items: [{ type: "vehicle", serial_number: "VIN-1" }] });
  for (const it of amended.body.collateral.items) said.push(`${it.type} ${it.serial_number}`);
  const found = await r.search({ criteria: { uscc: "91350100M000100Y43" } });
  let cursor = found.body.next_cursor;
  for (const res of found.body.results) said.push(`${res.matched_by} ${res.registration.status}`);
  for (let i = 0; cursor !== undefined && i < 100; i++) {
    const p = await r.page(found.body.number, cursor);
    for (const res of p.body.results) said.push(res.registration.number);
    cursor = p.body.next_cursor;
  }
  const cert = await r.certificate(number);
  const status: Schemas["Certificate"]["status"] = cert.body.status;
  said.push(`${cert.body.kind_of_certificate} ${cert.body.digest} ${status ?? ""}`);
  const reason: Schemas["Cancellation"]["reason"] = "debt_repaid";
  const cancelled = await r.cancel(number, { reason });
  said.push(cancelled.body.status);
  return said;
}
