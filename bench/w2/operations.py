"""The portal's operations: what the central portal asks the federated graph most often."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PortalOperation:
    name: str
    reach: str
    query: str
    # `govgraph token` arguments of the caller who may run it (none: anonymous)
    caller: tuple[str, ...] = ()

    def as_request(self) -> dict[str, object]:
        return {"query": self.query, "operationName": self.name}


# applications are personal data: a national officer reads them with a stated purpose (each read
# audited in every shard it reaches)
NATIONAL_WITH_PURPOSE = ("--role", "national", "--purpose", "licence-verification")

OPERATIONS = (
    PortalOperation(
        "CatalogPage", "national subgraph only",
        "query CatalogPage { searchCatalog(first: 20) { catalogCode name itemType version } }",
    ),
    PortalOperation(
        "GuangdongHalls", "one provincial shard (routed on provinceCode), then the national subgraph",
        'query GuangdongHalls { serviceHalls(provinceCode: "440000") '
        "{ hallCode name address division { code nameZh } } }",
    ),
    PortalOperation(
        "LatestApplications", "all 31 provincial shards (no province named: scatter and merge)",
        "query LatestApplications { applications(first: 3) { provinceCode applicationNo status submittedAt } }",
        NATIONAL_WITH_PURPOSE,
    ),
    PortalOperation(
        "LatestApplicationsGuangdong", "one provincial shard: the same query routed on provinceCode",
        'query LatestApplicationsGuangdong { applications(provinceCode: "440000", first: 3) '
        "{ provinceCode applicationNo status submittedAt } }",
        NATIONAL_WITH_PURPOSE,
    ),
    PortalOperation(
        "ItemAcrossProvinces", "national catalogue, then every shard's implementations of each item",
        "query ItemAcrossProvinces { searchCatalog(first: 2) "
        "{ catalogCode name implementations { provinceCode taskCode name onlineDepth } } }",
    ),
)

# (scatter over every shard, the same query for one shard): the report gives their latency ratio
SCATTER_PAIRS = (("LatestApplications", "LatestApplicationsGuangdong"),)
