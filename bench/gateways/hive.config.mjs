// Hive Gateway configuration for the benchmark; BENCH_HIVE_DEDUP picks the deduplication mode.
//
//   default  the gateway's own defaults (identical in-flight subgraph requests are shared)
//   off      no deduplication at all
//   inbound  also share identical in-flight client requests (off by default in Hive Gateway)
import { defineConfig } from "@graphql-hive/gateway";

const mode = process.env.BENCH_HIVE_DEDUP ?? "default";
if (!["default", "off", "inbound"].includes(mode)) {
  throw new Error(`BENCH_HIVE_DEDUP must be default, off or inbound, got ${JSON.stringify(mode)}`);
}

export const gatewayConfig = defineConfig({
  graphiql: false,
  landingPage: false,
  logging: "error",
  ...(mode === "off" ? { transportEntries: { "*": { options: { deduplicateInflightRequests: false } } } } : {}),
  ...(mode === "inbound" ? { inboundInflightRequestDeduplication: true } : {}),
});
