"""Data access for the provincial subgraph: one SQLite database per province (shard).

Conventions shared by every module here:

- ``provinceCode`` is the 6-digit GB/T 2260 provincial code ("440000"); every provincial
  entity key starts with it, and the gateway routes on it.
- Ids that must be routable by prefix start with a 6-digit division code of the province
  or one of its counties: application numbers are county code + ``yyyyMMdd`` + a 6-digit
  sequence ("44030120250105000123"); local item task codes and hall codes start with the
  province's code as well.
- Licence ids follow GB/T 36901 and the issuer's unified social credit code carries the
  division code in characters 3-8.
"""
