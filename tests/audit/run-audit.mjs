// Run the graphql-http server audits against a GraphQL over HTTP endpoint.
//
//   node tests/audit/run-audit.mjs URL
//
// Prints a JSON array, one entry per audit: {id, name, requirement, status, reason,
// httpStatus}. `status` is "ok", or "error" (a failed MUST), "warn" (a failed SHOULD)
// or "notice" (a failed MAY). Exits 0 whenever the audits ran, whatever their results.
import { serverAudits } from "graphql-http";

const url = process.argv[2];
if (!url) {
  console.error("usage: run-audit.mjs URL");
  process.exit(2);
}

const results = [];
// One audit at a time: the results do not depend on order and the machine stays calm.
for (const audit of serverAudits({ url, fetchFn: fetch })) {
  const result = await audit.fn();
  results.push({
    id: result.id,
    name: result.name,
    requirement: result.name.split(" ")[0],
    status: result.status,
    reason: result.reason ?? null,
    httpStatus: result.response ? result.response.status : null,
  });
}
process.stdout.write(JSON.stringify(results, null, 2) + "\n");
