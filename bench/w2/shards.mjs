// Stand-ins for 31 provincial platforms that each run on their own machines.
//
//   node shards.mjs PORT UPSTREAM_BASE_URL
//
// In production every province answers from its own hardware, so a scatter's 31 fetches are
// served in parallel. On one benchmark machine the demo's provincial shards share one Python
// process and one core, and a scatter would measure that process working through 31 requests
// in turn. This process stands in front of the real shards instead: the first answer to each
// distinct (path, body) is fetched from UPSTREAM_BASE_URL (the real provincial subgraph) and
// remembered, and every answer, first or remembered, is sent after the configured delay — a
// provincial platform's network and processing time — without holding the CPU.
//
//   POST /__delay?ms=N   sets the delay of later answers (0 or more milliseconds)
//   GET  /__stats        {"delay_ms": N, "upstream_fetches": N, "answers": N, "remembered": N}
//
// Only successful (HTTP 200) upstream answers are remembered. Prints "ready" once listening.
import { createServer, request as httpRequest, Agent } from "node:http";

const MEMO_LIMIT = 10_000;
const [portText, upstreamText] = process.argv.slice(2);
const port = Number(portText);
if (!Number.isInteger(port) || port <= 0 || !upstreamText) {
  console.error("usage: node shards.mjs PORT UPSTREAM_BASE_URL");
  process.exit(2);
}
const upstream = new URL(upstreamText);
const agent = new Agent({ keepAlive: true, maxSockets: 64 });
const memo = new Map();
let delayMs = 0;
let upstreamFetches = 0;
let answers = 0;

function readBody(stream) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    stream.on("data", (chunk) => chunks.push(chunk));
    stream.on("end", () => resolve(Buffer.concat(chunks)));
    stream.on("error", reject);
  });
}

function fetchUpstream(path, body, contentType, claims) {
  upstreamFetches += 1;
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      { host: upstream.hostname, port: upstream.port, path, method: "POST", agent,
        headers: { "content-type": contentType || "application/json", "content-length": body.length,
                   ...(claims ? { "x-govgraph-claims": claims } : {}) } },
      (incoming) => {
        readBody(incoming).then(
          (payload) => resolve({ status: incoming.statusCode, type: incoming.headers["content-type"], payload }),
          reject,
        );
      },
    );
    outgoing.setTimeout(30_000, () => outgoing.destroy(new Error("upstream timed out")));
    outgoing.on("error", reject);
    outgoing.end(body);
  });
}

function send(response, answer) {
  const write = () => {
    answers += 1;
    response.writeHead(answer.status, { "content-type": answer.type || "application/json",
                                        "content-length": answer.payload.length });
    response.end(answer.payload);
  };
  if (delayMs > 0) setTimeout(write, delayMs);
  else write();
}

const server = createServer(async (req, res) => {
  try {
    const url = new URL(req.url, "http://shards");
    if (url.pathname === "/__delay" && req.method === "POST") {
      const text = url.searchParams.get("ms") ?? "";
      const ms = Number(text);
      if (!/^\d+(\.\d+)?$/.test(text) || !Number.isFinite(ms)) {
        res.writeHead(400, { "content-type": "text/plain" }).end("ms must be a number of milliseconds, 0 or more\n");
        return;
      }
      delayMs = ms;
      res.writeHead(204).end();
      return;
    }
    if (url.pathname === "/__stats") {
      const stats = { delay_ms: delayMs, upstream_fetches: upstreamFetches, answers, remembered: memo.size };
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(stats));
      return;
    }
    if (req.method !== "POST") {
      res.writeHead(405, { allow: "POST" }).end();
      return;
    }
    const body = await readBody(req);
    // the caller the gateway vouches for is part of what is asked: one answer per caller
    const claims = req.headers["x-govgraph-claims"];
    const key = `${req.url}\n${claims || ""}\n${body.toString("latin1")}`;
    let answer = memo.get(key);
    if (answer === undefined) {
      answer = await fetchUpstream(req.url, body, req.headers["content-type"], claims);
      if (answer.status === 200 && memo.size < MEMO_LIMIT) memo.set(key, answer);
    }
    send(res, answer);
  } catch (error) {
    res.writeHead(502, { "content-type": "text/plain" }).end(`shard stand-in: ${error.message}\n`);
  }
});
server.keepAliveTimeout = 60_000;
server.listen(port, "127.0.0.1", () => console.log("ready"));
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => server.close(() => process.exit(0)));
