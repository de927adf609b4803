// Runs the day (day.ts) against a registry:
//
//	REGISTRY_URL=http://127.0.0.1:8081 REGISTRY_EMAIL=... REGISTRY_PASSWORD=... npm run --silent day
//
// with REGISTRY_TOKEN instead of the email and password to use a token an
// administrator issued. It prints a line a step, and exits 1 (with the
// problem) when a step fails.
import { Registry, ProblemError, day } from "./day.js";

const env = process.env;
const r = new Registry(env["REGISTRY_URL"] ?? "http://127.0.0.1:8080", (note) => console.log(`retry: ${note}`));
try {
  const token = env["REGISTRY_TOKEN"] ?? "";
  const email = env["REGISTRY_EMAIL"] ?? "";
  const password = env["REGISTRY_PASSWORD"] ?? "";
  if (token !== "") {
    r.useToken(token);
  } else if (email !== "" && password !== "") {
    console.log(`signed in until ${await r.signIn(email, password)}`);
  } else {
    throw new Error("set REGISTRY_TOKEN, or REGISTRY_EMAIL and REGISTRY_PASSWORD");
  }
  await day(r, (line) => console.log(line), env["REGISTRY_RUN"] ?? Date.now().toString(36));
} catch (e) {
  if (e instanceof ProblemError) {
    console.error(`the day stopped: ${e.message}`);
    for (const f of e.problem.errors ?? []) console.error(`  ${f.field}: ${f.code} ${f.message}`);
  } else {
    console.error("the day stopped:", e);
  }
  process.exitCode = 1;
}
