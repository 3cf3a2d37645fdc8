// The W1 data set: deterministic, shared by the four subgraphs and the reference schema.
//
// Sizes are tuned so the benchmark query's response is about 87 KB.
export const SIZES = { users: 6, products: 10, reviewsPerUser: 4 };

const WORDS = [
  "prompt", "sturdy", "arrived", "quality", "packaging", "would", "recommend", "again",
  "value", "excellent", "service", "delivery", "works", "expected", "colour", "size",
];

function sentence(seed, length) {
  const words = [];
  for (let i = 0; i < length; i += 1) words.push(WORDS[(seed * 7 + i * 3) % WORDS.length]);
  return words.join(" ");
}

function build() {
  const users = [];
  for (let i = 1; i <= SIZES.users; i += 1) {
    users.push({ id: String(i), name: `User Number ${i}`, username: `user${i}`, birthday: 1_000_000 + i * 86_400 });
  }
  const products = [];
  for (let i = 1; i <= SIZES.products; i += 1) {
    products.push({ upc: String(i), name: `Product ${i}`, price: 100 * i + 99, weight: 10 * i + 5 });
  }
  const inventory = products.map((p, i) => ({ upc: p.upc, inStock: i % 3 !== 2 }));
  const reviews = [];
  let next = 1;
  for (const user of users) {
    for (let k = 0; k < SIZES.reviewsPerUser; k += 1) {
      const product = products[(Number(user.id) * 5 + k * 2) % products.length];
      reviews.push({ id: String(next), body: sentence(next, 10), authorId: user.id, productUpc: product.upc });
      next += 1;
    }
  }
  return { users, products, inventory, reviews };
}

export const DATA = build();

/** Shipping is free above 1000 and otherwise half the weight: it needs price and weight (@requires). */
export function shippingEstimate(price, weight) {
  if (price > 1000) return 0;
  return Math.round(weight * 0.5);
}
