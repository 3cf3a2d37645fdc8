"""Load shedding: past a number of requests in flight, a request is refused at once.

The refusal (HTTP 503 with `Retry-After`) is decided from the request line alone, before the
body is read, parsed or planned, so that an overloaded gateway spends nothing on work it
cannot finish and keeps serving the requests it admitted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import orjson

GATEWAY_OVERLOADED = "GATEWAY_OVERLOADED"

# how quickly the latency estimate follows recent requests
_SMOOTHING = 0.1
_MIN_RETRY_MS = 100
_MAX_RETRY_MS = 30_000


class LoadShedder:
    """Admits at most `limit` requests at once; a refused one is told when to retry: about
    the time an admitted request takes, when a slot is likely to be free again."""

    __slots__ = ("in_flight", "latency_s", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight = 0
        self.latency_s = 0.0

    def enter(self) -> bool:
        """Admit a request (True), or refuse it (False); an admitted one must `leave`."""
        if self.in_flight >= self.limit:
            return False
        self.in_flight += 1
        return True

    def leave(self, seconds: float) -> None:
        self.in_flight -= 1
        self.latency_s += _SMOOTHING * (seconds - self.latency_s)

    def retry_after_ms(self) -> int:
        return max(_MIN_RETRY_MS, min(_MAX_RETRY_MS, round(self.latency_s * 1000)))

    def refusal(self) -> Refusal:
        """What a refused request is answered: headers and a GraphQL error body."""
        ms = self.retry_after_ms()
        body = orjson.dumps(
            {
                "errors": [
                    {
                        "message": f"The gateway is overloaded: it serves at most {self.limit} "
                        f"requests at once. Retry after {ms} ms.",
                        "extensions": {"code": GATEWAY_OVERLOADED, "retryAfterMs": ms},
                    }
                ]
            }
        )
        headers = (
            # Retry-After is whole seconds (RFC 9110); retry-after-ms says it precisely
            (b"retry-after", str(math.ceil(ms / 1000)).encode()),
            (b"retry-after-ms", str(ms).encode()),
        )
        return Refusal(body, headers)


@dataclass(frozen=True, slots=True)
class Refusal:
    body: bytes
    headers: tuple[tuple[bytes, bytes], ...]
