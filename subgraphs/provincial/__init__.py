"""The provincial subgraph: one schema, served once per province (31 shards).

``provinceCode`` (the 6-digit GB/T 2260 code, e.g. "440000") starts every entity key, and
ids that must route by prefix (application numbers, local task codes, hall codes) start with
a division code of the province, so the gateway can send each fetch to the right shard.
"""
