// Compose many subgraph sets in one process with the reference composer, as
// scripts/compose-supergraph.mjs does for one: each stdin line is
// {"id": ID, "subgraphs": [{"name": N, "url": U, "sdl": SDL}, ...]}, answered on stdout with
// {"id": ID, "supergraph": SDL} or {"id": ID, "errors": [MESSAGE, ...]}.
import { createInterface } from "node:readline";
import { parse } from "graphql";
import { composeServices } from "@theguild/federation-composition";

for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const { id, subgraphs } = JSON.parse(line);
  let reply;
  try {
    const services = subgraphs.map(({ name, url, sdl }) => ({ name, url, typeDefs: parse(sdl) }));
    const result = composeServices(services);
    reply = result.errors && result.errors.length > 0
      ? { id, errors: result.errors.map((error) => String(error.message ?? error)) }
      : { id, supergraph: result.supergraphSdl };
  } catch (error) {
    reply = { id, errors: [String(error?.message ?? error)] };
  }
  process.stdout.write(JSON.stringify(reply) + "\n");
}
