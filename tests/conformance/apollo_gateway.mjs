// Serve a supergraph with @apollo/gateway, the reference the conformance suite compares against.
//
//   node tests/conformance/apollo_gateway.mjs SUPERGRAPH_PATH PORT
//
// Subgraph URLs come from the supergraph unless GOVGRAPH_SUBGRAPH_<NAME>_URL overrides
// them (NAME is the join__graph name upper-cased), the same overrides govgraph reads.
import { readFileSync } from "node:fs";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { ApolloGateway, RemoteGraphQLDataSource } from "@apollo/gateway";

const [supergraphPath, port] = process.argv.slice(2);
if (!supergraphPath || !port) {
  console.error("usage: apollo_gateway.mjs SUPERGRAPH_PATH PORT");
  process.exit(2);
}

const gateway = new ApolloGateway({
  supergraphSdl: readFileSync(supergraphPath, "utf8"),
  buildService({ name, url }) {
    const override = process.env[`GOVGRAPH_SUBGRAPH_${name.toUpperCase()}_URL`];
    return new RemoteGraphQLDataSource({ url: override ?? url });
  },
  logger: { debug() {}, info() {}, warn: console.warn, error: console.error },
});

const server = new ApolloServer({
  gateway,
  introspection: true,
  csrfPrevention: false,
  includeStacktraceInErrorResponses: false,
});

const { url } = await startStandaloneServer(server, {
  listen: { host: "127.0.0.1", port: Number(port) },
});
console.log(`apollo gateway ready at ${url}`);

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, async () => {
    await server.stop();
    process.exit(0);
  });
}
