"""The connection to a shared Redis: bounded calls, health, and the pub/sub listener.

Every call to the store goes through ``RedisLink.run`` with a deadline (``CALL_SECONDS``): a store
that is gone or stalls becomes ``StoreUnavailableError`` within that time (the endpoints answer 503 in
the vendor's error shape), never a hang or a 500. The client's own retries are off, so the deadline
is the only wait. The link stays usable: the next call tries again, so the mock recovers by itself
when the store returns.

A burst is not an outage: at most ``POOL_SIZE`` calls are on the wire at once (one connection each,
the pool never asked for more, so it never refuses one), and the others wait their turn in this
process's own queue, however long it is, up to ``QUEUE_LIMIT`` waiting calls. The deadline starts
when a call has its connection; a waiting call gives up only when the store failed meanwhile (a call
on the wire timed out or lost its connection), so while the store stalls every caller still hears
503 within about one deadline.

Instances tell each other what changed over one pub/sub channel per key prefix. The listener task
reconnects with a growing pause (``BACKOFF``) when the store goes away; messages published while
it was away are lost, so after each reconnect it calls ``on_reconnect`` (the store drops every
cached record and wakes its waiters, which then read afresh).

Key layout (``prefix`` is ``comeback:`` unless told otherwise; ``{ns}`` the namespace, braced so a
Redis Cluster would keep a namespace in one slot)::

    comeback:{ns}:r:API:ID       hash: "record" (immutable, written at create) and the mutable fields
    comeback:{ns}:c:API:ID       list of its commands (JSON, state.replay), in the order received
    comeback:{ns}:reads:API:ID   hash: history entry -> reads counted (only for after_reads scenarios)
    comeback:{ns}:index          sorted set of "API:ID" by creation time (listings, the dashboard)
    comeback:{ns}:clock          the manual clock's offset in seconds (INCRBYFLOAT)
    comeback:{ns}:journal        capped list of journal entries, newest first (LPUSH + LTRIM)
    comeback:{ns}:queue:API      queued scenario names; comeback:{ns}:defaults: api -> chosen default
    comeback:{ns}:v:API:KEY      a vendor value with its TTL (Chatzy's conversations and tokens);
                                 KEY:used is set once (SET NX) when a single-use token is taken
    comeback:{ns}:callback:API:ID  the claim of a callback (SET NX): sent once by one instance
    comeback:sending:ORIGIN      the callbacks an instance is to send; comeback:alive:ORIGIN its
                                 lease; comeback:senders the instances (state.redis_callbacks)
    comeback:clock-start         the clock's shared reading at offset 0 (SET NX by the first process)
    comeback:uploads, comeback:uploads-list   uploaded scenarios (global) and their order
    comeback:salt                INCR: each process's own salt for the ids it mints
    comeback:events              the pub/sub channel
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from mockserver.state.base import StoreUnavailableError
from mockserver.state.store_url import RedisLocation

if TYPE_CHECKING:
    import redis.asyncio

log = logging.getLogger("comeback.mock")
CALL_SECONDS = 2.0  # one store call (a round trip or a pipeline) waits at most this long
POOL_SIZE = 32  # calls on the wire at once per process; the pool has these and the listener's connection
QUEUE_LIMIT = 10_000  # calls waiting for a connection; one more is refused at once (503)
BACKOFF = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0)  # the listener's pauses between reconnects, then 2 s each
PREFIX = "comeback:"
Message = dict[str, Any]


class Keys:
    """The store's key names for one prefix (see the module docstring)."""

    def __init__(self, prefix: str = PREFIX) -> None:
        self.prefix = prefix
        self.channel = f"{prefix}events"

    def space(self, namespace: str) -> str:
        return f"{self.prefix}{{{namespace}}}:"

    def resource(self, namespace: str, api: str, resource_id: str) -> str:
        return f"{self.space(namespace)}r:{api}:{resource_id}"

    def commands(self, namespace: str, api: str, resource_id: str) -> str:
        return f"{self.space(namespace)}c:{api}:{resource_id}"

    def reads(self, namespace: str, api: str, resource_id: str) -> str:
        return f"{self.space(namespace)}reads:{api}:{resource_id}"

    def index(self, namespace: str) -> str:
        return f"{self.space(namespace)}index"

    def clock(self, namespace: str) -> str:
        return f"{self.space(namespace)}clock"

    def journal(self, namespace: str) -> str:
        return f"{self.space(namespace)}journal"

    def callback(self, namespace: str, api: str, resource_id: str) -> str:
        return f"{self.space(namespace)}callback:{api}:{resource_id}"


class RedisLink:
    """One client (a connection pool) to the store, the listener task, and whether the store answers."""

    def __init__(
        self,
        location: RedisLocation,
        on_message: Callable[[Message], None],
        on_reconnect: Callable[[], None],
        *,
        prefix: str = PREFIX,
        call_seconds: float = CALL_SECONDS,
        pool_size: int = POOL_SIZE,
        queue_limit: int = QUEUE_LIMIT,
    ) -> None:
        import redis.asyncio  # noqa: PLC0415  (only a Redis store imports the client)
        from redis.asyncio.retry import Retry  # noqa: PLC0415
        from redis.backoff import NoBackoff  # noqa: PLC0415

        self.location = location
        self.keys = Keys(prefix)
        self.call_seconds = call_seconds
        self.origin = uuid.uuid4().hex  # this instance, in the messages it publishes
        self._own = f'{{"origin":"{self.origin}"'.encode()  # how this instance's messages begin
        self.healthy = True
        self.problem = ""  # why the last call failed (in the 503's message)
        self._on_message = on_message
        self._on_reconnect = on_reconnect
        # the store is away or too slow; other errors (a refused command) are the mock's bugs: a 500
        self._errors = (redis.ConnectionError, redis.TimeoutError, OSError, TimeoutError)
        options = location.client_options(call_seconds)
        # no socket timeout of the client's own: ``run``'s deadline bounds every call (and cancels it,
        # which closes that connection); the client would wrap every send in a task of wait_for
        options["socket_timeout"] = None
        self.client: redis.asyncio.Redis = redis.asyncio.Redis(
            **options,
            retry=Retry(NoBackoff(), 0),  # our deadline is the only wait; the next call tries again
            decode_responses=False,
            max_connections=pool_size + 2,  # the calls' own, the listener's and one spare
        )
        self.queue_limit = queue_limit
        self.calls = 0  # calls made (each one round trip: a command or a pipeline), for the bench and tests
        self._turns = asyncio.Semaphore(pool_size)
        self._waiting = 0  # calls waiting for a turn
        self._failures = 0  # calls the store failed so far (a waiting call gives up when this moves)
        self._listener: asyncio.Task[None] | None = None
        self.subscribed = asyncio.Event()  # set while the listener is subscribed (tests wait on it)

    # -- calls ----------------------------------------------------------------------------------------
    async def run(self, call: Callable[[], Awaitable[Any]]) -> Any:
        """``call()`` within the deadline once it has a connection; ``StoreUnavailableError`` when the
        store fails or is too slow (a call cut short closes its own connection, never the others')."""
        if self._turns.locked():
            await self._wait_turn()
        else:
            await self._turns.acquire()  # free: no suspension
        self.calls += 1
        try:
            async with asyncio.timeout(self.call_seconds):
                result = await call()
        except self._errors as error:
            self._failed(error)
            raise StoreUnavailableError(self.unavailable_message()) from None
        finally:
            self._turns.release()
        if not self.healthy:
            log.warning("the store %s answers again", self.location.shown)
        self.healthy = True
        return result

    async def _wait_turn(self) -> None:
        """Wait in this process's queue for a connection; give up only if the store fails meanwhile."""
        if self._waiting >= self.queue_limit:
            raise StoreUnavailableError(
                f"the mock's shared store {self.location.shown} is busy: {self._waiting} calls are "
                "waiting for it in this process; retry in a moment"
            )
        seen = self._failures
        self._waiting += 1
        try:
            await self._turns.acquire()
        finally:
            self._waiting -= 1
        if self._failures != seen:  # the calls ahead of this one met a store that is away or stalled
            self._turns.release()
            raise StoreUnavailableError(self.unavailable_message())

    def message(self, message: Message) -> bytes:
        """``message`` as published: JSON with this instance's ``origin`` first, so the listener drops
        its own messages by their first bytes, without parsing them."""
        return json.dumps({"origin": self.origin, **message}, separators=(",", ":")).encode()

    async def publish(self, message: Message) -> None:
        """Tell every other instance what changed."""
        payload = self.message(message)
        await self.run(lambda: self.client.publish(self.keys.channel, payload))

    def unavailable_message(self) -> str:
        return (
            f"the mock's shared store {self.location.shown} is not answering ({self.problem}); "
            "retry once it is back"
        )

    def _failed(self, error: BaseException) -> None:
        reason = str(error) or type(error).__name__
        if isinstance(error, TimeoutError):
            reason = f"no answer within {self.call_seconds:g} s"
        if self.healthy:
            log.warning("the store %s does not answer: %s", self.location.shown, reason)
        self.healthy = False
        self._failures += 1
        self.problem = reason[:200]

    # -- the listener ---------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the listener on the running loop (the app's lifespan calls this)."""
        if self._listener is None:
            self._listener = asyncio.get_running_loop().create_task(self._listen())

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        await self.client.aclose()

    async def _listen(self) -> None:
        failures = 0
        while True:
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            try:
                async with asyncio.timeout(self.call_seconds):
                    await pubsub.subscribe(self.keys.channel)
                if failures:
                    log.warning("the store %s answers again; cached state dropped", self.location.shown)
                    self.healthy = True
                    self._on_reconnect()
                failures = 0
                self.subscribed.set()
                while True:  # a bounded wait per message: every client version returns None then
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None and message.get("type") == "message":
                        self._deliver(message["data"])
            except asyncio.CancelledError:
                raise
            except self._errors as error:
                self.subscribed.clear()
                self._failed(error)
                pause = BACKOFF[min(failures, len(BACKOFF) - 1)]
                failures += 1
                await asyncio.sleep(pause)
            finally:
                await _quietly(pubsub.aclose())

    def _deliver(self, data: bytes) -> None:
        if data.startswith(self._own):
            return  # this instance's own change: its engine has woken its waiters already
        try:
            message = json.loads(data)
            if isinstance(message, dict):
                self._on_message(message)
        except Exception:  # one bad message (or a bug in a handler) must not stop the listener
            log.exception("store message not handled: %r", data[:200])


async def _quietly(closing: Awaitable[Any]) -> None:
    try:
        async with asyncio.timeout(0.5):
            await closing
    except Exception:  # closing a broken connection may fail in many ways; it is gone either way
        return
