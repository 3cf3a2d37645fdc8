"""Fixtures of the cache tests (a plugin: `pytest_plugins = ("cache_fixtures",)`): the tiny
subgraphs' supergraph, and the cache backend a test runs against."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from audit.live_stack import compose_supergraph, start_subgraphs
from redis_servers import SHARED_REDIS_URL, redis_cluster

BACKENDS = ["memory", "redis", "cluster"]


@pytest.fixture(scope="module")
def supergraph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    process, base = start_subgraphs()
    try:
        yield compose_supergraph(base, tmp_path_factory.mktemp("sg") / "supergraph.graphql")
    finally:
        process.stop()


@pytest.fixture(scope="module")
def cluster_url() -> Iterator[str]:
    with redis_cluster() as url:
        yield url


@pytest.fixture(params=BACKENDS)
def redis_url(request: pytest.FixtureRequest) -> str | None:
    """The cache backend a test runs against: None is memory."""
    if request.param == "memory":
        return None
    if request.param == "redis":
        return SHARED_REDIS_URL
    url: str = request.getfixturevalue("cluster_url")
    return url
