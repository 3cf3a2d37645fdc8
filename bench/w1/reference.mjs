// The expected answers, computed without federation: one schema over the same data.
//
//   node reference.mjs OPERATIONS.json OUT.json
//
// OPERATIONS.json is a list of {query, variables?, operationName?}; OUT.json receives the
// list of compact JSON response bodies as graphql-js serialises them.
import { readFileSync, writeFileSync } from "node:fs";
import { buildSchema, graphql } from "graphql";
import { DATA, shippingEstimate } from "./data.mjs";

const schema = buildSchema(`
  type Query { me: User  user(id: ID!): User  users: [User]  topProducts(first: Int = 5): [Product] }
  type User { id: ID!  name: String  username: String  birthday: Int  reviews: [Review] }
  type Product { upc: String!  name: String  price: Int  weight: Int  inStock: Boolean  shippingEstimate: Int  reviews: [Review] }
  type Review { id: ID!  body: String  author: User  product: Product }
`);

const users = new Map(DATA.users.map((u) => [u.id, u]));
const products = new Map(DATA.products.map((p) => [p.upc, p]));
const stock = new Map(DATA.inventory.map((i) => [i.upc, i.inStock]));

function wrapUser(u) {
  return u && { ...u, reviews: () => DATA.reviews.filter((r) => r.authorId === u.id).map(wrapReview) };
}
function wrapProduct(p) {
  return p && {
    ...p,
    inStock: stock.get(p.upc),
    shippingEstimate: shippingEstimate(p.price, p.weight),
    reviews: () => DATA.reviews.filter((r) => r.productUpc === p.upc).map(wrapReview),
  };
}
function wrapReview(r) {
  return { id: r.id, body: r.body, author: () => wrapUser(users.get(r.authorId)), product: () => wrapProduct(products.get(r.productUpc)) };
}

const root = {
  me: () => wrapUser(users.get("1")),
  user: ({ id }) => wrapUser(users.get(id)),
  users: () => DATA.users.map(wrapUser),
  topProducts: ({ first }) => DATA.products.slice(0, first).map(wrapProduct),
};

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error("usage: reference.mjs OPERATIONS.json OUT.json");
  process.exit(2);
}
const operations = JSON.parse(readFileSync(input, "utf8"));
const bodies = [];
for (const op of operations) {
  const result = await graphql({ schema, source: op.query, rootValue: root, variableValues: op.variables, operationName: op.operationName });
  bodies.push(JSON.stringify(result));
}
writeFileSync(output, JSON.stringify(bodies));
