"""The gateway engine: parse → validate → plan → execute → shape, with caches.

Work that does not depend on the request (parsing, validation, normalisation,
planning, printing subgraph operations) happens once per distinct operation and
is cached; a warm request only coerces variables, runs fetches and shapes data.
Whatever fails inside, the client gets a GraphQL error with a code and, for a fault
of the gateway, the request id its traceback is logged under.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import orjson
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    InlineFragmentNode,
    NoSchemaIntrospectionCustomRule,
    OperationDefinitionNode,
    SelectionNode,
    SelectionSetNode,
    execute_sync,
    parse,
    specified_rules,
    validate,
)
from graphql.execution.values import get_variable_values

from cache import open_cache
from cache.memory import LRUCache
from gateway import metrics
from gateway.auth import CLAIMS_HEADER, ClaimsSigner, read_secret
from gateway.authorization import Authorizer, Guarded, guarded_fields, without
from gateway.cache_control import NO_STORE, CacheControl
from gateway.config import GatewayConfig, check_subgraph_names
from gateway.entity_cache import EntityCache
from gateway.exchange import GraphQLRequest, GraphQLResponse
from gateway.executor import ExecutionContext, Executor, clip_message
from gateway.inflight import InFlight
from gateway.limits import (
    COST_ESTIMATED_TOO_EXPENSIVE,
    MAX_FETCHES_EXCEEDED,
    LimitExceeded,
    count_fetches,
    estimate_cost,
    read_cost_rules,
    shape_limits,
)
from gateway.pacing import ExecutionGate
from gateway.partition import PartitionRouter
from gateway.persisted import PersistedQueries
from gateway.planner.builder import PlanningError, QueryPlanner
from gateway.planner.fetch_graph import PlanningLimitError
from gateway.planner.operation import (
    Field,
    Operation,
    OperationError,
    OperationLimitError,
    Selection,
    measure,
    normalize,
    select_operation,
)
from gateway.planner.plan import FetchNode, QueryPlan
from gateway.ratelimit import RateLimiter
from gateway.readiness import PROBE_QUERY, Policy, Upstreams
from gateway.readiness import check as check_readiness
from gateway.shaping import CompiledShaper
from gateway.shared_plans import VALID, SharedOperations
from gateway.telemetry import Telemetry
from gateway.upstream import SubgraphFailure, Upstream
from schema.access import read_access_rules
from schema.api_schema import api_schema
from schema.supergraph import Supergraph, SupergraphError

log = logging.getLogger("govgraph.gateway")
_T = TypeVar("_T")

REQUEST_ID_HEADER = "x-request-id"

_INTROSPECTION_FIELDS = ("__schema", "__type")


@dataclass(slots=True)
class ParsedDocument:
    """A query text parsed and validated once: the document, or the errors to answer with."""

    document: DocumentNode | None
    errors: list[dict[str, Any]] | None


@dataclass(slots=True)
class PreparedOperation:
    """Everything about one operation that its requests reuse."""

    operation: Operation
    plan: QueryPlan
    shaper: CompiledShaper
    introspection: DocumentNode | None  # the introspection part, answered by the gateway
    plan_text: str
    # the response's Cache-Control when it has no errors; None when no hints are configured
    cache_control: str | None = None
    # fields an access rule protects (checked per caller before anything is fetched)
    guards: tuple[Guarded, ...] = ()
    # the cost and fan-out verdict, kept once it is known not to depend on the variables
    limits_known: bool = False
    limits: LimitExceeded | None = None


class _VariableReads(dict[str, Any]):
    """A request's variables that note whether anything looked at them."""

    read = False

    def __len__(self) -> int:
        self.read = True
        return super().__len__()

    def __getitem__(self, key: str) -> Any:
        self.read = True
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.read = True
        return super().__contains__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.read = True
        return super().get(key, default)


class LimitRefusal(Exception):
    """The operation passes a limit; refused before it is planned."""

    def __init__(self, limit: LimitExceeded) -> None:
        super().__init__(limit.message)
        self.limit = limit


class _DeadlineExceeded(Exception):
    """The request's deadline passed while the gateway was still preparing it."""


class PlannerFault(Exception):
    """The planner failed unexpectedly; `field` is the one it could not plan, when found."""

    def __init__(self, field: str | None) -> None:
        super().__init__(field)
        self.field = field


# A prepared operation is reused by requests with the same text, operation name and
# progressive override labels.
PreparedKey = tuple[str, str | None, frozenset[str] | None]
# ...and its plan for callers who may not see some of its guarded fields
RestrictedKey = tuple[PreparedKey, frozenset[int]]


class Gateway:
    """The engine: answers a `GraphQLRequest` from the subgraphs of one supergraph."""

    def __init__(
        self, supergraph_sdl: str, config: GatewayConfig, telemetry: Telemetry | None = None
    ) -> None:
        self.config = config
        # a reload hands the new engine the old one's telemetry: metrics and health go on
        self.telemetry = telemetry or Telemetry.from_environment(config)
        self.supergraph = Supergraph(supergraph_sdl)
        if self.supergraph.subscription_type:
            log.info("subscriptions in the supergraph are not served over HTTP")
        try:
            self.schema = api_schema(self.supergraph.document, self.supergraph.prefixes)
        except (GraphQLError, TypeError) as exc:
            raise SupergraphError(f"cannot derive the API schema: {exc}") from None
        check_subgraph_names(config, [sub.name for sub in self.supergraph.subgraphs.values()])
        self.upstream = Upstream(self.supergraph, config, self.telemetry.breaker_changed)
        self.routers = self._partition_routers()
        # the planner knows nothing of partitions: routers adapt its finished plans
        self.planner = QueryPlanner(self.supergraph, max_effort=config.max_planning_effort)
        self.object_types = frozenset(
            name for name, t in self.schema.type_map.items() if isinstance(t, GraphQLObjectType)
        )
        self.documents: LRUCache[str, ParsedDocument] = LRUCache(config.plan_cache_size)
        self.prepared: LRUCache[PreparedKey, PreparedOperation] = LRUCache(config.plan_cache_size)
        self.restricted: LRUCache[RestrictedKey, PreparedOperation] = LRUCache(
            config.plan_cache_size
        )
        # without introspection, graphql-core's rule refuses __schema/__type wherever they are
        self._rules = (
            None if config.introspection else (*specified_rules, NoSchemaIntrospectionCustomRule)
        )
        self.access_rules = read_access_rules(self.supergraph.document)
        self.cost_rules = read_cost_rules(self.supergraph.document)
        self.authorizer = Authorizer(config.auth.policies)
        self.signer = (
            ClaimsSigner(
                read_secret(config.auth.internal_key_file, "auth.internal_key_file"),
                config.auth.internal_token_ttl_s,
                config.auth.partition_claim,
            )
            if config.auth.internal_key_file
            else None
        )
        self.executor = Executor(self._send)
        # one thread prepares new operations; the event loop may plan too (`_restricted`),
        # so planning itself takes `_planning`
        self._cpu = ThreadPoolExecutor(max_workers=1, thread_name_prefix="govgraph-prepare")
        self._planning = threading.RLock()
        self.gate = _execution_gate(config)
        self._inflight: InFlight[GraphQLResponse] = InFlight()
        self._identity_headers = tuple(
            dict.fromkeys(
                [
                    "authorization",
                    "cookie",
                    config.auth.jwt_header,
                    config.auth.api_key_header,
                    *config.propagate_headers,
                ]
            )
        )
        # shared state: Redis when configured, else this process's memory
        settings = config.cache
        self.cache = open_cache(
            settings.redis_url,
            prefix=settings.key_prefix,
            timeout_s=settings.timeout_s,
            retry_after_s=settings.retry_after_s,
            warn_interval_s=settings.warn_interval_s,
            max_entries=settings.memory_entries,
            on_failure=lambda operation: metrics.cache_backend_failures(operation).inc(),
        )
        self.persisted = PersistedQueries(
            config.persisted_queries, self.cache, config.plan_cache_size
        )
        limiter = RateLimiter(config.rate_limit, self.cache)
        self.limiter = limiter if limiter.enabled else None
        self.shared = SharedOperations(self.cache, self.supergraph.hash, config)
        self.cache_control = CacheControl(self.supergraph.document, config.cache_control)
        self.entities = (
            EntityCache(
                self.cache,
                self.cache_control,
                self.schema,
                self.supergraph,
                self.shared.scope,
                config.entity_cache.max_entries,
                self.access_rules,
            )
            if config.entity_cache.enabled
            else None
        )
        self._readiness_targets = self._upstreams()
        self.telemetry.supergraph_loaded(self.supergraph.hash, self._readiness_targets)

    def _partition_routers(self) -> dict[str, PartitionRouter]:
        by_name = {sub.name: enum for enum, sub in self.supergraph.subgraphs.items()}
        routers: dict[str, PartitionRouter] = {}
        for name, partition in self.config.partitions.items():
            graph = by_name.get(name)
            if graph is None:
                raise SupergraphError(
                    f"partitions.{name} names a subgraph the supergraph does not have "
                    f"(subgraphs: {', '.join(sorted(by_name))})"
                )
            routers[graph] = PartitionRouter(
                partition,
                graph,
                self.upstream,
                self.schema,
                self.config,
                self.supergraph,
                self.telemetry,
            )
        return routers

    @property
    def supergraph_hash(self) -> str:
        """The hash of the supergraph served: gateways with equal hashes plan alike."""
        return self.supergraph.hash

    async def startup(self) -> None:
        """Open the subgraph connections before the first request, not during it."""
        await self.upstream.start()
        if self.entities is not None:
            await self.entities.start()
        _tune_garbage_collector()

    async def shutdown(self) -> None:
        """Close the subgraph and cache connections."""
        await self.upstream.close()
        await self.cache.close()
        self._cpu.shutdown(wait=False, cancel_futures=True)

    # ---- the pipeline ----------------------------------------------------------

    async def execute(self, request: GraphQLRequest) -> GraphQLResponse:
        """Never raises: a fault of the gateway is logged with its traceback and answered
        as an `INTERNAL_SERVER_ERROR` naming the request id, never the exception."""
        request_id = request.request_id or uuid.uuid4().hex
        try:
            return await self._execute(request, request_id)
        except Exception:
            log.exception("request %s failed (operation %r)", request_id, request.operation_name)
            return _internal_error(request_id)

    async def _execute(self, request: GraphQLRequest, request_id: str) -> GraphQLResponse:
        deadline = time.monotonic() + self.config.request_deadline_s
        try:
            return await self._answer(request, request_id, deadline)
        except _DeadlineExceeded:
            return GraphQLResponse(
                {
                    "data": None,
                    "errors": [
                        {
                            "message": "The request did not complete within its deadline of "
                            f"{self.config.request_deadline_s:g} s (the gateway was still "
                            "preparing the operation).",
                            "extensions": {"code": "GATEWAY_TIMEOUT"},
                        }
                    ],
                }
            )

    async def _answer(
        self, request: GraphQLRequest, request_id: str, deadline: float
    ) -> GraphQLResponse:
        if self.limiter is not None:
            refused = await self.limiter.check(request)
            if refused is not None:
                return refused
        if self.persisted.applies(request):
            resolved = await self.persisted.resolve(request)
            if isinstance(resolved, GraphQLResponse):
                return resolved
            request.query = resolved
        query = request.query
        if not isinstance(query, str) or not query.strip():
            return _request_error("Must provide query string.")
        parsed = self.documents.get(query)
        self.telemetry.cache_lookup("documents", parsed is not None)
        if parsed is None:
            with self.telemetry.phase("graphql.validate"):
                parsed = await self._shared_document(query, deadline)
        if parsed.errors is not None:
            return GraphQLResponse({"errors": parsed.errors}, request_error=True)
        assert parsed.document is not None
        try:
            definition = select_operation(parsed.document, request.operation_name)
        except OperationError as exc:
            return _request_error(str(exc))
        kind = definition.operation.value
        self.telemetry.operation(
            kind, definition.name.value if definition.name else request.operation_name, query
        )
        if kind == "subscription":
            return _request_error("Subscriptions are not supported over this endpoint.")
        if kind == "mutation" and request.http_method == "GET":
            return GraphQLResponse(
                {"errors": [{"message": "Mutations are not allowed over GET; use POST."}]},
                request_error=True,
                http_status=405,
            )
        raw_variables = request.variables or {}
        if not isinstance(raw_variables, dict):
            return _request_error("Variables must be an object.")
        values = get_variable_values(
            self.schema, definition.variable_definitions or (), raw_variables
        )
        if isinstance(values, list):
            return GraphQLResponse({"errors": [_format(e) for e in values]}, request_error=True)
        coerced: dict[str, Any] = values.coerced
        # one plan per operation: @skip/@include on variables are Condition nodes in it. A shared
        # (Redis) plan cache keys the same with the supergraph's hash in front.
        labels = self._override_labels()
        key: PreparedKey = (query, request.operation_name, labels)
        prepared = self.prepared.get(key)
        self.telemetry.cache_lookup("plans", prepared is not None)
        if prepared is None:
            document = parsed.document
            try:
                with self.telemetry.phase("graphql.plan"):
                    prepared = await self._prepare_shared(
                        key, document, definition, coerced, labels, deadline
                    )
            except LimitRefusal as refusal:
                return GraphQLResponse({"errors": [refusal.limit.error()]}, request_error=True)
            except (PlanningError, PlannerFault) as exc:
                return _planning_failure(exc, request_id)
            self.prepared.put(key, prepared)
        exceeded = self._request_limits(prepared, coerced)
        if exceeded is not None:
            return GraphQLResponse({"errors": [exceeded.error()]}, request_error=True)
        denied: list[dict[str, Any]] = []
        if prepared.guards:
            decision = self.authorizer.decide(prepared.guards, request.caller, coerced)
            if decision is not None:
                if decision.data_null:
                    return GraphQLResponse({"errors": decision.errors, "data": None})
                denied = decision.errors
                try:
                    prepared = self._restricted(key, prepared, decision.denied, labels)
                except (PlanningError, PlannerFault) as exc:
                    return _planning_failure(exc, request_id)
        with self.telemetry.phase("graphql.execute"):
            if kind == "query" and self.config.deduplicate_requests:
                return await self._run_shared(
                    prepared, coerced, request, raw_variables, denied, deadline
                )
            return await self._run(prepared, coerced, request, raw_variables, denied, deadline)

    def _restricted(
        self,
        key: PreparedKey,
        prepared: PreparedOperation,
        denied: frozenset[int],
        labels: frozenset[str] | None,
    ) -> PreparedOperation:
        """The operation planned without the fields a caller may not see; shaped as the
        client asked, so those fields answer null."""
        restricted_key = (key, denied)
        restricted = self.restricted.get(restricted_key)
        if restricted is None:
            operation, shaping = without(prepared.operation, prepared.guards, denied)
            plan = self._plan(operation, labels)
            shaper = (
                prepared.shaper
                if shaping is None
                else CompiledShaper(self.schema, shaping.root_type, shaping.selections)
            )
            restricted = replace(
                prepared, plan=plan, plan_text=plan.print(), guards=(), shaper=shaper
            )
            self.restricted.put(restricted_key, restricted)
        return restricted

    async def _run_shared(
        self,
        prepared: PreparedOperation,
        variables: dict[str, Any],
        request: GraphQLRequest,
        raw_variables: dict[str, Any],
        denied: list[dict[str, Any]],
        deadline: float,
    ) -> GraphQLResponse:
        """Identical in-flight queries — same document, operation, variables, and the headers
        that reach subgraphs or identify the caller — share one execution."""
        headers = request.headers
        key = (
            request.query,
            request.operation_name,
            request.want_plan,
            orjson.dumps(raw_variables, option=orjson.OPT_SORT_KEYS),
            tuple(headers.get(h) for h in self._identity_headers),
        )
        task = self._inflight.join(
            key, lambda: self._run(prepared, variables, request, raw_variables, denied, deadline)
        )
        return await asyncio.shield(task)

    async def _shared_document(self, query: str, deadline: float) -> ParsedDocument:
        """A document this process has not seen: another replica may have validated it."""
        known = await self.shared.document(query) if self.shared.enabled else None
        if known is VALID:
            parsed = await self._off_loop(lambda: self._parsed(query, validated=True), deadline)
        elif isinstance(known, list):
            parsed = ParsedDocument(None, known)
        else:
            parsed = await self._off_loop(lambda: self._parsed(query), deadline)
            if self.shared.enabled:
                await self.shared.store_document(query, parsed.errors)
        self.documents.put(query, parsed)
        return parsed

    async def _prepare_shared(
        self,
        key: PreparedKey,
        document: DocumentNode,
        definition: OperationDefinitionNode,
        variables: dict[str, Any],
        labels: frozenset[str] | None,
        deadline: float,
    ) -> PreparedOperation:
        """Plan once per supergraph: take another replica's plan when the shared cache has
        it, else plan and share."""
        plan = await self.shared.plan(key) if self.shared.enabled else None
        prepared = await self._off_loop(
            lambda: self._prepare(document, definition, variables, labels, plan), deadline
        )
        if plan is None and self.shared.enabled:
            await self.shared.store_plan(key, prepared.plan)
        return prepared

    def _document(self, query: str) -> ParsedDocument:
        cached = self.documents.get(query)
        if cached is not None:
            return cached
        parsed = self._parsed(query)
        self.documents.put(query, parsed)
        return parsed

    def _parsed(self, query: str, validated: bool = False) -> ParsedDocument:
        """`validated`: another replica validated this text against this supergraph."""
        try:
            document = parse(query, max_tokens=self.config.max_tokens)
        except GraphQLError as exc:
            return ParsedDocument(None, [self._syntax_error(exc)])
        return ParsedDocument(document, None) if validated else self._validated(document)

    async def _off_loop(self, work: Callable[[], _T], deadline: float) -> _T:
        """The gateway's own CPU work on a new operation (parsing, validation, planning) runs
        on one worker thread, so a request still ends at its deadline while it goes on."""
        # in the request's context: what the work logs carries the request's id
        future = asyncio.get_running_loop().run_in_executor(
            self._cpu, contextvars.copy_context().run, work
        )
        try:
            return await asyncio.wait_for(future, max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            raise _DeadlineExceeded from None

    def _syntax_error(self, error: GraphQLError) -> dict[str, Any]:
        limit = self.config.max_tokens
        if f"more than {limit} tokens" in error.message:  # graphql-core's words for max_tokens
            return {
                "message": f"The document has more than {limit} tokens, the limit set by "
                f"[gateway] max_tokens; send a smaller document.",
                "extensions": {"code": "MAX_TOKENS_EXCEEDED"},
            }
        return _format(error)

    def _validated(self, document: DocumentNode) -> ParsedDocument:
        """Limits first: validation and everything after it grow with the expanded size."""
        try:
            measure(
                document,
                max_selections=self.config.max_expanded_selections,
                max_depth=self.config.max_depth,
            )
        except OperationLimitError as exc:
            return ParsedDocument(None, [{"message": str(exc), "extensions": {"code": exc.code}}])
        errors = validate(self.schema, document, self._rules)
        if errors:
            return ParsedDocument(None, [_format(e) for e in errors])
        return ParsedDocument(document, None)

    def _override_labels(self) -> frozenset[str] | None:
        """The progressive override labels on for one request: "percent(N)" for N% of
        requests, a custom label when the configuration switches it on."""
        labels = self.supergraph.override_labels
        if not labels:
            return None
        on = set()
        for label in labels:
            percent = _percent(label)
            if percent is None:
                if label in self.config.override_labels:
                    on.add(label)
            elif percent >= 100 or (percent > 0 and random.random() * 100 < percent):
                on.add(label)
        return frozenset(on)

    def _prepare(
        self,
        document: DocumentNode,
        definition: OperationDefinitionNode,
        variables: dict[str, Any],
        labels: frozenset[str] | None = None,
        shared_plan: QueryPlan | None = None,
    ) -> PreparedOperation:
        """`shared_plan`: the finished plan another replica made (partitions included)."""
        operation = normalize(self.schema, document, definition, variables)
        exceeded = shape_limits(
            operation, self.config.max_aliases, self.config.max_root_fields
        ) or self._cost_limit(operation, variables)
        if exceeded is not None and self._enforce(exceeded):
            raise LimitRefusal(exceeded)
        if shared_plan is not None:
            plan = shared_plan
        else:
            plan = self._plan(operation, labels)
        guards = guarded_fields(operation, self.access_rules)
        return PreparedOperation(
            operation=operation,
            plan=plan,
            shaper=CompiledShaper(self.schema, operation.root_type, operation.selections),
            introspection=_introspection_document(document, definition),
            plan_text=plan.print(),
            # an answer that depends on who asks (access rules) is never public
            cache_control=self.cache_control.policy(operation, private=bool(guards)).header()
            if self.cache_control.active
            else None,
            guards=guards,
        )

    def _enforce(self, exceeded: LimitExceeded) -> bool:
        """True when the limit refuses; in "measure" mode it is only logged."""
        if self.config.limits_mode == "enforce":
            return True
        log.warning("limit passed (measure mode, served anyway): %s", exceeded.message)
        return False

    def _cost_limit(self, operation: Operation, variables: dict[str, Any]) -> LimitExceeded | None:
        cost = estimate_cost(operation, self.cost_rules, variables, self.config.default_list_size)
        if cost <= self.config.max_cost:
            return None
        return LimitExceeded(
            COST_ESTIMATED_TOO_EXPENSIVE,
            f"The operation's estimated cost is {cost}, more than the limit of "
            f"{self.config.max_cost} set by [gateway] max_cost.",
        )

    def _request_limits(
        self, prepared: PreparedOperation, variables: dict[str, Any]
    ) -> LimitExceeded | None:
        """The limits that may depend on the request's variables: cost (list sizes taken from
        arguments) and the subgraph requests the plan would cause (shards named by variables).
        When neither looked at the variables, the verdict is kept for the operation's later
        requests, so the hot path does not walk the operation and the plan again."""
        if prepared.limits_known:
            exceeded = prepared.limits
        else:
            tracked = _VariableReads(variables)
            exceeded = self._limits_with(prepared, tracked)
            if not tracked.read:
                prepared.limits, prepared.limits_known = exceeded, True
        if exceeded is not None and self._enforce(exceeded):
            return exceeded
        return None

    def _limits_with(
        self, prepared: PreparedOperation, variables: dict[str, Any]
    ) -> LimitExceeded | None:
        exceeded = self._cost_limit(prepared.operation, variables)
        if exceeded is None:
            fetches = count_fetches(
                prepared.plan.node, lambda fetch: self._shards_of(fetch, variables)
            )
            if fetches > self.config.max_fetches:
                exceeded = LimitExceeded(
                    MAX_FETCHES_EXCEEDED,
                    f"The operation would cause up to {fetches} subgraph requests, more than "
                    f"the limit of {self.config.max_fetches} set by [gateway] max_fetches.",
                )
        return exceeded

    def _shards_of(self, fetch: FetchNode, variables: dict[str, Any]) -> int:
        router = self.routers.get(fetch.graph)
        return 1 if router is None else router.fanout(fetch, variables)

    def _plan(self, operation: Operation, labels: frozenset[str] | None) -> QueryPlan:
        # the planner keeps one plan's state while it works: the preparing thread and the
        # event loop (an operation planned again without the fields a caller may not see)
        # take turns
        with self._planning:
            try:
                plan = self.planner.plan(operation, labels)
            except PlanningError:
                raise
            except Exception as exc:
                raise PlannerFault(
                    _unplannable_field(lambda op: self.planner.plan(op, labels), operation)
                ) from exc
        # partitioned subgraphs adapt the finished plan: the planner knows nothing of shards
        for router in self.routers.values():
            plan = router.prepare(plan)
        return plan

    async def _run(
        self,
        prepared: PreparedOperation,
        variables: dict[str, Any],
        request: GraphQLRequest,
        raw_variables: dict[str, Any],
        denied: list[dict[str, Any]] | None = None,
        deadline: float | None = None,
    ) -> GraphQLResponse:
        if deadline is None:
            deadline = time.monotonic() + self.config.request_deadline_s
        headers = self.upstream.outgoing_headers(request.headers)
        if request.request_id:
            headers[REQUEST_ID_HEADER] = request.request_id
        # only the gateway speaks for the caller: a claims header of the client never passes
        headers.pop(CLAIMS_HEADER, None)
        if self.signer is not None:
            headers[CLAIMS_HEADER] = self.signer.token(request.caller)
        ctx = ExecutionContext(variables, headers, deadline, self.object_types)
        ctx.mask_errors = self.config.mask_subgraph_errors
        if denied:
            ctx.errors.extend(denied)
        gate = self.gate
        turn = False
        try:
            try:
                async with asyncio.timeout_at(
                    asyncio.get_running_loop().time() + max(0.0, deadline - time.monotonic())
                ):
                    # waiting for a turn counts against the deadline
                    if gate is not None:
                        await gate.acquire()
                        turn = True
                    await self.executor.run(prepared.plan.node, ctx)
            except TimeoutError:
                ctx.errors.append(
                    {
                        "message": f"The request did not complete within its deadline of "
                        f"{self.config.request_deadline_s:g} s.",
                        "extensions": {"code": "GATEWAY_TIMEOUT"},
                    }
                )
            if prepared.introspection is not None:
                result = execute_sync(
                    self.schema, prepared.introspection, variable_values=raw_variables
                )
                if result.data:
                    ctx.data.update(result.data)
                for e in result.errors or ():
                    ctx.errors.append(_format(e))
            if self.entities is not None and prepared.operation.kind == "mutation":
                await self.entities.invalidate_returned(prepared.operation, ctx.data)
            data = prepared.shaper.shape(ctx.data, ctx.errors, variables, ctx.explained)
        finally:
            if turn and gate is not None:
                gate.release()
        body: dict[str, Any] = {"data": data}
        if ctx.errors:
            body = {"errors": ctx.errors, "data": data}
        extensions = dict(ctx.extensions)
        if request.want_plan and self.config.expose_query_plan:
            extensions["queryPlan"] = prepared.plan_text
        if extensions:
            body["extensions"] = extensions
        if prepared.cache_control is None:
            return GraphQLResponse(body)
        control = NO_STORE if ctx.errors else prepared.cache_control
        return GraphQLResponse(body, headers=(("cache-control", control),))

    async def _send(
        self,
        fetch: FetchNode,
        variables: dict[str, Any],
        representations: list[dict[str, Any]] | None,
        ctx: ExecutionContext,
    ) -> dict[str, Any]:
        if representations is not None and self.entities is not None:
            return await self.entities.send(fetch, variables, representations, ctx, self._fetch)
        return await self._fetch(fetch, variables, representations, ctx)

    async def _fetch(
        self,
        fetch: FetchNode,
        variables: dict[str, Any],
        representations: list[dict[str, Any]] | None,
        ctx: ExecutionContext,
    ) -> dict[str, Any]:
        router = self.routers.get(fetch.graph)
        if router is not None:
            return await router.send(fetch, variables, representations, ctx)
        if representations is not None:
            variables = {**variables, "representations": representations}
        body = orjson.dumps({"query": fetch.operation, "variables": variables})
        observed = self.telemetry.fetch(fetch.service)
        try:
            response = await self.upstream.post(
                fetch.graph,
                body,
                observed.headers(ctx.headers),
                ctx.deadline,
                idempotent=fetch.operation_kind != "mutation",
            )
        except SubgraphFailure as failure:
            observed.finish(failure)
            raise
        observed.finish(None)
        return response

    # ---- readiness -------------------------------------------------------------

    def _upstreams(self) -> list[Upstreams]:
        required = self.config.readiness_required
        names = {router.service for router in self.routers.values()} | set(
            self.upstream.names.values()
        )
        unknown = sorted(set(required or ()) - names)
        if unknown:
            raise SupergraphError(
                f"readiness.required names {', '.join(unknown)}, which the supergraph does not "
                f"have (subgraphs: {', '.join(sorted(names))})"
            )
        targets = []
        for graph, name in self.upstream.names.items():
            router = self.routers.get(graph)
            if router is not None:
                targets.append(Upstreams(name, shards=dict(router.partition.shards)))
            else:
                targets.append(Upstreams(name, url=self.upstream.urls[graph]))
        return targets

    async def ready(self) -> tuple[bool, dict[str, Any]]:
        """Whether the subgraphs the readiness policy requires answer, and what each did last:
        a subgraph (or shard) with no recent answer is asked `{ __typename }` now."""
        config = self.config
        policy = Policy(
            config.readiness_required,
            config.readiness_min_shards,
            config.readiness_recent_s,
            config.readiness_probe_timeout_s,
        )
        graphs = {name: graph for graph, name in self.upstream.names.items()}

        async def probe(name: str, shard: str | None, url: str) -> bool:
            observed = self.telemetry.fetch(name, shard)
            try:
                await self.upstream.probe(
                    graphs[name],
                    url,
                    PROBE_QUERY,
                    self.upstream.outgoing_headers({}),
                    policy.probe_timeout_s,
                )
            except SubgraphFailure as failure:
                observed.finish(failure)
                return False
            observed.finish(None)
            return True

        return await check_readiness(self._readiness_targets, self.telemetry.health, policy, probe)

    def plan_for(
        self,
        query: str,
        operation_name: str | None = None,
        variables: dict[str, Any] | None = None,
        override_labels: frozenset[str] | None = None,
    ) -> QueryPlan:
        """The plan of an operation (for tests and the `plan` command)."""
        parsed = self._document(query)
        if parsed.errors is not None:
            raise ValueError(parsed.errors[0]["message"])
        assert parsed.document is not None
        definition = select_operation(parsed.document, operation_name)
        return self._prepare(parsed.document, definition, variables or {}, override_labels).plan


def _percent(label: str) -> float | None:
    """N of a "percent(N)" label; None for a custom label."""
    text = label.strip()
    if not (text.startswith("percent(") and text.endswith(")")):
        return None
    try:
        return float(text[len("percent(") : -1])
    except ValueError:
        return None


def _planning_failure(exc: PlanningError | PlannerFault, request_id: str) -> GraphQLResponse:
    """An operation the planner refused (a limit or an unplannable field), or a fault of the
    planner, logged with its traceback under the request id."""
    if isinstance(exc, PlannerFault):
        log.exception(
            "request %s: the planner failed on %s", request_id, exc.field or "an unknown field"
        )
        where = f" at field {exc.field}" if exc.field else ""
        message = (
            f"The gateway failed to plan this operation{where}. This is a fault of the "
            f"gateway, not of the operation; it is logged under request id {request_id}."
        )
        extensions = {"code": "QUERY_PLANNING_FAILED", "requestId": request_id}
        return GraphQLResponse(
            {"data": None, "errors": [{"message": message, "extensions": extensions}]}
        )
    log.warning("cannot plan operation: %s", exc)
    code = (
        "PLANNING_EFFORT_EXCEEDED"
        if isinstance(exc, PlanningLimitError)
        else "QUERY_PLANNING_FAILED"
    )
    return GraphQLResponse(
        {
            "data": None,
            "errors": [
                {
                    "message": f"The gateway cannot plan this operation: {exc}",
                    "extensions": {"code": code},
                }
            ],
        }
    )


def _internal_error(request_id: str) -> GraphQLResponse:
    message = (
        f"The gateway failed while answering this request; the failure is logged "
        f"under request id {request_id}."
    )
    extensions = {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
    return GraphQLResponse(
        {"data": None, "errors": [{"message": message, "extensions": extensions}]}
    )


# Plans tried to find the field behind an unexpected planner failure, at most.
_FAULT_SEARCH_TRIALS = 32


def _unplannable_field(plan: Callable[[Operation], object], operation: Operation) -> str | None:
    """The field an unexpected planner failure is about: the first root selection that fails
    on its own, then, level by level, the sub-selection that still fails alone, up to a field
    that fails whatever it selects."""
    trials = _FAULT_SEARCH_TRIALS

    def fails(selections: list[Selection]) -> bool | None:
        """None once the trials are spent."""
        nonlocal trials
        if trials == 0:
            return None
        trials -= 1
        try:
            plan(replace(operation, selections=selections))
        except Exception:
            return True
        return False

    def narrow(
        sel: Selection, rebuild: Callable[[list[Selection]], list[Selection]]
    ) -> Field | None:
        """`sel` fails on its own (`rebuild` puts it back into a whole operation)."""
        here = sel if isinstance(sel, Field) else None
        children = sel.selections or []

        def inside(inner: list[Selection]) -> list[Selection]:
            return rebuild([replace(sel, selections=inner)])

        verdicts: list[bool] = []
        for child in children:
            verdict = fails(inside([child]))
            if verdict is None:
                return here
            verdicts.append(verdict)
        if not any(verdicts) or (here is not None and all(verdicts)):
            return here
        return narrow(children[verdicts.index(True)], inside)

    for sel in operation.selections:
        verdict = fails([sel])
        if verdict is None:
            return None
        if verdict:
            found = narrow(sel, lambda selections: selections)
            if found is None:
                return None
            alias = f" (as {found.alias})" if found.alias else ""
            return f"{found.parent_type}.{found.name}{alias}"
    return None


def _execution_gate(config: GatewayConfig) -> ExecutionGate | None:
    """How many admitted requests run their plans at once (None: every one)."""
    limit = config.execution_limit
    if limit == "auto":
        return ExecutionGate(
            config.max_requests_in_flight, adaptive=True, on_limit=metrics.EXECUTION_LIMIT.set
        )
    if isinstance(limit, int) and limit > 0:
        return ExecutionGate(limit, on_limit=metrics.EXECUTION_LIMIT.set)
    return None


def _tune_garbage_collector() -> None:
    """Responses are trees of short-lived dicts and lists with no cycles: the cyclic collector
    would scan them for nothing many times per request. Freeze what start-up built (schema,
    plans' machinery) out of its sight and let it run far less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def _request_error(message: str) -> GraphQLResponse:
    return GraphQLResponse({"errors": [{"message": message}]}, request_error=True)


def _format(error: GraphQLError) -> dict[str, Any]:
    formatted = error.formatted
    out = {k: v for k, v in formatted.items() if v is not None}
    # graphql-core repeats a bad variable's value in its message: cut it short
    out["message"] = clip_message(str(out.get("message", "")))
    return out


def _introspection_document(
    document: DocumentNode, definition: OperationDefinitionNode
) -> DocumentNode | None:
    """The operation reduced to its introspection root fields, or None when it has none.
    Fragments at the root that hold some keep their conditions around what they hold."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }

    def keep(selection_set: SelectionSetNode) -> tuple[SelectionNode, ...]:
        kept: list[SelectionNode] = []
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                if sel.name.value in _INTROSPECTION_FIELDS:
                    kept.append(sel)
                continue
            if isinstance(sel, InlineFragmentNode):
                inner, condition = keep(sel.selection_set), sel.type_condition
            elif isinstance(sel, FragmentSpreadNode):
                fragment = fragments.get(sel.name.value)
                if fragment is None:
                    continue
                inner, condition = keep(fragment.selection_set), fragment.type_condition
            else:
                continue
            if inner:
                kept.append(
                    InlineFragmentNode(
                        type_condition=condition,
                        directives=sel.directives,
                        selection_set=SelectionSetNode(selections=inner),
                    )
                )
        return tuple(kept)

    kept = keep(definition.selection_set)
    if not kept:
        return None
    op = OperationDefinitionNode(
        operation=definition.operation,
        name=definition.name,
        variable_definitions=definition.variable_definitions,
        directives=definition.directives,
        selection_set=SelectionSetNode(selections=kept),
    )
    # the introspection fields keep their own spreads (`__schema { types { ...FullType } }`)
    return DocumentNode(definitions=(op, *fragments.values()))
