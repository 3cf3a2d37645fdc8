// Apollo Gateway on Apollo Server: a static supergraph, no polling, no landing page.
//
//   node apollo.mjs SUPERGRAPH PORT
import { readFileSync } from "node:fs";
import { ApolloGateway } from "@apollo/gateway";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";

const [supergraph, port] = process.argv.slice(2);
if (!supergraph || !port) {
  console.error("usage: apollo.mjs SUPERGRAPH PORT");
  process.exit(2);
}
const gateway = new ApolloGateway({ supergraphSdl: readFileSync(supergraph, "utf8") });
const server = new ApolloServer({ gateway, plugins: [ApolloServerPluginLandingPageDisabled()] });
const { url } = await startStandaloneServer(server, { listen: { host: "127.0.0.1", port: Number(port) } });
console.log(`ready ${url}`);
