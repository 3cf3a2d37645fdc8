// Serve supergraphs with @apollo/gateway, the reference the conformance suite compares against.
//
//   node tests/conformance/apollo_gateway.mjs SUPERGRAPH_PATH PORT
//       one gateway; subgraph URLs come from the supergraph unless GOVGRAPH_SUBGRAPH_<NAME>_URL
//       overrides them (NAME is the join__graph name upper-cased), as govgraph reads them.
//   node tests/conformance/apollo_gateway.mjs --stdin
//       many gateways in one process, so the suite loads the gateway modules once: each
//       stdin line is {"start": PORT, "supergraph": PATH, "urls": {NAME: URL}, "engine": E} or
//       {"stop": PORT}; each is answered on stdout with {"ok": PORT} or {"error": PORT, "message": ...}.
//       E is "apollo" (the default), "hive": Hive Gateway, the second opinion the suite asks
//       when govgraph and @apollo/gateway disagree, or "hive-router": Hive Gateway planning
//       with the Rust query planner of @graphql-hive/router-runtime, the reference of the
//       random differential test (tests/conformance/random/).
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { createInterface } from "node:readline";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { ApolloGateway, RemoteGraphQLDataSource } from "@apollo/gateway";

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

async function serve(supergraphPath, port, urlFor) {
  const gateway = new ApolloGateway({
    supergraphSdl: readFileSync(supergraphPath, "utf8"),
    buildService({ name, url }) {
      return new RemoteGraphQLDataSource({ url: urlFor(name) ?? url });
    },
    logger: quiet,
  });
  const server = new ApolloServer({
    gateway,
    introspection: true,
    csrfPrevention: false,
    includeStacktraceInErrorResponses: false,
    logger: quiet,
  });
  await startStandaloneServer(server, { listen: { host: "127.0.0.1", port: Number(port) } });
  return server;
}

// Hive Gateway takes subgraph URLs from the supergraph itself, so the overrides are written in.
async function serveHive(supergraphPath, port, urls, router = false) {
  const { createGatewayRuntime } = await import("@graphql-hive/gateway-runtime");
  const extra = {};
  if (router) {
    const { unifiedGraphHandler } = await import("@graphql-hive/router-runtime");
    extra.unifiedGraphHandler = unifiedGraphHandler;
  }
  const sdl = readFileSync(supergraphPath, "utf8").replace(
    /@join__graph\(name: "([^"]+)", url: "([^"]*)"\)/g,
    (_, name, url) => `@join__graph(name: "${name}", url: "${urls[name] ?? url}")`,
  );
  const runtime = createGatewayRuntime({
    supergraph: sdl, logging: false, graphiql: false, ...extra });
  const http = createServer(runtime);
  await new Promise((resolve) => http.listen(Number(port), "127.0.0.1", resolve));
  return {
    async stop() {
      await new Promise((resolve) => http.close(resolve));
      await runtime.dispose?.();
    },
  };
}

const args = process.argv.slice(2);
if (args[0] === "--stdin") {
  const servers = new Map();
  const reply = (message) => process.stdout.write(JSON.stringify(message) + "\n");
  for await (const line of createInterface({ input: process.stdin })) {
    if (!line.trim()) continue;
    const command = JSON.parse(line);
    if ("start" in command) {
      try {
        const urls = command.urls ?? {};
        const server = command.engine === "hive" || command.engine === "hive-router"
          ? await serveHive(command.supergraph, command.start, urls,
            command.engine === "hive-router")
          : await serve(command.supergraph, command.start, (name) => urls[name]);
        servers.set(command.start, server);
        reply({ ok: command.start });
      } catch (error) {
        reply({ error: command.start, message: String(error?.stack ?? error) });
      }
    } else if ("stop" in command) {
      await servers.get(command.stop)?.stop();
      servers.delete(command.stop);
      reply({ ok: command.stop });
    }
  }
  for (const server of servers.values()) await server.stop();
  process.exit(0);
} else {
  const [supergraphPath, port] = args;
  if (!supergraphPath || !port) {
    console.error("usage: apollo_gateway.mjs SUPERGRAPH_PATH PORT | --stdin");
    process.exit(2);
  }
  const server = await serve(supergraphPath, port,
    (name) => process.env[`GOVGRAPH_SUBGRAPH_${name.toUpperCase()}_URL`]);
  console.log(`apollo gateway ready at http://127.0.0.1:${port}/`);
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.on(signal, async () => {
      await server.stop();
      process.exit(0);
    });
  }
}
