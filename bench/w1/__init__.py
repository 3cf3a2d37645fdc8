"""W1, the industry workload: four subgraphs, one nested query with a ~87 KB answer."""
