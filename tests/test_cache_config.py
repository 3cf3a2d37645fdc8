"""Configuration of caches, persisted queries, rate limits and cache hints: read from
govgraph.toml and the environment; bad values refused with the key named."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from gateway.config import CacheHint, ConfigError, load_config

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "govgraph.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_every_cache_setting_is_read(tmp_path: Path) -> None:
    query = "{ provinces { code } }"
    digest = hashlib.sha256(query.encode()).hexdigest()
    (tmp_path / "trusted.json").write_text(json.dumps({digest: query}), encoding="utf-8")
    config = load_config(write(tmp_path, """
[cache]
redis_url = "redis+cluster://10.0.0.1:7000,10.0.0.2:7000"
key_prefix = "gg:"
timeout_s = 0.02
retry_after_s = 2
warn_interval_s = 10
memory_entries = 500
plan_ttl_s = 3600
[persisted_queries]
apq = false
apq_ttl_s = 60
trusted_documents = "trusted.json"
trusted_clients = ["aggregator-one"]
trusted_only = true
trusted_documents_in_cache = true
[rate_limit]
window_s = 10
default = 100
[rate_limit.clients]
"key-7" = 5
[entity_cache]
enabled = true
max_entries = 50
[cache_control]
default_max_age = 5
[cache_control.types]
Division = { max_age = 600 }
[cache_control.fields]
"Query.me" = { scope = "private", max_age = 0 }
"""), env={})
    assert config.cache.redis_url == "redis+cluster://10.0.0.1:7000,10.0.0.2:7000"
    assert (config.cache.key_prefix, config.cache.timeout_s, config.cache.retry_after_s,
            config.cache.warn_interval_s, config.cache.memory_entries,
            config.cache.plan_ttl_s) == ("gg:", 0.02, 2, 10, 500, 3600)
    pq = config.persisted_queries
    assert (pq.apq, pq.apq_ttl_s, pq.trusted_clients, pq.trusted_only,
            pq.trusted_documents_in_cache) == (False, 60, ["aggregator-one"], True, True)
    assert pq.trusted_documents == {digest: query}
    assert (config.rate_limit.window_s, config.rate_limit.default,
            config.rate_limit.clients) == (10, 100, {"key-7": 5})
    assert (config.entity_cache.enabled, config.entity_cache.max_entries) == (True, 50)
    assert config.cache_control.default_max_age == 5
    assert config.cache_control.types == {"Division": CacheHint(600)}
    assert config.cache_control.fields == {"Query.me": CacheHint(0, "PRIVATE")}


def test_the_environment_switches_redis_on() -> None:
    config = load_config(None, env={"GOVGRAPH_REDIS_URL": "redis://127.0.0.1:6379/2"})
    assert config.cache.redis_url == "redis://127.0.0.1:6379/2"
    assert load_config(None, env={}).cache.redis_url is None


def test_the_demo_configuration_loads() -> None:
    config = load_config(ROOT / "govgraph.toml", env={})
    assert config.cache.redis_url is None
    assert config.cache_control.types


@pytest.mark.parametrize(("text", "named"), [
    ('[cache]\nredis_url = "http://127.0.0.1:6379"', "cache.redis_url"),
    ('[cache]\ntimeout_s = 0', "cache.timeout_s"),
    ('[cache]\nmemory_entries = -1', "cache.memory_entries"),
    ('[persisted_queries]\ntrusted_documents = "missing.json"', "missing.json"),
    ('[persisted_queries]\ntrusted_clients = "one"', "persisted_queries.trusted_clients"),
    ('[rate_limit]\ndefault = -3', "rate_limit.default"),
    ('[entity_cache]\nenabled = "yes"', "entity_cache.enabled"),
    ('[rate_limit.clients]\nk = "many"', "rate_limit.clients.k"),
    ('[cache_control.types]\nDivision = { scope = "everyone" }', "cache_control.types.Division"),
    ('[cache_control.fields]\nDivision = { max_age = 1 }', '"Type.field"'),
])
def test_bad_values_are_refused_naming_the_key(tmp_path: Path, text: str, named: str) -> None:
    with pytest.raises(ConfigError, match=named.replace(".", "\\.")):
        load_config(write(tmp_path, text), env={})


def test_a_trusted_documents_file_whose_hash_is_not_its_texts_is_refused(tmp_path: Path) -> None:
    (tmp_path / "trusted.json").write_text(json.dumps({"ab" * 32: "{ provinces { code } }"}),
                                           encoding="utf-8")
    with pytest.raises(ConfigError, match="not the sha256 of its operation text"):
        load_config(write(tmp_path, '[persisted_queries]\ntrusted_documents = "trusted.json"'),
                    env={})
