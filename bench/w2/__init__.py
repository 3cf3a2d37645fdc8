"""W2, the portal workload: govgraph over the national subgraph and 31 provincial shards."""
