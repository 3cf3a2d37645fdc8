"""Gateway configuration: the TOML file, its routing tables, and environment overrides."""
from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import ConfigError, MergeRule, load_config

PROJECT_DIR = Path(__file__).resolve().parents[1]


def test_the_demo_configuration_declares_31_shards_and_the_routing_once() -> None:
    config = load_config(PROJECT_DIR / "govgraph.toml", env={})
    provincial = config.partitions["provincial"]
    assert len(provincial.shards) == 31 and "440000" in provincial.shards
    assert provincial.arguments["applicationNo"] == "prefix"
    assert provincial.entity_key_fields == {"Division": "code"}
    assert provincial.merge["Subject.applications"] == MergeRule("submittedAt", True, "first")
    assert "Subject.licences" in provincial.contributed


def test_environment_replaces_a_shard_map_or_points_it_at_one_server() -> None:
    env = {"GOVGRAPH_PARTITION_PROVINCIAL_SHARDS": "110000=http://a/1,440000=http://b/44"}
    config = load_config(PROJECT_DIR / "govgraph.toml", env=env)
    assert config.partitions["provincial"].shards == {"110000": "http://a/1", "440000": "http://b/44"}
    env = {"GOVGRAPH_PARTITION_PROVINCIAL_SHARD_URL_TEMPLATE": "http://127.0.0.1:9/p/{key}/graphql"}
    shards = load_config(PROJECT_DIR / "govgraph.toml", env=env).partitions["provincial"].shards
    assert len(shards) == 31 and shards["440000"] == "http://127.0.0.1:9/p/440000/graphql"


@pytest.mark.parametrize("env, message", [
    ({"GOVGRAPH_PARTITION_PROVINCIAL_SHARDS": "110000"}, "KEY=URL"),
    ({"GOVGRAPH_PARTITION_PROVINCIAL_SHARD_URL_TEMPLATE": "http://x/graphql"}, "{key}"),
    ({"GOVGRAPH_PARTITION_OTHER_SHARD_URL_TEMPLATE": "http://x/{key}"}, "partition keys"),
    ({"GOVGRAPH_REQUEST_DEADLINE_S": "soon"}, "number of seconds"),
])
def test_bad_environment_values_are_refused_with_their_name(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("{", r"\{").replace("}", r"\}")):
        load_config(PROJECT_DIR / "govgraph.toml", env=env)


def test_bad_routing_tables_are_refused_with_the_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[partitions.provincial.routing.arguments]\nprovinceCode = "sometimes"\n')
    with pytest.raises(ConfigError, match="provinceCode"):
        load_config(path, env={})
    path.write_text("[gateway\nport = 1\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path, env={})
