// The four W1 subgraphs in one process, one port each.
//
//   node subgraphs.mjs ACCOUNTS_PORT INVENTORY_PORT PRODUCTS_PORT REVIEWS_PORT
//
// Each distinct request body is executed once with graphql-js and its response bytes are
// remembered: the gateways send the same bodies over and over, and the subgraphs must
// never be the bottleneck of a gateway benchmark. Prints "ready" when all ports listen.
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { buildSchema, graphql } from "graphql";
import { DATA, shippingEstimate } from "./data.mjs";

const MEMO_LIMIT = 100_000;

const FEDERATION_PRELUDE = `
  # a scalar built from SDL passes JSON values through unchanged, as representations need
  scalar _Any
  directive @key(fields: String!, resolvable: Boolean = true) repeatable on OBJECT | INTERFACE
  directive @external on FIELD_DEFINITION | OBJECT
  directive @requires(fields: String!) on FIELD_DEFINITION
  directive @provides(fields: String!) on FIELD_DEFINITION
  type _Service { sdl: String }
`;

/** Build an executable federation subgraph from its SDL, root resolvers and entity resolvers. */
function subgraph(name, rootResolvers, entityResolvers) {
  const sdl = readFileSync(new URL(`./${name}.graphql`, import.meta.url), "utf8");
  const body = sdl.replace(/^extend schema @link\([^\n]*\n/m, "");
  const entities = Object.keys(entityResolvers).join(" | ");
  const queryFields = "_entities(representations: [_Any!]!): [_Entity]!  _service: _Service!";
  const query = /^type Query\b/m.test(body) ? `extend type Query { ${queryFields} }` : `type Query { ${queryFields} }`;
  const schema = buildSchema(`${FEDERATION_PRELUDE}\n${body}\nunion _Entity = ${entities}\n${query}`);
  schema.getType("_Entity").resolveType = (value) => value.__typename;
  const rootValue = {
    ...rootResolvers,
    _service: () => ({ sdl }),
    _entities: ({ representations }) =>
      representations.map((rep) => {
        const resolve = entityResolvers[rep.__typename];
        if (!resolve) throw new Error(`${name} cannot resolve entities of type ${JSON.stringify(rep.__typename)}`);
        const found = resolve(rep);
        return found && { __typename: rep.__typename, ...found };
      }),
  };
  return { name, schema, rootValue };
}

const users = new Map(DATA.users.map((u) => [u.id, u]));
const products = new Map(DATA.products.map((p) => [p.upc, p]));
const stock = new Map(DATA.inventory.map((i) => [i.upc, i.inStock]));

// Review, User and Product as the reviews subgraph sees them; nested lists are resolved lazily
// so a selection like `product { reviews { author { reviews } } }` stays inside this subgraph.
const reviewsBy = (predicate) => () => DATA.reviews.filter(predicate).map(reviewOf);
const reviewUser = (id) => ({ id, username: users.get(id)?.username, reviews: reviewsBy((r) => r.authorId === id) });
const reviewProduct = (upc) => ({ upc, reviews: reviewsBy((r) => r.productUpc === upc) });
const reviewOf = (r) => ({ id: r.id, body: r.body, author: () => reviewUser(r.authorId), product: () => reviewProduct(r.productUpc) });

const accounts = subgraph(
  "accounts",
  { me: () => users.get("1"), user: ({ id }) => users.get(id), users: () => DATA.users },
  { User: (rep) => users.get(String(rep.id)) },
);
const inventory = subgraph("inventory", {}, {
  Product: (rep) => ({
    upc: rep.upc,
    inStock: stock.get(rep.upc),
    shippingEstimate: rep.price == null || rep.weight == null ? null : shippingEstimate(rep.price, rep.weight),
  }),
});
const productsSubgraph = subgraph(
  "products",
  { topProducts: ({ first }) => DATA.products.slice(0, first) },
  { Product: (rep) => products.get(rep.upc) },
);
const reviews = subgraph("reviews", {}, {
  Review: (rep) => {
    const r = DATA.reviews.find((x) => x.id === String(rep.id));
    return r && reviewOf(r);
  },
  User: (rep) => reviewUser(String(rep.id)),
  Product: (rep) => reviewProduct(rep.upc),
});

function serve(graph, port) {
  const memo = new Map();
  const server = createServer((req, res) => {
    if (req.method === "GET" && req.url === "/health") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok");
      return;
    }
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", async () => {
      const key = Buffer.concat(chunks).toString("utf8");
      let bytes = memo.get(key);
      if (bytes === undefined) {
        bytes = Buffer.from(JSON.stringify(await execute(graph, key)));
        if (memo.size >= MEMO_LIMIT) memo.clear();
        memo.set(key, bytes);
      }
      res.writeHead(200, { "content-type": "application/json", "content-length": bytes.length }).end(bytes);
    });
  });
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
}

async function execute(graph, text) {
  let request;
  try {
    request = JSON.parse(text);
  } catch {
    return { errors: [{ message: `${graph.name}: request body is not JSON` }] };
  }
  return graphql({
    schema: graph.schema,
    source: request.query,
    rootValue: graph.rootValue,
    variableValues: request.variables,
    operationName: request.operationName,
  });
}

const ports = process.argv.slice(2).map(Number);
if (ports.length !== 4 || ports.some((p) => !Number.isInteger(p) || p <= 0)) {
  console.error("usage: subgraphs.mjs ACCOUNTS_PORT INVENTORY_PORT PRODUCTS_PORT REVIEWS_PORT");
  process.exit(2);
}
await Promise.all([accounts, inventory, productsSubgraph, reviews].map((g, i) => serve(g, ports[i])));
console.log("ready");
