"""The shared callback schedule on Redis: a callback is sent even when the instance that created its
resource dies before it is due.

A create whose lifecycle declares a callback and whose request names a URL adds the resource to its
creating instance's schedule in the create's own script, with the record (``sending:ORIGIN``, a set of
``[namespace, api, id]``), so an acknowledged create always has a sender. The sender waits for the
first terminal state in its own process, as the memory store's does (``mockserver.callbacks``:
the clock, cancels and forced steps of every instance wake it), claims the send (``SET NX``), POSTs
once and takes the entry off its schedule.

Every instance holds a lease (``alive:ORIGIN``, ``LEASE_SECONDS``) that a light ticker renews every
``BEAT_SECONDS``, in one script that also takes over the schedule of every sender whose lease ran
out: an instance SIGKILLed (or stalled longer than the lease) loses its callbacks to a live one
within ``LEASE_SECONDS + BEAT_SECONDS``, which fetches each resource and sends when it is due (at
once, if it is past due). A closing instance drops its lease, so another takes over at its next beat.

Exactly once in normal running: one sender per entry, and the send claim is taken before the POST.
An instance that dies after claiming and before recording the outcome leaves the callback claimed:
it is not sent again (Letta sends once, with no retry); the instance that takes it over finds the
claim held by a sender without a lease and records ``callback_error`` saying it may or may not
have been sent (``claim``), so a client waiting on ``callback_*`` is not left waiting.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from functools import partial

from lifecycle.expressions import Expression, parse_expression
from mockserver.state.base import Change, StoreUnavailableError
from mockserver.state.redis_link import RedisLink
from mockserver.state.redis_resources import RedisResources
from mockserver.store import Resource

log = logging.getLogger("comeback.mock")
LEASE_SECONDS = 3.0  # an instance not heard of for this long has its callbacks taken over
BEAT_SECONDS = 1.0  # how often each instance renews its lease and looks for dead senders

# KEYS[1]: the set of senders; ARGV: this origin, the key prefix, the lease (ms), the schedule's TTL (s)
_BEAT = """
local me, prefix = ARGV[1], ARGV[2]
local mine = prefix .. 'sending:' .. me
redis.call('SET', prefix .. 'alive:' .. me, '1', 'PX', ARGV[3])
redis.call('SADD', KEYS[1], me)
local taken = {}
for _, other in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if other ~= me and redis.call('EXISTS', prefix .. 'alive:' .. other) == 0 then
    local theirs = prefix .. 'sending:' .. other
    for _, entry in ipairs(redis.call('SMEMBERS', theirs)) do
      redis.call('SADD', mine, entry)
      taken[#taken + 1] = entry
    end
    redis.call('DEL', theirs)
    redis.call('SREM', KEYS[1], other)
  end
end
if #taken > 0 then redis.call('EXPIRE', mine, ARGV[4]) end
return taken
"""

# KEYS: the claim, the resource's hash; ARGV: this origin, the claim's TTL (s), the key prefix.
# 1: claimed; 0: another (live) sender holds it; 2: its sender died before recording the outcome
_CLAIM = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return 1 end
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] and redis.call('EXISTS', ARGV[3] .. 'alive:' .. holder) == 0
    and redis.call('HEXISTS', KEYS[2], 'x:callback') == 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return 2
end
return 0
"""
ORPHANED = (
    "callback outcome not recorded: the instance sending it stopped after claiming it, "
    "so it may or may not have been sent (it is not sent twice)"
)


class CallbackSchedule:
    """This instance's part of the shared schedule: its lease, its entries, and those it takes over.
    ``tell`` hands a taken-over resource to the engine (``Change("callback", ...)``)."""

    def __init__(self, link: RedisLink, items: RedisResources, tell: Callable[[Change], None]) -> None:
        self.link = link
        self.items = items
        self.tell = tell
        prefix = link.keys.prefix
        self.senders = prefix + "senders"
        self.mine = f"{prefix}sending:{link.origin}"
        self._alive = f"{prefix}alive:{link.origin}"
        self._ttl = max(1, round(items.settings.max_age_seconds))
        self._urls: dict[str, Expression] = {}  # a callback URL as written -> parsed
        self._beat = link.client.register_script(_BEAT)  # EVALSHA, loaded again if the store forgot it
        self._claim = link.client.register_script(_CLAIM)
        self._waiting: set[bytes] = set()  # taken over, not yet handed on (the store was away)
        self._ticker: asyncio.Task[None] | None = None
        items.scheduled = self.schedule

    # -- the schedule ----------------------------------------------------------------------------
    def schedule(self, resource: Resource) -> tuple[str, bytes] | None:
        """Where the create of ``resource`` puts it on this instance's schedule (the set, the entry;
        the create's script adds it, in the same step), when its lifecycle declares a callback and
        its request names a URL; else None."""
        callback = self.items.lifecycle_of(resource.api).callback
        if callback is None:
            return None
        expression = self._urls.get(callback.url)
        if expression is None:
            expression = self._urls[callback.url] = parse_expression(callback.url)
        url = expression.evaluate(request_body=resource.request)
        return (self.mine, _entry(resource)) if isinstance(url, str) and url else None

    async def claim(self, resource: Resource) -> bool:
        """True once per resource across every process: the caller sends its callback. A claim
        whose holder died before recording the outcome is recorded as such (``ORPHANED``)."""
        key = (resource.namespace, resource.api, resource.id)
        keys = [self.link.keys.callback(*key), self.link.keys.resource(*key)]
        args = (self.link.origin, str(max(60, self._ttl)), self.link.keys.prefix)
        found = int(await self.link.run(lambda: self._claim(keys=keys, args=args)))
        if found == 2:
            log.warning("callback for %s %s: %s", resource.api, resource.id, ORPHANED)
            outcome = {"sent_at": None, "status_code": None, "error": ORPHANED}
            await self.items.put_extra(resource, "callback", outcome)
        return found == 1

    async def done(self, resource: Resource) -> None:
        """Take ``resource`` off this instance's schedule: sent, refused, claimed by another, or gone."""
        await self.link.run(lambda: self.link.client.srem(self.mine, _entry(resource)))

    # -- the lease -------------------------------------------------------------------------------
    async def open(self) -> None:
        """Hold a lease before serving (an entry is never under a sender without one), take over
        what dead senders left, and start the ticker."""
        await self.beat()
        self._ticker = asyncio.get_running_loop().create_task(self._tick())

    async def close(self) -> None:
        """Stop renewing and drop the lease: another instance takes the entries over at its next beat."""
        if self._ticker is not None:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)
            self._ticker = None
        try:
            await self.link.run(lambda: self.link.client.delete(self._alive))
        except StoreUnavailableError:
            log.warning("callback lease not dropped: the store is away (it expires by itself)")

    async def beat(self) -> None:
        """Renew the lease; take over the entries of senders whose lease ran out, and hand them on."""
        lease_ms = str(round(LEASE_SECONDS * 1000))
        args = (self.link.origin, self.link.keys.prefix, lease_ms, str(self._ttl))
        taken = await self.link.run(lambda: self._beat(keys=[self.senders], args=args))
        self._waiting.update(taken)
        for entry in list(self._waiting):
            namespace, api, resource_id = json.loads(entry)
            resource = await self.items.get(namespace, api, resource_id)
            self._waiting.discard(entry)
            if resource is None:  # deleted, reset or expired meanwhile: nothing to send
                await self.link.run(partial(self.link.client.srem, self.mine, entry))
                continue
            log.info("callback for %s %s taken over from a stopped instance", api, resource_id)
            self.tell(Change("callback", namespace, api, resource_id, resource))

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(BEAT_SECONDS)
            try:
                await self.beat()
            except StoreUnavailableError:
                continue  # the next beat tries again; the lease may run out meanwhile (see above)
            except Exception:  # a bug must not stop the lease: every later callback would be lost
                log.exception("callback schedule beat failed")


def _entry(resource: Resource) -> bytes:
    return json.dumps([resource.namespace, resource.api, resource.id], separators=(",", ":")).encode()
