"""Strict configuration: each bad file is refused with one message naming file, key and value."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from audit.live_stack import post_graphql, start_gateway

from gateway.config import ConfigError, GatewayConfig, load_config
from gateway.engine import Gateway
from tiny_gateway import SUPERGRAPH

PROJECT_DIR = Path(__file__).resolve().parents[1]
DEMO_SUPERGRAPH = PROJECT_DIR / "schema" / "supergraph.graphql"
SHARD = '[partitions.provincial.shards]\n"440000" = "http://127.0.0.1:4002/p/440000/graphql"\n'


def _refused(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> str:
    path = tmp_path / "govgraph.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_config(path, env=env or {})
    return str(refused.value)


def test_a_misspelt_gateway_key_is_refused_with_the_nearest_key(tmp_path: Path) -> None:
    message = _refused(tmp_path, "[gateway]\nrequest_deadlin_s = 2\n")
    assert str(tmp_path / "govgraph.toml") in message
    assert "unknown key gateway.request_deadlin_s = 2" in message
    assert "did you mean gateway.request_deadline_s?" in message


def test_a_misspelt_section_is_refused_with_the_nearest_section(tmp_path: Path) -> None:
    message = _refused(tmp_path, "[upstrem]\ntimeout_s = 1\n")
    assert "unknown key upstrem = a table; did you mean upstream?" in message


def test_a_misspelt_partition_key_is_refused(tmp_path: Path) -> None:
    message = _refused(tmp_path, f"[partitions.provincial]\nbreaker_failure = 3\n{SHARD}")
    assert "unknown key partitions.provincial.breaker_failure = 3" in message
    assert "did you mean partitions.provincial.breaker_failures?" in message


def test_a_misspelt_routing_key_is_refused(tmp_path: Path) -> None:
    text = f'{SHARD}[partitions.provincial.routing]\nkey_feild = "provinceCode"\n'
    message = _refused(tmp_path, text)
    assert "partitions.provincial.routing.key_feild" in message
    assert "partitions.provincial.routing.key_field?" in message


def test_every_unknown_key_is_listed_at_once(tmp_path: Path) -> None:
    message = _refused(tmp_path, "[gateway]\nprot = 1\nhots = 'x'\n")
    assert "gateway.prot" in message and "gateway.port?" in message
    assert "gateway.hots" in message and "gateway.host?" in message


@pytest.mark.parametrize("url", ["htp:/not a url", "http://", "127.0.0.1:4001/graphql",
                                 "http://host:99999/graphql", "http://a b/graphql"])
def test_a_malformed_subgraph_url_is_refused(tmp_path: Path, url: str) -> None:
    message = _refused(tmp_path, f'[subgraphs.national]\nurl = "{url}"\n')
    assert f"subgraphs.national.url must be an http(s) URL with a host" in message
    assert repr(url) in message


def test_a_malformed_shard_url_is_refused_with_its_key(tmp_path: Path) -> None:
    message = _refused(tmp_path, '[partitions.provincial.shards]\n"440000" = "ftp://x/graphql"\n')
    assert "partitions.provincial.shards.440000 must be an http(s) URL" in message
    assert "'ftp://x/graphql'" in message


def test_a_malformed_url_in_the_environment_names_the_variable(tmp_path: Path) -> None:
    path = tmp_path / "empty.toml"
    path.write_text("")
    with pytest.raises(ConfigError, match="GOVGRAPH_SUBGRAPH_NATIONAL_URL must be an http"):
        load_config(path, env={"GOVGRAPH_SUBGRAPH_NATIONAL_URL": "htp:/not a url"})


@pytest.mark.parametrize("value", [0, -3])
def test_breaker_failures_below_one_are_refused(tmp_path: Path, value: int) -> None:
    message = _refused(tmp_path, f"[partitions.provincial]\nbreaker_failures = {value}\n{SHARD}")
    assert f"partitions.provincial.breaker_failures must be at least 1, got {value}" in message


@pytest.mark.parametrize("key, value, expected", [
    ("gateway.port", "70000", "gateway.port must be between 0 and 65535, got 70000"),
    ("gateway.port", "-1", "gateway.port must be between 0 and 65535, got -1"),
    ("gateway.workers", "0", "gateway.workers must be at least 1, got 0"),
    ("gateway.request_deadline_s", "0", "gateway.request_deadline_s must be greater than zero"),
    ("upstream.timeout_s", "-1", "upstream.timeout_s must be greater than zero, got -1"),
    ("gateway.max_depth", "0", "gateway.max_depth must be a whole number greater than zero"),
    ("gateway.port", '"4000"', "gateway.port must be a whole number, got '4000'"),
])
def test_values_out_of_range_are_refused(
    tmp_path: Path, key: str, value: str, expected: str
) -> None:
    table, _, name = key.rpartition(".")
    assert expected in _refused(tmp_path, f"[{table}]\n{name} = {value}\n")


def test_a_partition_without_shards_says_so(tmp_path: Path) -> None:
    message = _refused(tmp_path, "[partitions.provincial]\nbreaker_failures = 3\n")
    assert "partitions.provincial lists no shards" in message
    assert "supergraph" not in message


def test_a_subgraph_table_naming_no_subgraph_of_the_supergraph_is_refused() -> None:
    config = GatewayConfig(subgraph_urls={"natoinal": "http://127.0.0.1:1/graphql"})
    with pytest.raises(ConfigError) as refused:
        Gateway(SUPERGRAPH.replace("URL", "http://127.0.0.1:1/graphql"), config)
    assert "[subgraphs.natoinal] names no subgraph of the supergraph" in str(refused.value)
    assert "did you mean [subgraphs.national]?" in str(refused.value)


def _check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gateway.cli", "check", *args], cwd=PROJECT_DIR,
                          capture_output=True, text=True, timeout=120, check=False)


def test_check_prints_the_effective_configuration_of_the_demo() -> None:
    result = _check("--config", "govgraph.toml", "--supergraph", str(DEMO_SUPERGRAPH))
    assert result.returncode == 0, result.stderr
    effective = json.loads(result.stdout)
    assert effective["request_deadline_s"] == 10.0
    assert len(effective["partitions"]["provincial"]["shards"]) == 31
    assert effective["subgraph_urls_in_effect"]["national"] == "http://127.0.0.1:4001/graphql"
    assert "are valid" in result.stderr


def test_check_names_file_key_and_value_and_serves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[subgraphs.natoinal]\nurl = "http://127.0.0.1:4001/graphql"\n')
    result = _check("--config", str(path), "--supergraph", str(DEMO_SUPERGRAPH))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip() == (
        f"govgraph check: {path}: [subgraphs.natoinal] names no subgraph of the supergraph "
        "(its subgraphs: national, provincial); did you mean [subgraphs.national]?"
    )


def test_a_malformed_composed_url_reaches_the_client_without_internal_names(
    tmp_path: Path,
) -> None:
    supergraph = tmp_path / "supergraph.graphql"
    supergraph.write_text(SUPERGRAPH.replace("URL", "htp:/not a url"))
    gateway = start_gateway("--supergraph", str(supergraph))
    try:
        reply = post_graphql(gateway.url, {"query": "{ provinces { code } }"})
    finally:
        gateway.process.stop()
    body = reply.json()
    assert body["errors"][0]["extensions"]["code"], body
    text = json.dumps(body)
    assert "NonHttpUrl" not in text and "ClientError" not in text and "InvalidURL" not in text
    assert "not a valid http(s) URL" in text
