"""Reproducible benchmarks of the govgraph gateway, side by side with peer gateways."""
