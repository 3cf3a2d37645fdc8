// Compose subgraph SDLs into a supergraph with the reference composer.
//
//   node scripts/compose-supergraph.mjs OUT.graphql NAME=URL=SDL_PATH [NAME=URL=SDL_PATH ...]
//
// Writes the supergraph SDL to OUT (or stdout when OUT is "-"); exits 1 and prints
// the composition errors when the subgraphs do not compose.
import { readFileSync, writeFileSync } from "node:fs";
import { parse } from "graphql";
import { composeServices } from "@theguild/federation-composition";

const [out, ...specs] = process.argv.slice(2);
if (!out || specs.length === 0) {
  console.error("usage: compose-supergraph.mjs OUT.graphql NAME=URL=SDL_PATH ...");
  process.exit(2);
}
const services = specs.map((spec) => {
  const [name, ...rest] = spec.split("=");
  const path = rest.pop();
  const url = rest.join("=");
  if (!name || !url || !path) {
    console.error(`bad subgraph spec ${JSON.stringify(spec)}: expected NAME=URL=SDL_PATH`);
    process.exit(2);
  }
  return { name, url, typeDefs: parse(readFileSync(path, "utf8")) };
});
const result = composeServices(services);
if (result.errors && result.errors.length > 0) {
  for (const error of result.errors) console.error(String(error.message ?? error));
  process.exit(1);
}
if (out === "-") process.stdout.write(result.supergraphSdl + "\n");
else writeFileSync(out, result.supergraphSdl + "\n");
