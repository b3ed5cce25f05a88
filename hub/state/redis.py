"""The Redis state store: many processes on many machines share one limit, breaker and record.

Every read-modify-write is one Lua script (atomic on the server); each mirrors the reference
implementation in ``memory.py`` line for line. Keys live under ``prefix``; TTLs are set in
milliseconds (PX). Times are passed in by the caller (``now``), never read from the server,
so all processes and a test's fake clock agree. Needs an asyncio event loop (redis-py).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, cast
from urllib.parse import urlsplit

import redis.asyncio

from hub.state import BreakerEvent, BreakerState, BreakerStep, TokenGrant
from hub.state.memory import BUCKET_KEEP, WINDOW_SLICES, check_ttl

if TYPE_CHECKING:
    from hub.resilience.policy import CircuitBreakerPolicy

__all__ = ["RedisStateStore"]

_DELETE_IF_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

_INCR_LUA = """
local existed = redis.call('EXISTS', KEYS[1])
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if existed == 0 and ARGV[2] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return value
"""

# GCRA in microseconds, as MemoryStateStore.take_token.
# ARGV: now (µs), interval (µs), burst, max_wait (s), keep (s).
_BUCKET_LUA = """
local now, interval = tonumber(ARGV[1]), tonumber(ARGV[2])
local burst, max_wait, keep = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local due = math.max(now, tonumber(redis.call('GET', KEYS[1]) or ARGV[1])) + interval
local wait = math.max(0, math.floor(due - burst * interval - now + 0.5)) / 1e6
if wait > max_wait then return {0, string.format('%.17g', wait)} end
local ttl = math.max(1, math.ceil(((due - now) / 1e6 + keep) * 1000))
redis.call('SET', KEYS[1], string.format('%.17g', due), 'PX', ttl)
return {1, string.format('%.17g', wait)}
"""

# The breaker state machine, as memory.breaker_step. The record is a small hash: state,
# open_until, consecutive, trials, trial_at, and c:<slice> / f:<slice> (calls / failures).
_BREAKER_LUA = """
local event, now = ARGV[1], tonumber(ARGV[2])
local max_consecutive, failure_rate = tonumber(ARGV[3]), tonumber(ARGV[4])
local window, minimum_calls = tonumber(ARGV[5]), tonumber(ARGV[6])
local reset_timeout, half_open_calls = tonumber(ARGV[7]), tonumber(ARGV[8])
local open_for, slices_n = tonumber(ARGV[9]), tonumber(ARGV[10])

local b = {state = 'closed', open_until = 0, consecutive = 0, trials = 0, trial_at = 0}
local calls, fails = {}, {}
local flat = redis.call('HGETALL', KEYS[1])
for i = 1, #flat, 2 do
  local kind, n = string.match(flat[i], '^([cf]):(-?%d+)$')
  if kind == 'c' then calls[tonumber(n)] = tonumber(flat[i + 1])
  elseif kind == 'f' then fails[tonumber(n)] = tonumber(flat[i + 1])
  elseif flat[i] == 'state' then b.state = flat[i + 1]
  else b[flat[i]] = tonumber(flat[i + 1]) end
end

local function trip(until_)
  b.state, b.open_until, b.consecutive, b.trials = 'open', until_, 0, 0
  calls, fails = {}, {}
end
local function close()
  b.state, b.trials, b.consecutive = 'closed', 0, 0
  calls, fails = {}, {}
end

local before = b.state
if b.state == 'open' and now >= b.open_until then b.state, b.trials = 'half_open', 0 end
if b.state == 'half_open' and b.trials >= half_open_calls
    and now - b.trial_at >= reset_timeout then b.trials = 0 end
local allowed, retry_in = 1, 0
if event == 'peek' or event == 'acquire' then
  if b.state == 'open' then allowed, retry_in = 0, b.open_until - now
  elseif b.state == 'half_open' then
    if b.trials >= half_open_calls then
      allowed, retry_in = 0, b.trial_at + reset_timeout - now
    elseif event == 'acquire' then b.trials, b.trial_at = b.trials + 1, now end
  end
elseif event == 'success' or event == 'failure' then
  local failed = event == 'failure'
  if b.state == 'half_open' then
    if failed then trip(now + reset_timeout) else close() end
  elseif b.state == 'closed' then
    local current = math.floor(now / (window / slices_n))
    for n in pairs(calls) do
      if n <= current - slices_n then calls[n], fails[n] = nil, nil end
    end
    calls[current] = (calls[current] or 0) + 1
    if not failed then b.consecutive = 0 else
      fails[current] = (fails[current] or 0) + 1
      b.consecutive = b.consecutive + 1
      local total, failures = 0, 0
      for n, c in pairs(calls) do total = total + c; failures = failures + (fails[n] or 0) end
      local rate_hit = total >= minimum_calls and failures >= failure_rate * total
      if b.consecutive >= max_consecutive or rate_hit then trip(now + reset_timeout) end
    end
  end
elseif event == 'release' then
  if b.state == 'half_open' and b.trials > 0 then b.trials = b.trials - 1 end
elseif event == 'force_open' then trip(now + open_for)
else close() end
if retry_in < 0 then retry_in = 0 end

if event ~= 'peek' then
  redis.call('DEL', KEYS[1])
  if not (b.state == 'closed' and b.consecutive == 0 and next(calls) == nil) then
    local fields = {'state', b.state, 'open_until', string.format('%.17g', b.open_until),
      'consecutive', b.consecutive, 'trials', b.trials,
      'trial_at', string.format('%.17g', b.trial_at)}
    for n, c in pairs(calls) do
      local slice = string.format('%d', n)
      table.insert(fields, 'c:' .. slice); table.insert(fields, c)
      table.insert(fields, 'f:' .. slice); table.insert(fields, fails[n] or 0)
    end
    redis.call('HSET', KEYS[1], unpack(fields))
    local keep = window + reset_timeout + math.max(0, b.open_until - now)
    redis.call('PEXPIRE', KEYS[1], math.ceil(keep * 1000))
  end
end
return {before, b.state, allowed, string.format('%.17g', retry_in)}
"""


def _ms(ttl: float) -> int:
    return max(1, math.ceil(ttl * 1000))


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


class RedisStateStore:
    """State in Redis under ``prefix``; build it with :meth:`from_url`."""

    def __init__(self, client: redis.asyncio.Redis, *, prefix: str = "hub:", url: str = "") -> None:
        self._client = client
        self._prefix = prefix
        self._where = _redacted(url) if url else "redis"
        self._delete_if = client.register_script(_DELETE_IF_LUA)
        self._incr = client.register_script(_INCR_LUA)
        self._take_token = client.register_script(_BUCKET_LUA)
        self._breaker = client.register_script(_BREAKER_LUA)

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "hub:") -> RedisStateStore:
        """Connections open lazily, on the first command."""
        return cls(redis.asyncio.Redis.from_url(url), prefix=prefix, url=url)

    def __repr__(self) -> str:  # never the password
        return f"RedisStateStore({self._where!r}, prefix={self._prefix!r})"

    @property
    def prefix(self) -> str:
        return self._prefix

    @property
    def client(self) -> redis.asyncio.Redis:
        """The underlying client, for tests and health checks."""
        return self._client

    def _k(self, key: str) -> str:
        return self._prefix + key

    async def get(self, key: str) -> bytes | None:
        return cast("bytes | None", await self._client.get(self._k(key)))

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        check_ttl(ttl)
        await self._client.set(self._k(key), value, px=None if ttl is None else _ms(ttl))

    async def add(self, key: str, value: bytes, *, ttl: float | None = None) -> bool:
        check_ttl(ttl)
        px = None if ttl is None else _ms(ttl)
        return bool(await self._client.set(self._k(key), value, px=px, nx=True))

    async def delete(self, key: str) -> None:
        await self._client.delete(self._k(key))

    async def delete_if(self, key: str, value: bytes) -> bool:
        return bool(await self._delete_if(keys=[self._k(key)], args=[value]))

    async def incr(self, key: str, amount: int = 1, *, ttl: float | None = None) -> int:
        check_ttl(ttl)
        px = "" if ttl is None else _ms(ttl)
        return int(await self._incr(keys=[self._k(key)], args=[amount, px]))

    async def take_token(
        self, key: str, *, now: float, rate: float, burst: int, max_wait: float
    ) -> TokenGrant:
        args: list[str | int] = [
            round(now * 1e6),
            repr(1e6 / rate),
            burst,
            repr(max_wait),
            repr(BUCKET_KEEP),
        ]
        granted, wait = await self._take_token(keys=[self._k(key)], args=args)
        return TokenGrant(granted=bool(granted), wait=float(wait))

    async def breaker_step(
        self,
        key: str,
        event: BreakerEvent,
        *,
        now: float,
        policy: CircuitBreakerPolicy,
        open_for: float | None = None,
    ) -> BreakerStep:
        args: list[str | int] = [
            event,
            repr(now),
            policy.consecutive_failures,
            repr(policy.failure_rate),
            repr(policy.window),
            policy.minimum_calls,
            repr(policy.reset_timeout),
            policy.half_open_calls,
            repr(policy.reset_timeout if open_for is None else open_for),
            WINDOW_SLICES,
        ]
        before, after, allowed, retry_in = await self._breaker(keys=[self._k(key)], args=args)
        return BreakerStep(
            before=cast(BreakerState, before.decode()),
            after=cast(BreakerState, after.decode()),
            allowed=bool(allowed),
            retry_in=float(retry_in),
        )

    async def aclose(self) -> None:
        await self._client.aclose()
