"""AWS-style API throttling: a token bucket per account and operation.

The Chime SDK documents its API rate as 10 requests per second with bursts of 20, per account, and answers
``ThrottlingException`` (HTTP 429) beyond it; every AWS SDK retries that with backoff. parley applies the same
rule per operation (D37 in docs/decisions.md), so code that works here is shaped for the real service's limits.

With one node the buckets live in memory. With ``--redis-url`` they live in Redis, so every node draws from
the same budget: one Lua script refills and takes atomically, timed by the Redis server's clock (nodes'
clocks never disagree about it). If Redis cannot be reached the call is allowed: throttling protects the
service, it must never be the reason the API is down.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger(__name__)

#: The Chime SDK's documented API rate (../shared/reference/chime-meetings.md, "Limits").
AWS_RATE = 10.0
AWS_BURST = 20.0


@dataclass(slots=True)
class Bucket:
    rate: float
    burst: float
    tokens: float
    updated: float

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0 - 1e-9:  # refills are float products: 0.1 s at 10/s must make a whole token
            self.tokens = max(0.0, self.tokens - 1.0)
            return True
        return False


class Throttle(Protocol):
    async def allow(self, account_id: str, operation: str) -> bool: ...

    async def close(self) -> None: ...


@dataclass
class LocalThrottle:
    """In-process buckets. Idle buckets are dropped once full again, so memory follows active callers."""

    rate: float = AWS_RATE
    burst: float = AWS_BURST
    clock: Any = time.monotonic
    _buckets: dict[tuple[str, str], Bucket] = field(default_factory=dict)
    _swept: float = 0.0

    async def allow(self, account_id: str, operation: str) -> bool:
        now = self.clock()
        key = (account_id, operation)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = Bucket(self.rate, self.burst, self.burst, now)
        allowed = bucket.take(now)
        if now - self._swept > 60.0:
            self._sweep(now)
        return allowed

    def _sweep(self, now: float) -> None:
        self._swept = now
        refill_s = self.burst / self.rate
        for key in [k for k, b in self._buckets.items() if now - b.updated > refill_s]:
            del self._buckets[key]

    async def close(self) -> None:
        self._buckets.clear()


# KEYS[1] = the bucket; ARGV = rate, burst. Returns 1 (allowed) or 0. The bucket expires once it would be full.
_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(state[1])
local updated = tonumber(state[2])
if tokens == nil then
  tokens = burst
  updated = now
end
tokens = math.min(burst, tokens + (now - updated) * rate)
local allowed = 0
if tokens >= 1 - 1e-9 then
  tokens = math.max(0, tokens - 1)
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return allowed
"""


class RedisThrottle:
    """Buckets shared by every node on one Redis (redis-py's asyncio client, a registered Lua script)."""

    def __init__(
        self, url: str, rate: float = AWS_RATE, burst: float = AWS_BURST, prefix: str = "parley:"
    ) -> None:
        from redis.asyncio import Redis

        self.rate = rate
        self.burst = burst
        self._prefix = f"{prefix}throttle:"
        self._client = Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._take = self._client.register_script(_TAKE)
        self._warned = 0.0

    async def allow(self, account_id: str, operation: str) -> bool:
        from redis.exceptions import RedisError

        try:
            return bool(
                await self._take(
                    keys=[f"{self._prefix}{account_id}:{operation}"], args=[self.rate, self.burst]
                )
            )
        except (RedisError, OSError) as exc:
            now = time.monotonic()
            if now - self._warned > 30.0:  # once per 30 s, not once per request
                self._warned = now
                log.warning("throttling is off while Redis is unreachable: %s", exc)
            return True

    async def close(self) -> None:
        await self._client.aclose()


def create_throttle(rate: float, burst: float, redis_url: str | None) -> Throttle | None:
    """None when ``rate`` is 0 (throttling off)."""
    if rate <= 0:
        return None
    burst = max(1.0, burst)
    if redis_url:
        return RedisThrottle(redis_url, rate, burst)
    return LocalThrottle(rate, burst)
