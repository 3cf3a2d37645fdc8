"""Gateway configuration: one TOML file, overridable by environment variables.

The file is optional; every setting has an embedded default so `govgraph gateway`
runs with nothing but a supergraph.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from gateway.config_reader import (
    ConfigError,
    Section,
    http_url,
    refuse_unknown,
    seconds,
    whole_number,
)

__all__ = ["ConfigError", "GatewayConfig", "MergeRule", "PartitionConfig", "load_config"]

_T = TypeVar("_T")

# The headers Apollo clients already send, plus a vendor-neutral one.
CSRF_REQUIRED_HEADERS = (
    "x-apollo-operation-name",
    "apollo-require-preflight",
    "graphql-require-preflight",
)


LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
LOG_FORMATS = ("auto", "json", "text")


@dataclass(frozen=True, slots=True)
class MergeRule:
    """How the lists that several shards return for one field become one list."""

    sort: str | None = None  # sub-field to sort the merged list by
    descending: bool = False
    limit_argument: str | None = None  # argument of the field that caps the merged length


@dataclass(frozen=True, slots=True)
class UpstreamPolicy:
    """How much of one subgraph the gateway may use at once, and when it stops trying:
    connections open (all shards of a partitioned subgraph together), fetches in flight,
    fetches waiting for a slot and for how long, and its circuit breaker."""

    max_connections: int = 128
    max_concurrency: int = 128
    max_queue: int = 1024
    queue_timeout_s: float = 1.0
    breaker_failures: int = 5
    breaker_reset_s: float = 10.0


# the keys of UpstreamPolicy that [upstream] and [subgraphs.<name>] may set
_POLICY_COUNTS = ("max_connections", "max_concurrency", "breaker_failures")
_POLICY_SECONDS = ("queue_timeout_s", "breaker_reset_s")


def default_max_requests_in_flight() -> int:
    """Requests one worker serves at once before it sheds load: most of a request's time is
    spent waiting for subgraphs, so a core can keep many in flight."""
    return 128 * (os.cpu_count() or 1)


@dataclass(slots=True)
class PartitionConfig:
    """A subgraph of the supergraph that is served by many shards with one schema.

    Routing is declared here, once: which arguments name a partition (`arguments`:
    argument path -> "key" when the value is a partition key, "prefix" when the value
    starts with one), which entity key field carries it (`key_field`, per type in
    `entity_key_fields`), how a short prefix becomes a key (`prefix_length`,
    `key_suffix`), and how lists from several shards merge (`merge`).
    """

    subgraph: str
    # partition key (e.g. "eu-west") -> shard URL
    shards: dict[str, str] = field(default_factory=dict)
    shard_timeout_s: float | None = None
    # fetches in flight to one shard (the subgraph's own limits bound all shards together)
    shard_max_concurrency: int = 16
    breaker_failures: int = 5
    breaker_reset_s: float = 10.0
    key_field: str | None = None
    entity_key_fields: dict[str, str] = field(default_factory=dict)
    arguments: dict[str, str] = field(default_factory=dict)
    prefix_length: int = 0
    key_suffix: str = ""
    merge: dict[str, MergeRule] = field(default_factory=dict)
    # "Type.field" that every shard contributes: always fetched from all shards, even when
    # the planner is already inside one shard
    contributed: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ApiKeyConfig:
    """One API key, stored as its SHA-256 digest (never the key itself)."""

    sha256: str
    kind: str = "aggregator"  # the caller kind (and scope) the key stands for
    scopes: list[str] = field(default_factory=list)
    trusted_documents_only: bool = False


@dataclass(slots=True)
class PolicyConfig:
    """When a caller meets a `@policy` name: all that is set here must hold."""

    kinds: list[str] = field(default_factory=list)  # any of these caller kinds
    scopes: list[str] = field(default_factory=list)  # all of these scopes
    purpose: bool = False  # the caller stated a purpose from the allow-list


@dataclass(slots=True)
class AuthConfig:
    """Authentication of clients and the claims the gateway signs for its subgraphs."""

    jwt_header: str = "authorization"
    jwt_key_file: str | None = None  # PEM public key, JWK, or HMAC secret (HS256)
    jwks_file: str | None = None
    jwks_url: str | None = None
    jwks_cache_s: float = 300.0
    jwks_refresh_cooldown_s: float = 30.0
    algorithms: list[str] = field(default_factory=lambda: ["RS256", "ES256"])
    issuer: str | None = None
    audience: str | None = None
    leeway_s: float = 30.0
    role_claim: str = "role"
    partition_claim: str = "partition"
    # the roles a token may carry (empty: any role name)
    roles: list[str] = field(default_factory=list)
    # stated purposes that may reach shared data
    purposes: list[str] = field(default_factory=list)
    api_key_header: str = "x-api-key"
    api_keys: dict[str, ApiKeyConfig] = field(default_factory=dict)
    policies: dict[str, PolicyConfig] = field(default_factory=dict)
    # HMAC secret the claims sent to subgraphs are signed with
    internal_key_file: str | None = None
    internal_token_ttl_s: float = 60.0


@dataclass(slots=True)
class CorsConfig:
    """Browser front-ends on other origins that may call the gateway (none by default)."""

    allow_origins: list[str] = field(default_factory=list)  # "*" for any
    allow_headers: list[str] = field(
        default_factory=lambda: [
            "content-type",
            "accept",
            "authorization",
            "x-api-key",
            "x-request-id",
            "apollographql-client-name",
            "apollographql-client-version",
            "apollo-require-preflight",
            "govgraph-query-plan",
            "traceparent",
        ]
    )
    expose_headers: list[str] = field(default_factory=lambda: ["x-request-id", "retry-after"])
    allow_credentials: bool = False
    max_age_s: float = 600.0


PROFILES = ("production", "development")


@dataclass(slots=True)
class CacheConfig:
    """`[cache]`: where shared state lives. Without `redis_url` every cache is in memory."""

    redis_url: str | None = None  # redis://…, rediss://…, or redis+cluster://host:port,…
    key_prefix: str = "govgraph:"
    # a cache call never holds a request longer than this
    timeout_s: float = 0.05
    # after a failure Redis is skipped this long, then tried again
    retry_after_s: float = 1.0
    # at most one warning about a failing Redis per this many seconds
    warn_interval_s: float = 30.0
    # entries of the in-memory cache (used when there is no Redis)
    memory_entries: int = 10_000
    # how long validated documents and plans stay in Redis for other replicas
    plan_ttl_s: float = 86_400.0


@dataclass(slots=True)
class PersistedQueriesConfig:
    """`[persisted_queries]`: automatic persisted queries (APQ) and trusted documents."""

    apq: bool = True
    # how long a registered APQ document is kept
    apq_ttl_s: float = 86_400.0
    # sha256 hex -> operation text, read from the `trusted_documents` file
    trusted_documents: dict[str, str] = field(default_factory=dict)
    # also look hashes up in the cache under "trusted:<sha256>" (a list kept in Redis)
    trusted_documents_in_cache: bool = False
    # clients (by `apollographql-client-name`) that may only run trusted documents
    trusted_clients: list[str] = field(default_factory=list)
    # every client may only run trusted documents
    trusted_only: bool = False


@dataclass(slots=True)
class RateLimitConfig:
    """`[rate_limit]`: requests per client per sliding window; 0 means unlimited."""

    window_s: float = 60.0
    default: int = 0
    # API key id (a caller's client_id) -> its own limit
    clients: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class EntityCacheConfig:
    """`[entity_cache]`: keep entity fetches' answers as long as their cache hints allow."""

    enabled: bool = False
    # entities kept in this process's memory (Redis, when configured, holds them for all)
    max_entries: int = 10_000


@dataclass(frozen=True, slots=True)
class CacheHint:
    """`@cacheControl` of a type or field: seconds a response with it may be cached, and
    whether it is for one caller only (scope "PRIVATE") or anyone ("PUBLIC")."""

    max_age: int | None = None
    scope: str | None = None
    inherit_max_age: bool = False


@dataclass(slots=True)
class CacheControlConfig:
    """`[cache_control]`: hints per type and per "Type.field"; they win over the supergraph's."""

    default_max_age: int = 0
    types: dict[str, CacheHint] = field(default_factory=dict)
    fields: dict[str, CacheHint] = field(default_factory=dict)


@dataclass(slots=True)
class GatewayConfig:
    """Every setting of the gateway, with the defaults it runs with when none is given."""

    host: str = "127.0.0.1"
    port: int = 4000
    supergraph: str | None = None
    # a supergraph URL is asked again this often (with If-None-Match); a file is watched
    supergraph_poll_s: float = 10.0
    workers: int = 1
    # join__graph name (lower-cased enum value, e.g. "products") -> URL overriding the composed one
    subgraph_urls: dict[str, str] = field(default_factory=dict)
    subgraph_timeout_s: float = 10.0
    subgraph_timeouts: dict[str, float] = field(default_factory=dict)
    request_deadline_s: float = 30.0
    propagate_headers: list[str] = field(default_factory=list)
    max_body_bytes: int = 1_048_576
    # "production" (the default): introspection and the query-plan header off unless the
    # configuration turns them on; "development": both on unless turned off
    profile: str = "production"
    expose_query_plan: bool = False
    introspection: bool = False
    # the browser IDE (GraphiQL) at GET /graphql for a browser; on in development
    ide: bool = False
    cors: CorsConfig = field(default_factory=CorsConfig)
    plan_cache_size: int = 1024
    # Refused before validation and planning: lexical tokens of the document (parsing stops
    # there), selections once fragments are expanded (fields, inline fragments and spreads,
    # each alias counted), and nesting of fields.
    max_tokens: int = 15_000
    max_expanded_selections: int = 10_000
    max_depth: int = 100
    # field placements one plan may take (trial placements among shared fields included)
    max_planning_effort: int = 200_000
    # Refused before planning: response keys given by an alias, fields at the root,
    # demand-control cost (`@cost`/`@listSize`, else `default_list_size` per list), and
    # subgraph fetches the plan may cause (every shard of a scatter counted).
    max_aliases: int = 30
    max_root_fields: int = 20
    max_cost: int = 20_000
    default_list_size: int = 10
    max_fetches: int = 200
    # "enforce" refuses what exceeds a limit; "measure" serves it and logs what would have
    # been refused
    limits_mode: str = "enforce"
    # subgraph error messages reach clients as a generic message (code and path kept)
    mask_subgraph_errors: bool = False
    auth: AuthConfig = field(default_factory=AuthConfig)
    # identical in-flight subgraph queries share one request (always safe: each caller
    # decodes its own copy)
    deduplicate_subgraph_requests: bool = True
    # identical in-flight client queries (same document, variables, operation name and
    # forwarded headers) share one execution
    deduplicate_requests: bool = False
    # the HTTP client for subgraph calls: "httptools" (a lean keep-alive client) or "aiohttp"
    upstream_client: str = "httptools"
    partitions: dict[str, PartitionConfig] = field(default_factory=dict)
    # Refuse requests a browser could send cross-site without a CORS preflight
    # (GET, or a "simple" content type) unless they carry one of these headers.
    csrf_prevention: bool = True
    csrf_required_headers: list[str] = field(default_factory=lambda: list(CSRF_REQUIRED_HEADERS))
    # custom progressive @override labels that are on ("percent(N)" labels need nothing here:
    # they are on for N% of requests)
    override_labels: list[str] = field(default_factory=list)
    # requests in flight in one worker; past it a request is answered 503 before any work
    max_requests_in_flight: int = field(default_factory=default_max_requests_in_flight)
    # admitted requests that run their plans at once in one worker, the rest waiting their
    # turn: "auto" (follows the worker's CPU load, gateway/pacing.py), a number, or 0 (all)
    execution_limit: int | str = "auto"
    # [upstream] limits and breaker, and the keys of them that [subgraphs.<name>] overrides
    upstream_policy: UpstreamPolicy = field(default_factory=UpstreamPolicy)
    subgraph_policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    cache: CacheConfig = field(default_factory=CacheConfig)
    persisted_queries: PersistedQueriesConfig = field(default_factory=PersistedQueriesConfig)
    rate_limit: RateLimitConfig = field(default_factory=RateLimitConfig)
    cache_control: CacheControlConfig = field(default_factory=CacheControlConfig)
    entity_cache: EntityCacheConfig = field(default_factory=EntityCacheConfig)
    # [logging]: level, "json" / "text" / "auto" (text on a terminal, JSON lines elsewhere),
    # one line per request, and a warning for each request slower than slow_request_ms (0: off)
    log_level: str = "info"
    log_format: str = "auto"
    access_log: bool = False
    slow_request_ms: float = 1000.0
    # [readiness]: subgraphs that must answer for /ready to say 200 (None: every subgraph), how
    # many shards of a partitioned one must, how recent an answer counts, and a probe's timeout
    readiness_required: list[str] | None = None
    readiness_min_shards: int = 1
    readiness_recent_s: float = 10.0
    readiness_probe_timeout_s: float = 1.0
    # [status]: /status and /status.json cover the last window_s seconds; in the production
    # profile only a caller of one of these roles (token role or API key kind) may see them
    status_roles: list[str] = field(default_factory=lambda: ["operator"])
    status_window_s: float = 300.0

    def timeout_for(self, subgraph: str) -> float:
        """A subgraph's own timeout when `[subgraphs.<name>]` sets one, else the upstream one."""
        return self.subgraph_timeouts.get(subgraph, self.subgraph_timeout_s)

    def policy_for(self, subgraph: str) -> UpstreamPolicy:
        """A subgraph's limits and breaker: `[upstream]`, with its `[subgraphs.<name>]` keys."""
        overrides = self.subgraph_policies.get(subgraph)
        return replace(self.upstream_policy, **overrides) if overrides else self.upstream_policy


def load_config(
    path: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    profile: str | None = None,
) -> GatewayConfig:
    """Read `govgraph.toml` (if given) and apply `GOVGRAPH_*` environment overrides.

    The profile (`profile`, else `GOVGRAPH_PROFILE`, else `gateway.profile`) decides the
    defaults of what the file does not set."""
    env = os.environ if env is None else env
    raw: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"configuration file {str(p)!r} does not exist")
        try:
            raw = tomllib.loads(p.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"configuration file {str(p)!r} is not valid TOML: {exc}") from None
        except OSError as exc:
            raise ConfigError(f"configuration file {str(p)!r} cannot be read: {exc}") from None
    profile = profile or env.get("GOVGRAPH_PROFILE")
    if profile:
        raw = {**raw, "gateway": {**dict(raw.get("gateway", {})), "profile": profile}}
    section = Section(raw)
    try:
        cfg = _from_mapping(section)
        _read_shared_state(cfg, section, Path(path).parent if path is not None else Path.cwd())
        refuse_unknown(section)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}" if path is not None else str(exc)) from None
    if path is not None:
        _resolve_files(cfg, Path(path).parent)
    _apply_env(cfg, env)
    for name, partition in cfg.partitions.items():
        if not partition.shards:
            where = f"{path}: " if path is not None else ""
            raise ConfigError(
                f"{where}partitions.{name} lists no shards: map each partition key to its URL "
                f"in [partitions.{name}.shards], or set GOVGRAPH_PARTITION_{name.upper()}_SHARDS"
            )
    return cfg


def _resolve_files(cfg: GatewayConfig, directory: Path) -> None:
    """A relative file name in the configuration file means relative to that file."""
    auth = cfg.auth
    for name in ("jwt_key_file", "jwks_file", "internal_key_file"):
        value = getattr(auth, name)
        if value and not Path(value).is_absolute():
            setattr(auth, name, str(directory / value))


def _from_mapping(raw: Section) -> GatewayConfig:
    cfg = GatewayConfig()
    gw = raw.table("gateway")
    if "profile" in gw:
        profile = gw["profile"]
        if profile not in PROFILES:
            raise ConfigError(
                f"gateway.profile must be one of {', '.join(PROFILES)}, got {profile!r}"
            )
        cfg.profile = profile
    if cfg.profile == "development":
        cfg.introspection = cfg.expose_query_plan = cfg.ide = True
    for name in ("host", "supergraph"):
        if name in gw:
            setattr(cfg, name, _typed(gw.name(name), gw[name], str))
    if "port" in gw:
        cfg.port = whole_number("gateway.port", gw["port"], 0, 65535)
    if "workers" in gw:
        cfg.workers = whole_number("gateway.workers", gw["workers"], 1)
    if "plan_cache_size" in gw:
        cfg.plan_cache_size = whole_number("gateway.plan_cache_size", gw["plan_cache_size"], 0)
    for name in (
        "max_body_bytes",
        "max_tokens",
        "max_expanded_selections",
        "max_depth",
        "max_planning_effort",
        "max_requests_in_flight",
        "max_aliases",
        "max_root_fields",
        "max_cost",
        "default_list_size",
        "max_fetches",
    ):
        if name in gw:
            setattr(cfg, name, _positive(f"gateway.{name}", gw[name]))
    if "execution_limit" in gw:
        cfg.execution_limit = _execution_limit("gateway.execution_limit", gw["execution_limit"])
    if "limits_mode" in gw:
        if gw["limits_mode"] not in ("enforce", "measure"):
            raise ConfigError(
                f'gateway.limits_mode must be "enforce" or "measure", got {gw["limits_mode"]!r}'
            )
        cfg.limits_mode = gw["limits_mode"]
    for name in (
        "expose_query_plan",
        "introspection",
        "csrf_prevention",
        "deduplicate_requests",
        "mask_subgraph_errors",
        "ide",
    ):
        if name in gw:
            setattr(cfg, name, _typed(f"gateway.{name}", gw[name], bool))
    if "request_deadline_s" in gw:
        cfg.request_deadline_s = seconds("gateway.request_deadline_s", gw["request_deadline_s"])
    if "supergraph_poll_s" in gw:
        cfg.supergraph_poll_s = seconds("gateway.supergraph_poll_s", gw["supergraph_poll_s"])
    if "propagate_headers" in gw:
        cfg.propagate_headers = [
            h.lower() for h in _strings("gateway.propagate_headers", gw["propagate_headers"])
        ]
    if "override_labels" in gw:
        cfg.override_labels = _strings("gateway.override_labels", gw["override_labels"])
    if "csrf_required_headers" in gw:
        cfg.csrf_required_headers = [
            h.lower()
            for h in _strings("gateway.csrf_required_headers", gw["csrf_required_headers"])
        ]

    cfg.auth = _read_auth(raw.get("auth", {}))
    cfg.cors = _read_cors(raw.get("cors", {}))
    _read_logging(cfg, raw.table("logging"))
    _read_readiness(cfg, raw.table("readiness"))
    status = raw.table("status")
    if "roles" in status:
        cfg.status_roles = _strings("status.roles", status["roles"])
    if "window_s" in status:
        cfg.status_window_s = _seconds("status.window_s", status["window_s"])

    subgraphs = raw.table("subgraphs")
    for name in subgraphs:
        sub = subgraphs.table(name)
        if "url" in sub:
            cfg.subgraph_urls[name] = http_url(sub.name("url"), sub["url"])
        if "timeout_s" in sub:
            cfg.subgraph_timeouts[name] = seconds(sub.name("timeout_s"), sub["timeout_s"])
        policy = _policy_keys(sub, f"subgraphs.{name}")
        if policy:
            cfg.subgraph_policies[name] = policy
    upstream = raw.table("upstream")
    cfg.upstream_policy = replace(cfg.upstream_policy, **_policy_keys(upstream, "upstream"))
    if "timeout_s" in upstream:
        cfg.subgraph_timeout_s = seconds("upstream.timeout_s", upstream["timeout_s"])
    if "deduplicate" in upstream:
        cfg.deduplicate_subgraph_requests = _typed(
            "upstream.deduplicate", upstream["deduplicate"], bool
        )
    if "client" in upstream:
        client = upstream["client"]
        if client not in ("httptools", "aiohttp"):
            raise ConfigError(f'upstream.client must be "httptools" or "aiohttp", got {client!r}')
        cfg.upstream_client = client

    partitions = raw.table("partitions")
    for name in partitions:
        part = partitions.table(name)
        shards = part.table("shards")
        pc = PartitionConfig(
            subgraph=name, shards={str(k): http_url(shards.name(k), v) for k, v in shards.items()}
        )
        if "shard_timeout_s" in part:
            pc.shard_timeout_s = seconds(part.name("shard_timeout_s"), part["shard_timeout_s"])
        if "breaker_failures" in part:
            pc.breaker_failures = whole_number(
                part.name("breaker_failures"), part["breaker_failures"], 1
            )
        if "shard_max_concurrency" in part:
            pc.shard_max_concurrency = _positive(
                f"partitions.{name}.shard_max_concurrency", part["shard_max_concurrency"]
            )
        if "breaker_reset_s" in part:
            pc.breaker_reset_s = seconds(part.name("breaker_reset_s"), part["breaker_reset_s"])
        # routing keys may also sit directly in [partitions.<name>]
        routing = part.table("routing")
        for source in (part, routing):
            _read_partition_routing(pc, source)
        cfg.partitions[name] = pc
    return cfg


def _policy_keys(table: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The UpstreamPolicy keys a table sets, checked."""
    keys: dict[str, Any] = {}
    for name in _POLICY_COUNTS:
        if name in table:
            keys[name] = _positive(f"{where}.{name}", table[name])
    if "max_queue" in table:  # 0: a fetch without a free slot fails at once
        value = table["max_queue"]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(
                f"{where}.max_queue must be a whole number of at least 0, got {value!r}"
            )
        keys["max_queue"] = value
    for name in _POLICY_SECONDS:
        if name in table:
            keys[name] = _seconds(f"{where}.{name}", table[name])
    return keys


def _read_logging(cfg: GatewayConfig, section: Mapping[str, Any]) -> None:
    if "level" in section:
        cfg.log_level = _choice("logging.level", section["level"], LOG_LEVELS)
    if "format" in section:
        cfg.log_format = _choice("logging.format", section["format"], LOG_FORMATS)
    if "access_log" in section:
        cfg.access_log = _typed("logging.access_log", section["access_log"], bool)
    if "slow_request_ms" in section:
        value = section["slow_request_ms"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ConfigError(
                f"logging.slow_request_ms must be a number of milliseconds (0 turns the "
                f"warning off), got {value!r}"
            )
        cfg.slow_request_ms = float(value)


def _read_readiness(cfg: GatewayConfig, section: Mapping[str, Any]) -> None:
    if "required" in section:
        required = section["required"]
        if not isinstance(required, list) or not all(isinstance(n, str) for n in required):
            raise ConfigError(
                f"readiness.required must be a list of subgraph names, got {required!r}"
            )
        cfg.readiness_required = list(required)
    if "min_shards" in section:
        cfg.readiness_min_shards = _positive("readiness.min_shards", section["min_shards"])
    if "recent_s" in section:
        cfg.readiness_recent_s = _seconds("readiness.recent_s", section["recent_s"])
    if "probe_timeout_s" in section:
        cfg.readiness_probe_timeout_s = _seconds(
            "readiness.probe_timeout_s", section["probe_timeout_s"]
        )


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value.lower() not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value.lower()


def _read_auth(raw: Any) -> AuthConfig:
    if not isinstance(raw, Mapping):
        raise ConfigError("[auth] must be a table")
    auth = AuthConfig()
    for name in (
        "jwt_header",
        "jwt_key_file",
        "jwks_file",
        "jwks_url",
        "issuer",
        "audience",
        "role_claim",
        "partition_claim",
        "api_key_header",
        "internal_key_file",
    ):
        if name in raw:
            value = _typed(f"auth.{name}", raw[name], str)
            setattr(auth, name, value.lower() if name.endswith("_header") else value)
    for name in ("jwks_cache_s", "jwks_refresh_cooldown_s", "internal_token_ttl_s"):
        if name in raw:
            setattr(auth, name, _seconds(f"auth.{name}", raw[name]))
    if "leeway_s" in raw:
        leeway = raw["leeway_s"]
        if isinstance(leeway, bool) or not isinstance(leeway, int | float) or leeway < 0:
            raise ConfigError(f"auth.leeway_s must be a number of seconds >= 0, got {leeway!r}")
        auth.leeway_s = float(leeway)
    for name in ("algorithms", "roles", "purposes"):
        if name in raw:
            setattr(auth, name, _strings(f"auth.{name}", raw[name]))
    unknown = sorted(set(auth.algorithms) - {"HS256", "RS256", "ES256"})
    if unknown:
        raise ConfigError(
            f"auth.algorithms: {', '.join(unknown)} not supported (HS256, RS256, ES256)"
        )
    for key_id, key in dict(raw.get("api_keys", {})).items():
        where = f"auth.api_keys.{key_id}"
        if not isinstance(key, Mapping):
            raise ConfigError(f"[{where}] must be a table")
        digest = _typed(f"{where}.sha256", key.get("sha256"), str)
        if len(digest) != 64 or any(c not in "0123456789abcdefABCDEF" for c in digest):
            raise ConfigError(f"{where}.sha256 must be the 64 hex digits of the key's SHA-256")
        api_key = ApiKeyConfig(sha256=digest.lower())
        if "kind" in key:
            api_key.kind = _typed(f"{where}.kind", key["kind"], str)
        if "scopes" in key:
            api_key.scopes = _strings(f"{where}.scopes", key["scopes"])
        if "trusted_documents_only" in key:
            api_key.trusted_documents_only = _typed(
                f"{where}.trusted_documents_only", key["trusted_documents_only"], bool
            )
        auth.api_keys[key_id] = api_key
    for policy_name, rule in dict(raw.get("policies", {})).items():
        where = f"auth.policies.{policy_name}"
        if not isinstance(rule, Mapping):
            raise ConfigError(f"[{where}] must be a table")
        policy = PolicyConfig()
        if "kinds" in rule:
            policy.kinds = _strings(f"{where}.kinds", rule["kinds"])
        if "scopes" in rule:
            policy.scopes = _strings(f"{where}.scopes", rule["scopes"])
        if "purpose" in rule:
            policy.purpose = _typed(f"{where}.purpose", rule["purpose"], bool)
        auth.policies[policy_name] = policy
    return auth


def _read_cors(raw: Any) -> CorsConfig:
    if not isinstance(raw, Mapping):
        raise ConfigError("[cors] must be a table")
    cors = CorsConfig()
    for name in ("allow_origins", "allow_headers", "expose_headers"):
        if name in raw:
            setattr(cors, name, _strings(f"cors.{name}", raw[name]))
    for origin in cors.allow_origins:
        if origin != "*" and not origin.startswith(("http://", "https://")):
            raise ConfigError(
                f'cors.allow_origins: {origin!r} is not an origin (e.g. "https://portal.example")'
            )
    if "allow_credentials" in raw:
        cors.allow_credentials = _typed("cors.allow_credentials", raw["allow_credentials"], bool)
    if "max_age_s" in raw:
        cors.max_age_s = _seconds("cors.max_age_s", raw["max_age_s"])
    cors.allow_headers = [h.lower() for h in cors.allow_headers]
    return cors


def _strings(name: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{name} must be a list of non-empty strings, got {value!r}")
    return list(value)


def _read_partition_routing(pc: PartitionConfig, part: Section) -> None:
    template = part.get("shard_url_template")
    if template is not None:
        keys = part.get("keys")
        where = part.name("shard_url_template")
        if not isinstance(template, str) or "{key}" not in template:
            raise ConfigError(f"{where} must be a string containing {{key}}, got {template!r}")
        http_url(where, template.replace("{key}", "0"))
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise ConfigError(
                f"{part.name('keys')} must list the partition keys the template serves, "
                f"got {keys!r}"
            )
        for key in keys:
            pc.shards.setdefault(key, template.replace("{key}", key))
    if "key_field" in part:
        pc.key_field = _typed(part.name("key_field"), part["key_field"], str)
    fields = part.table("entity_key_fields")
    for type_name, fname in fields.items():
        pc.entity_key_fields[type_name] = _typed(fields.name(type_name), fname, str)
    arguments = part.table("arguments")
    for arg, kind in arguments.items():
        if kind not in ("key", "prefix"):
            raise ConfigError(f'{arguments.name(arg)} must be "key" or "prefix", got {kind!r}')
        pc.arguments[arg] = kind
    if "prefix_length" in part:
        pc.prefix_length = whole_number(part.name("prefix_length"), part["prefix_length"], 0)
    if "key_suffix" in part:
        pc.key_suffix = _typed(part.name("key_suffix"), part["key_suffix"], str)
    if "contributed" in part:
        contributed = part["contributed"]
        if not isinstance(contributed, list) or not all(
            isinstance(c, str) and "." in c for c in contributed
        ):
            raise ConfigError(
                f'{part.name("contributed")} must list "Type.field" coordinates, '
                f"got {contributed!r}"
            )
        pc.contributed.extend(contributed)
    merge = part.table("merge")
    for coordinate in merge:
        rule = merge.table(coordinate) if isinstance(merge[coordinate], Section) else None
        where = merge.name(f'"{coordinate}"')
        if "." not in coordinate or rule is None:
            raise ConfigError(f'{where} must be a "Type.field" table, got {merge[coordinate]!r}')
        order = rule.get("order", "asc")
        if order not in ("asc", "desc"):
            raise ConfigError(f'{where}.order must be "asc" or "desc", got {order!r}')
        sort = rule.get("sort")
        limit = rule.get("limit")
        pc.merge[coordinate] = MergeRule(
            sort=None if sort is None else _typed(f"{where}.sort", sort, str),
            descending=order == "desc",
            limit_argument=None if limit is None else _typed(f"{where}.limit", limit, str),
        )


def _apply_env(cfg: GatewayConfig, env: Mapping[str, str]) -> None:
    """`GOVGRAPH_SUBGRAPH_<NAME>_URL` overrides one subgraph URL; a few scalars by name."""
    for key, value in env.items():
        if key.startswith("GOVGRAPH_SUBGRAPH_") and key.endswith("_URL"):
            name = key[len("GOVGRAPH_SUBGRAPH_") : -len("_URL")].lower()
            if name:
                cfg.subgraph_urls[name] = http_url(key, value)
    for key, value in env.items():
        # GOVGRAPH_PARTITION_<NAME>_SHARDS="k1=http://…,k2=http://…" replaces a shard map;
        # GOVGRAPH_PARTITION_<NAME>_SHARD_URL_TEMPLATE="http://host:port/shards/{key}/graphql"
        # points every listed partition key at one server
        if not key.startswith("GOVGRAPH_PARTITION_"):
            continue
        rest = key[len("GOVGRAPH_PARTITION_") :]
        for suffix in ("_SHARDS", "_SHARD_URL_TEMPLATE"):
            if rest.endswith(suffix) and rest[: -len(suffix)]:
                name = rest[: -len(suffix)].lower()
                partition = cfg.partitions.setdefault(name, PartitionConfig(subgraph=name))
                if suffix == "_SHARDS":
                    partition.shards = _shard_list(key, value)
                else:
                    if "{key}" not in value:
                        raise ConfigError(f"{key} must contain {{key}}, got {value!r}")
                    if not partition.shards:
                        raise ConfigError(
                            f"{key} needs the partition keys: list them in "
                            f"[partitions.{name}] shards or GOVGRAPH_PARTITION_"
                            f"{name.upper()}_SHARDS"
                        )
                    http_url(key, value.replace("{key}", "0"))
                    partition.shards = {k: value.replace("{key}", k) for k in partition.shards}
                break
    if "GOVGRAPH_SUBGRAPH_TIMEOUT_S" in env:
        cfg.subgraph_timeout_s = _seconds(
            "GOVGRAPH_SUBGRAPH_TIMEOUT_S", env["GOVGRAPH_SUBGRAPH_TIMEOUT_S"]
        )
    if "GOVGRAPH_REQUEST_DEADLINE_S" in env:
        cfg.request_deadline_s = _seconds(
            "GOVGRAPH_REQUEST_DEADLINE_S", env["GOVGRAPH_REQUEST_DEADLINE_S"]
        )
    if "GOVGRAPH_MAX_REQUESTS_IN_FLIGHT" in env:
        cfg.max_requests_in_flight = _positive(
            "GOVGRAPH_MAX_REQUESTS_IN_FLIGHT", _integer(env["GOVGRAPH_MAX_REQUESTS_IN_FLIGHT"])
        )
    if "GOVGRAPH_EXECUTION_LIMIT" in env:
        cfg.execution_limit = _execution_limit(
            "GOVGRAPH_EXECUTION_LIMIT", _integer(env["GOVGRAPH_EXECUTION_LIMIT"])
        )
    if env.get("GOVGRAPH_REDIS_URL"):
        cfg.cache.redis_url = _redis_url("GOVGRAPH_REDIS_URL", env["GOVGRAPH_REDIS_URL"])
    if "GOVGRAPH_PROPAGATE_HEADERS" in env:
        cfg.propagate_headers = [
            h.strip().lower() for h in env["GOVGRAPH_PROPAGATE_HEADERS"].split(",") if h.strip()
        ]


def _read_shared_state(cfg: GatewayConfig, raw: Mapping[str, Any], base: Path) -> None:
    """`[cache]`, `[persisted_queries]` and `[rate_limit]`; a relative file is relative to the
    configuration file."""
    cache = _table(raw, "cache")
    if "redis_url" in cache:
        cfg.cache.redis_url = _redis_url(
            "cache.redis_url", _typed("cache.redis_url", cache["redis_url"], str)
        )
    if "key_prefix" in cache:
        cfg.cache.key_prefix = _typed("cache.key_prefix", cache["key_prefix"], str)
    for name in ("timeout_s", "retry_after_s", "warn_interval_s", "plan_ttl_s"):
        if name in cache:
            setattr(cfg.cache, name, _seconds(f"cache.{name}", cache[name]))
    if "memory_entries" in cache:
        cfg.cache.memory_entries = _positive("cache.memory_entries", cache["memory_entries"])

    pq = _table(raw, "persisted_queries")
    for name in ("apq", "trusted_documents_in_cache", "trusted_only"):
        if name in pq:
            setattr(
                cfg.persisted_queries, name, _typed(f"persisted_queries.{name}", pq[name], bool)
            )
    if "apq_ttl_s" in pq:
        cfg.persisted_queries.apq_ttl_s = _seconds("persisted_queries.apq_ttl_s", pq["apq_ttl_s"])
    if "trusted_clients" in pq:
        clients = pq["trusted_clients"]
        if not isinstance(clients, list) or not all(isinstance(c, str) and c for c in clients):
            raise ConfigError("persisted_queries.trusted_clients must be a list of client names")
        cfg.persisted_queries.trusted_clients = list(clients)
    if "trusted_documents" in pq:
        where = _typed("persisted_queries.trusted_documents", pq["trusted_documents"], str)
        cfg.persisted_queries.trusted_documents = _trusted_documents(base / where)

    limits = _table(raw, "rate_limit")
    if "window_s" in limits:
        cfg.rate_limit.window_s = _seconds("rate_limit.window_s", limits["window_s"])
    if "default" in limits:
        cfg.rate_limit.default = _count("rate_limit.default", limits["default"])
    clients = limits.get("clients", {})
    if not isinstance(clients, Mapping):
        raise ConfigError("[rate_limit.clients] must map API key ids to request counts")
    for client, limit in clients.items():
        cfg.rate_limit.clients[client] = _count(f"rate_limit.clients.{client}", limit)

    entities = _table(raw, "entity_cache")
    if "enabled" in entities:
        cfg.entity_cache.enabled = _typed("entity_cache.enabled", entities["enabled"], bool)
    if "max_entries" in entities:
        cfg.entity_cache.max_entries = _positive(
            "entity_cache.max_entries", entities["max_entries"]
        )

    control = _table(raw, "cache_control")
    if "default_max_age" in control:
        cfg.cache_control.default_max_age = _count(
            "cache_control.default_max_age", control["default_max_age"]
        )
    for kind in ("types", "fields"):
        table = control.get(kind, {})
        if not isinstance(table, Mapping):
            raise ConfigError(f"[cache_control.{kind}] must be a table")
        for name, hint in table.items():
            where = f"cache_control.{kind}.{name}"
            if kind == "fields" and "." not in name:
                raise ConfigError(f'{where}: a field is named "Type.field"')
            getattr(cfg.cache_control, kind)[name] = _cache_hint(where, hint)


def _cache_hint(where: str, raw: Any) -> CacheHint:
    if not isinstance(raw, Mapping) or not set(raw) <= {"max_age", "scope", "inherit_max_age"}:
        raise ConfigError(
            f"{where} must be a table of max_age (seconds), scope (public or private) "
            f"and inherit_max_age, got {raw!r}"
        )
    scope = raw.get("scope")
    if scope is not None and str(scope).upper() not in ("PUBLIC", "PRIVATE"):
        raise ConfigError(f'{where}.scope must be "public" or "private", got {scope!r}')
    return CacheHint(
        _count(f"{where}.max_age", raw["max_age"]) if "max_age" in raw else None,
        str(scope).upper() if scope is not None else None,
        _typed(f"{where}.inherit_max_age", raw.get("inherit_max_age", False), bool),
    )


def _table(raw: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    table = raw.get(name, {})
    if not isinstance(table, Mapping):
        raise ConfigError(f"[{name}] must be a table")
    return table


def _redis_url(name: str, value: str) -> str:
    from cache.redis import check_url

    try:
        check_url(value)
    except ValueError as exc:
        raise ConfigError(f"{name}: {exc}") from None
    return value


def _trusted_documents(path: Path) -> dict[str, str]:
    """A JSON object of sha256 hex -> operation text; each hash must be the text's."""
    import hashlib
    import json

    try:
        documents = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(
            f"persisted_queries.trusted_documents: cannot read {path}: {exc}"
        ) from None
    except ValueError as exc:
        raise ConfigError(
            f"persisted_queries.trusted_documents: {path} is not JSON: {exc}"
        ) from None
    if not isinstance(documents, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in documents.items()
    ):
        raise ConfigError(
            f"persisted_queries.trusted_documents: {path} must be a JSON object of "
            '{"<sha256 hex>": "<operation text>"}'
        )
    for digest, text in documents.items():
        if hashlib.sha256(text.encode()).hexdigest() != digest.lower():
            raise ConfigError(
                f"persisted_queries.trusted_documents: in {path}, {digest!r} is not the "
                "sha256 of its operation text"
            )
    return {k.lower(): v for k, v in documents.items()}


def _count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{name} must be a whole number (0 for no limit), got {value!r}")
    return value


def _shard_list(name: str, value: str) -> dict[str, str]:
    shards: dict[str, str] = {}
    for item in value.split(","):
        if not item.strip():
            continue
        key, sep, url = item.strip().partition("=")
        if not sep or not key or not url:
            raise ConfigError(f"{name} must be a comma-separated list of KEY=URL, got {item!r}")
        shards[key] = http_url(f"{name} ({key})", url)
    if not shards:
        raise ConfigError(f"{name} lists no shards")
    return shards


def _typed(name: str, value: object, kind: type[_T]) -> _T:
    if kind is int and isinstance(value, bool) or not isinstance(value, kind):
        raise ConfigError(f"{name} must be a {kind.__name__}, got {value!r}")
    return value


def _integer(text: str) -> int | str:
    try:
        return int(text)
    except ValueError:
        return text


def _positive(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{name} must be a whole number greater than zero, got {value!r}")
    return value


def _execution_limit(name: str, value: Any) -> int | str:
    if value == "auto":
        return "auto"
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f'{name} must be "auto" or a whole number (0: no limit), got {value!r}')
    return value


def _seconds(name: str, value: Any) -> float:
    return seconds(name, value)


def check_subgraph_names(config: GatewayConfig, names: list[str]) -> None:
    """Every `[subgraphs.<name>]` and `[partitions.<name>]` must name a subgraph of the supergraph.

    `names` are the supergraph's subgraph names; a table naming none of them (a typo such as
    `natoinal`) would otherwise be ignored while the real subgraph keeps its composed URL.
    """
    known = {n.lower(): n for n in names}
    named = [("subgraphs", n) for n in config.subgraph_urls]
    named += [("subgraphs", n) for n in config.subgraph_timeouts]
    named += [("subgraphs", n) for n in config.subgraph_policies]
    named += [("partitions", n) for n in config.partitions]
    for table, name in named:
        if name.lower() in known:
            continue
        match = difflib.get_close_matches(name.lower(), list(known), n=1, cutoff=0.6)
        hint = f"; did you mean [{table}.{known[match[0]]}]?" if match else ""
        raise ConfigError(
            f"[{table}.{name}] names no subgraph of the supergraph "
            f"(its subgraphs: {', '.join(sorted(names))}){hint}"
        )
