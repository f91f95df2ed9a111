// Run graphql-http's GraphQL-over-HTTP server audits against URL, authenticated with TOKEN.
//
//   node tests/http_audit/audit.mjs http://127.0.0.1:5000/graphql "$TOKEN"
//
// Prints one line per audit (id, status, name, and the reason of a failure), then a JSON
// summary line. Exits 1 unless every audit is "ok": the backend must pass the suite in full.
import { auditServer } from "graphql-http";

const [url, token] = process.argv.slice(2);
if (!url || !token) {
  console.error("usage: node audit.mjs URL TOKEN");
  process.exit(2);
}

/** Send every audit request with the bearer token, as an authenticated client would. */
function fetchWithToken(input, init = {}) {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${token}`);
  return fetch(input, { ...init, headers });
}

const results = await auditServer({ url, fetchFn: fetchWithToken });
const failures = [];
for (const result of results) {
  console.log(`${result.id} ${result.status} ${result.name}`);
  if (result.status !== "ok") {
    let body = "";
    try {
      body = await result.response.text();
    } catch {
      // the audit already read the body
    }
    const failure = {
      id: result.id,
      name: result.name,
      status: result.status,
      reason: result.reason,
      httpStatus: result.response.status,
      contentType: result.response.headers.get("content-type"),
      body,
    };
    console.log(`  reason: ${failure.reason}`);
    failures.push(failure);
  }
}
const summary = { total: results.length, ok: results.length - failures.length, failures };
console.log(JSON.stringify(summary));
process.exit(failures.length ? 1 : 0);
