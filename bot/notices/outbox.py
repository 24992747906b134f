"""The outbox: every message the bot sends on its own goes through here.

Persistent (the `outbox` table) and idempotent per recipient and purpose: enqueuing the same
purpose twice is a no-op, so a job that runs again queues nothing new.

Pacing
    At most `rate` messages in any second overall (SEND_RATE_PER_S), spread evenly; a loop held up
    for a moment makes the time up afterwards at up to twice the rate, still within the second's
    cap (see RateLimiter). At most one message a second per chat, start to start, and one request
    at a time per chat; a chat waiting for its second does not hold the others back (each fetch
    takes the oldest due message of each chat, so one chat with many messages cannot fill it).
    Requests run concurrently (up to `max_in_flight`), the limiter deciding when each starts; the
    database work is batched (one fetch for many messages, the next few claimed in one commit while
    the ones before them go out, answers recorded by group commit).

Telegram's answers
    429: all sending pauses for `retry_after` (Telegram's flood limit is per bot) and the message
    goes again after it. The outbox calls the session past its middlewares to see the 429 itself:
    the app's RetryAfter middleware would wait out that one request while the others went on.
    Blocked bot or deleted chat (403) is recorded as "blocked", "chat not found" as "failed":
    neither is retried. Network errors and 5xx are retried with backoff, up to
    MAX_ATTEMPTS.

Crash semantics
    A row goes pending -> sending (claimed, committed before its request goes out) -> sent, blocked,
    failed, or back to pending (retry). Telegram has no idempotency key, so no sender can know
    whether a request cut off mid-way was delivered; what we promise:

    - A sender that is stopped or cancelled (shutdown, a task cancelled) starts nothing new, waits up
      to DRAIN_SECONDS for the requests already on the wire, records their answers and un-claims what
      it claimed but did not start. The next sender resumes: nothing repeated, nothing lost.
    - A hard crash (kill -9, power loss) leaves its claims as "sending": in doubt (claimed for the
      next twentieth of a second, on the wire, or answered but not yet recorded). A claim is a lease
      (`not_before` holds its expiry, LEASE after the claim); once it has expired a sender sends the
      message again. So after a hard crash no message is lost, those in doubt go out up to LEASE
      late, and the few that had in fact been delivered (about `rate` x request time) arrive twice
      (`benchmarks/outbox.py --hard-kill`: 2 of 2,000 at 200/s). We chose a possible duplicate over a
      possible loss: a repeated reminder is a nuisance, a missing case notice or police digest harms.
    - Two senders on one table (there should be one; tests run two) never send the same row: a claim
      takes only rows still "pending".
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter
from aiogram.methods import SendDocument, SendMessage, SendPhoto, TelegramMethod
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup
from sqlalchemy import Table, bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.notices.outgoing import Outgoing
from bot.notices.shared_rate import SharedRate
from bot.services.crypto import Cipher
from bot.telegram_text import CAPTION_LIMIT, visible_length
from db.models import OutboxMessage

log = logging.getLogger("dovira")

MAX_ATTEMPTS = 8
HOLD = timedelta(seconds=30)  # how long the loop leaves a message its handler sends itself (send_now)
CHAT_INTERVAL = 1.0  # seconds between two messages to one chat (Telegram: about 1/s per chat)
LEASE = timedelta(minutes=2)  # a claim older than this is in doubt (aiogram's request timeout is 60 s)
SAFE_LEASE_S = 90  # below it a slow request (60 s timeout, a 429's wait) may be sent again meanwhile
DRAIN_SECONDS = 5.0  # a stopping sender waits this long for the requests on the wire
FETCH = 500  # due messages fetched at a time (the oldest of each chat)
FLOOD_RETRIES = 5  # 429s in a row for one message before it goes back to the queue
CLAIM_AHEAD = 0.05  # seconds of sending claimed in one commit
STALE_FETCH = 5.0  # seconds after which the fetched messages are looked up again

OUTBOX = cast(Table, OutboxMessage.__table__)
# What a sender reads of a queued row, in _Row's order (after the id, the encrypted chat).
_ROW_COLUMNS = (
    OUTBOX.c.id,
    OUTBOX.c.recipient_enc,
    OUTBOX.c.citizen,
    OUTBOX.c.text,
    OUTBOX.c.markup,
    OUTBOX.c.document_name,
    OUTBOX.c.protect,
    OUTBOX.c.attempts,
    OUTBOX.c.document.is_not(None),
    OUTBOX.c.photo,
)


@dataclass
class OutboxStats:
    """What a sender did since it was created (benchmarks and logs read it)."""

    sent: int = 0
    blocked: int = 0
    failed: int = 0
    retried: int = 0  # network / 5xx errors, tried again later
    flood_waits: int = 0  # 429 answers
    paused_seconds: float = 0.0  # time all sending was paused by 429s (overlaps counted once)
    in_doubt: int = 0  # expired claims sent again (a hard crash left them)


@dataclass(frozen=True)
class _Row:
    id: int
    recipient: int  # the chat, decrypted from recipient_enc
    citizen: bool
    text: str
    markup: str | None
    document_name: str | None
    protect: bool
    attempts: int
    has_document: bool
    photo: str | None = None


class RateLimiter:
    """At most ceil(`rate`) starts in any one-second window: the hard cap Telegram sees. Within it,
    smooth: a token bucket at `rate` holding `burst` (by default half a second's worth: what a loop
    held up by the database or the machine may make up afterwards) and starts at least 1/(2 x rate)
    apart, so catching up runs at twice the rate at most. A pause (a 429) leaves at most one token
    and nothing accrues while paused, so sending resumes at the rate, not with a burst."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = max(1.0, burst)
        self.window_cap = max(1, math.ceil(rate))
        self.spacing = 1 / (2 * rate)
        self._tokens = self.burst
        self._last: float | None = None
        self._recent: collections.deque[float] = collections.deque()  # starts in the last second
        self._last_start = -math.inf
        self.paused_until = -math.inf

    def _refill(self, now: float) -> None:
        if self._last is None:
            self._last = now
        start = max(self._last, self.paused_until)
        if now > start:
            self._tokens = min(self.burst, self._tokens + (now - start) * self.rate)
        self._last = max(self._last, now)
        while self._recent and self._recent[0] <= now - 1.0 + 1e-9:
            self._recent.popleft()

    def delay(self, now: float) -> float:
        """Seconds until a message may start (0: now)."""
        if now < self.paused_until:
            return self.paused_until - now
        self._refill(now)
        wait = 0.0 if self._tokens >= 1 - 1e-9 else (1 - self._tokens) / self.rate
        wait = max(wait, self._last_start + self.spacing - now)
        if len(self._recent) >= self.window_cap:
            wait = max(wait, self._recent[0] + 1.0 - now)
        return wait if wait > 1e-9 else 0.0

    def take(self, now: float) -> None:
        self._refill(now)
        self._tokens -= 1
        self._last_start = now
        self._recent.append(now)

    def pause(self, now: float, seconds: float) -> float:
        """Pause everything for `seconds` from now; returns how much this added to the pause."""
        until = now + seconds
        added = max(0.0, until - max(now, self.paused_until))
        self.paused_until = max(self.paused_until, until)
        self._refill(now)
        self._tokens = min(self._tokens, 1.0)  # one may go when the pause ends, the rest at the rate
        return added


class _Recorder:
    """Group commit: answers recorded while a commit is under way go together in the next one."""

    def __init__(self, write: Callable[[list[dict[str, Any]]], Awaitable[None]]) -> None:
        self._write = write
        self._queue: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def record(self, change: dict[str, Any]) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((change, future))
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush())
        await asyncio.shield(future)

    async def _flush(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            error: Exception | None = None
            for attempt in range(3):
                try:
                    await self._write([change for change, _ in batch])
                    error = None
                    break
                except Exception as exc:  # database busy: try again shortly
                    error = exc
                    await asyncio.sleep(0.1 * (attempt + 1))
            for _, future in batch:
                if not future.done():
                    if error is None:
                        future.set_result(None)
                    else:
                        future.set_exception(error)


class Outbox:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        cipher: Cipher,
        rate: float = 25.0,
        burst: float | None = None,
        max_in_flight: int | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        timer: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_request: Callable[[int, float], None] | None = None,
        shared: SharedRate | None = None,
        lease: timedelta = LEASE,
    ) -> None:
        """`clock` stamps the table; `timer` (seconds) and `sleep` pace the sending: tests inject
        all three. `on_request(chat, time)` is called as each request starts (tests, benchmarks).
        `lease`: how long a claim holds before its message counts as in doubt (OUTBOX_LEASE_S)."""
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.lease = lease
        self._sm = sessionmaker
        # Messages can quote case codes, signal descriptions (the digest letter): encrypted at rest,
        # and the recipient is a keyed hash and an encrypted chat id (db/models.py OutboxMessage).
        self._cipher = cipher
        self.clock = clock
        self._timer = timer
        self._sleep = sleep
        self._shared = shared
        self._on_request = on_request
        self.rate = rate
        self.limiter = RateLimiter(rate, burst if burst is not None else rate / 2)
        self.max_in_flight = max_in_flight or max(4, math.ceil(rate))
        self.stats = OutboxStats()
        self._wake = asyncio.Event()
        self._chat_next: dict[int, float] = {}  # chat -> when it may get its next message
        self._busy: set[int] = set()  # chats with a request on the wire
        self._tasks: set[asyncio.Task[str]] = set()
        self._recorder = _Recorder(self._write_answers)
        self._next_lease_check = -math.inf

    # ------------------------------------------------------------------ queueing

    async def enqueue(self, messages: list[Outgoing]) -> int:
        """Queue messages; ones already queued for the same recipient and purpose are left as they are.
        Returns how many were new."""
        if not messages:
            return 0
        new = 0
        async with self._sm() as session, session.begin():
            insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
            for m in messages:
                statement = (
                    insert(OutboxMessage)
                    .values(
                        recipient_key=self._cipher.lookup_key(m.recipient),
                        recipient_enc=self._cipher.encrypt(str(m.recipient)),
                        citizen=m.citizen,
                        purpose=self._stored_purpose(m),
                        text=self._seal_text(m.text),
                        markup=m.markup.model_dump_json(exclude_none=True) if m.markup else None,
                        document_name=m.document_name,
                        document=self._seal(m.document),
                        photo=self._seal_text(m.photo) if m.photo else None,
                        protect=m.protect,
                        status="pending",
                        attempts=0,
                        not_before=self.clock(),
                        created_at=self.clock(),
                    )
                    .on_conflict_do_nothing(index_elements=["recipient_key", "purpose"])
                )
                result = await session.execute(statement)
                new += result.rowcount or 0  # type: ignore[attr-defined]
        self._wake.set()
        return new

    async def enqueue_one(self, message: Outgoing, *, hold: timedelta = HOLD) -> int | None:
        """Queue one message that its handler sends at once with `send_now`; returns its row id, or None
        when the same recipient and purpose is already queued (an update handled twice).

        The sender loop leaves it alone for `hold`: it is the handler's to send, and only if the process
        stops before that does the loop take it over."""
        insert_at = self.clock()
        async with self._sm() as session, session.begin():
            insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
            statement = (
                insert(OutboxMessage)
                .values(
                    recipient_key=self._cipher.lookup_key(message.recipient),
                    recipient_enc=self._cipher.encrypt(str(message.recipient)),
                    citizen=message.citizen,
                    purpose=self._stored_purpose(message),
                    text=self._seal_text(message.text),
                    markup=message.markup.model_dump_json(exclude_none=True) if message.markup else None,
                    photo=self._seal_text(message.photo) if message.photo else None,
                    protect=message.protect,
                    status="pending",
                    attempts=0,
                    not_before=insert_at + hold,
                    created_at=insert_at,
                )
                .on_conflict_do_nothing(index_elements=["recipient_key", "purpose"])
                .returning(OUTBOX.c.id)
            )
            row_id: int | None = await session.scalar(statement)
            return row_id

    async def send_now(self, bot: Bot, row_id: int) -> str:
        """Send one queued message now (a handler relaying a person's words), paced like the rest;
        returns "sent", "blocked", "failed", or "queued" (a failure of any shape: the sender loop tries
        again with backoff, so the caller may say it will be delivered)."""
        rows = await self._read_rows([row_id])
        if not rows:
            return "queued"  # already taken by a sender
        taken = await self._claim(rows)
        if not taken:
            return "queued"
        row = taken[0]
        self._busy.discard(row.recipient)
        try:
            outcome = await self._deliver(bot, row, await self._acquire(row.recipient))
        except Exception as exc:  # the answer could not be recorded: the lease brings it back
            log.error("outbox: an answer was not recorded (%s)", type(exc).__name__)
            return "queued"
        return outcome if outcome in ("sent", "blocked", "failed") else "queued"

    def _stored_purpose(self, message: Outgoing) -> str:
        if message.citizen:
            return "citizen:" + self._cipher.lookup_key(message.purpose)
        return message.purpose[:160]

    def _seal(self, data: bytes | None) -> bytes | None:
        if data is None:
            return data
        return self._cipher.encrypt_bytes(data)

    def _seal_text(self, text: str) -> str:
        token = self._cipher.encrypt(text)
        assert token is not None
        return "enc:" + token.decode("ascii")

    def _open_text(self, stored: str) -> str:
        if stored.startswith("enc:"):
            return self._cipher.decrypt(stored[4:].encode("ascii")) or ""
        return stored

    def _open(self, data: bytes | None) -> bytes | None:
        if data is None or self._cipher is None:
            return data
        return self._cipher.decrypt_bytes(data)

    # ------------------------------------------------------------------ sending

    async def send_due(self, bot: Bot, limit: int | None = None) -> int:
        """Send what is due now, oldest first, paced (a second message to a chat waits its turn);
        returns how many were delivered. Messages left to retry later stay queued."""
        return await self._pump(bot, None, limit)

    def wake(self) -> None:
        """Make the sender loop look at the table now (new messages, or time to stop)."""
        self._wake.set()

    async def close(self) -> None:
        """Close the shared rate's Redis client, if there is one (the process is stopping)."""
        if self._shared is not None:
            await self._shared.close()

    async def run(self, bot: Bot, stop: asyncio.Event, *, idle: float = 5.0) -> None:
        """The sender loop: wakes on new messages, otherwise every `idle` seconds. On `stop` (or when
        cancelled) it starts nothing new and settles the requests on the wire (see the docstring)."""
        while not stop.is_set():
            self._wake.clear()
            try:
                await self._pump(bot, stop, None)
            except Exception as exc:
                log.error("outbox: a sending round failed (%s)", type(exc).__name__)
            if stop.is_set():
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), idle)

    async def _pump(self, bot: Bot, stop: asyncio.Event | None, limit: int | None) -> int:
        """Send due messages until none is left (or `limit` were started, or `stop`).

        The next few messages are claimed (one commit) while the ones before them go out, so the
        database never holds the sending up; the limiter decides when each request starts."""
        pump = _Round(limit=limit, chunk_size=max(1, math.ceil(self.rate * CLAIM_AHEAD)))
        try:
            await self._expire_leases()
            while (stop is None or not stop.is_set()) and (limit is None or pump.started < limit):
                if not await self._step(bot, pump):
                    break  # nothing due, nothing on the wire
            if pump.mine:
                await asyncio.wait(set(pump.mine))
        finally:
            await self._give_back(pump)
        return pump.delivered + self._reap(pump.mine)

    async def _step(self, bot: Bot, pump: _Round) -> bool:
        """One turn of the sending loop: take in a claim, start a request, or fetch or wait for what is
        due; False when nothing is due and nothing is on the wire."""
        now = self._timer()
        if pump.claiming is None and len(pump.claimed) < pump.chunk_size:
            self._claim_ahead(pump, now)
        if pump.claiming is not None and (pump.claiming.done() or not pump.claimed):
            rows = await asyncio.shield(pump.claiming)
            pump.claiming = None
            pump.claimed.extend(rows)
            return True
        if pump.claimed:
            await self._start_next(bot, pump)
            return True
        return await self._refill_or_wait(pump, now)

    def _claim_ahead(self, pump: _Round, now: float) -> None:
        """Start claiming the next chunk of fetched rows whose chats may start now (none: nothing)."""
        wanted = pump.chunk_size if pump.limit is None else pump.limit - pump.started - len(pump.claimed)
        pick = [r for r in pump.buffer if self._chat_ready(r.recipient, now)][:wanted]
        if pick:
            taken = {r.id for r in pick}
            pump.buffer = [r for r in pump.buffer if r.id not in taken]
            self._busy.update(r.recipient for r in pick)  # reserved for these rows
            pump.claiming = asyncio.create_task(self._claim(pick))

    async def _start_next(self, bot: Bot, pump: _Round) -> None:
        """Start the oldest claimed row when a request may start (or wait for one on the wire to end)."""
        if len(self._tasks) >= self.max_in_flight:
            await self._wait_for_tasks()
        else:
            at = await self._acquire_global()  # the row stays in `claimed` meanwhile
            row = pump.claimed.popleft()
            self._launch(bot, row, at, pump.mine)
            pump.started += 1
        pump.delivered += self._reap(pump.mine)

    async def _refill_or_wait(self, pump: _Round, now: float) -> bool:
        """Nothing claimed: fetch what is due again (none fetched, the fetch stale, or every chat waiting
        past its second), or wait for a chat's turn; False when nothing is due and nothing is on the wire."""
        none_ready = not any(self._chat_ready(r.recipient, now) for r in pump.buffer)
        if (
            not pump.buffer
            or now - pump.fetched_at >= STALE_FETCH
            or (none_ready and now - pump.fetched_at >= CHAT_INTERVAL)
        ):
            pump.buffer = await self._fetch_due()
            pump.fetched_at = now
            if not pump.buffer:
                if not self._tasks:
                    return False
                await self._wait_for_tasks()
                pump.delivered += self._reap(pump.mine)
            return True
        if none_ready:
            await self._wait_for_chats(pump.buffer, now)
            pump.delivered += self._reap(pump.mine)
        return True

    async def _give_back(self, pump: _Round) -> None:
        """The round is over or stopped short (cancelled, or an error): give back what was claimed and not
        started, settle what is on the wire."""
        if pump.claiming is not None:
            with contextlib.suppress(BaseException):
                pump.claimed.extend(await asyncio.shield(pump.claiming))
        for row in pump.claimed:
            self._busy.discard(row.recipient)
        unstarted = [row.id for row in pump.claimed]
        if unstarted or any(not t.done() for t in pump.mine):
            await asyncio.shield(asyncio.create_task(self._settle(pump.mine, unstarted)))

    def _launch(self, bot: Bot, row: _Row, at: float, mine: set[asyncio.Task[str]]) -> None:
        self._busy.add(row.recipient)
        self._chat_next[row.recipient] = at + CHAT_INTERVAL
        if len(self._chat_next) > 4 * FETCH:
            self._chat_next = {c: t for c, t in self._chat_next.items() if t > at}
        task = asyncio.create_task(self._deliver(bot, row, at))
        self._tasks.add(task)
        mine.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(functools.partial(self._free_chat, row.recipient))

    def _reap(self, tasks: set[asyncio.Task[str]]) -> int:
        done = [t for t in tasks if t.done()]
        tasks.difference_update(done)
        delivered = 0
        for task in done:
            if task.cancelled():
                continue
            if task.exception() is not None:
                log.error("outbox: an answer was not recorded (%s)", type(task.exception()).__name__)
            elif task.result() == "sent":
                delivered += 1
        return delivered

    async def _settle(self, tasks: set[asyncio.Task[str]], unstarted: list[int]) -> None:
        """Wait for the requests on the wire and record them; give back claims never started."""
        if unstarted:
            with contextlib.suppress(Exception):
                await self._unclaim(unstarted)
        pending = {t for t in tasks if not t.done()}
        if pending:
            _done, late = await asyncio.wait(pending, timeout=DRAIN_SECONDS)
            for task in late:  # stays "sending": in doubt until its lease expires
                task.cancel()

    def _free_chat(self, chat: int, _task: asyncio.Task[str]) -> None:
        self._busy.discard(chat)

    def _chat_ready(self, chat: int, now: float) -> bool:
        return chat not in self._busy and self._chat_next.get(chat, -math.inf) <= now

    async def _wait_for_chats(self, buffer: list[_Row], now: float) -> None:
        """Nothing in the buffer may start now: wait until a chat's second is over or a request ends."""
        times = [self._chat_next.get(r.recipient, now) for r in buffer if r.recipient not in self._busy]
        if times:
            await self._sleep(max(0.0, min(times) - now))
        elif self._tasks:
            await self._wait_for_tasks()
        else:  # busy with another round of this sender
            await self._sleep(0.05)

    async def _wait_for_tasks(self) -> None:
        if self._tasks:
            await asyncio.wait(set(self._tasks), return_when=asyncio.FIRST_COMPLETED)

    async def _acquire_global(self) -> float:
        """Wait for a global token; returns the start time."""
        while True:
            now = self._timer()
            wait = self.limiter.delay(now)
            if wait <= 0:
                self.limiter.take(now)
                if self._shared is not None:  # other replicas' requests count too
                    await self._shared.wait_turn(self._sleep)
                return now
            await self._sleep(wait)

    async def _acquire(self, chat: int) -> float:
        """Wait for the chat's second and a global token; returns the start time."""
        while True:
            now = self._timer()
            wait = max(self.limiter.delay(now), self._chat_next.get(chat, -math.inf) - now)
            if wait <= 0:
                self.limiter.take(now)
                self._chat_next[chat] = now + CHAT_INTERVAL
                if self._shared is not None:  # other replicas' requests count too
                    await self._shared.wait_turn(self._sleep)
                return now
            await self._sleep(wait)

    async def _deliver(self, bot: Bot, row: _Row, at: float) -> str:
        """One message's requests (two when a long text goes before a document); its answer recorded."""
        outcome, retry_after = await self._request(bot, row, at)
        change: dict[str, Any] = {"b_id": row.id, "b_attempts": row.attempts + 1, "b_sent_at": None}
        now = self.clock()
        if row.citizen and outcome in ("sent", "blocked", "failed"):
            change["citizen_done"] = True  # deleted with the answer: nothing stays to pair them with a case
        if outcome == "sent":
            change.update(b_status="sent", b_sent_at=now, b_not_before=now)
            self.stats.sent += 1
        elif outcome in ("blocked", "failed"):
            change.update(b_status=outcome, b_not_before=now)
            setattr(self.stats, outcome, getattr(self.stats, outcome) + 1)
        elif outcome == "retry" and row.attempts + 1 >= MAX_ATTEMPTS:
            outcome = "failed"
            change.update(b_status="failed", b_not_before=now, citizen_done=row.citizen)
            self.stats.failed += 1
        else:
            backoff = retry_after if outcome == "paused" else min(3600.0, 2.0 ** (row.attempts + 1))
            change.update(b_status="pending", b_not_before=now + timedelta(seconds=backoff))
            self.stats.retried += outcome == "retry"
        await self._recorder.record(change)
        return outcome

    async def _request(self, bot: Bot, row: _Row, at: float) -> tuple[str, float]:
        """Send the message's requests in turn (the first starts at `at`); the outcome ("sent", "paused"
        with Telegram's wait, "blocked", "failed" or "retry") and the seconds to wait before the next try."""
        parts = await self._methods(row)
        floods = 0
        index = 0
        while index < len(parts):
            if index > 0 or floods > 0:
                at = await self._acquire(row.recipient)
            if self._on_request is not None:
                self._on_request(row.recipient, at)
            try:
                # Past the session's middlewares: its RetryAfter would wait out a 429 for this one
                # request while the others went on; the outbox pauses all its sending instead.
                await bot.session.make_request(bot, parts[index])
                index += 1
            except TelegramRetryAfter as exc:
                # Telegram's flood limit is per bot: everything waits, then this message goes again.
                floods += 1
                self.stats.flood_waits += 1
                self.stats.paused_seconds += self.limiter.pause(self._timer(), float(exc.retry_after))
                log.info("outbox: Telegram asked to wait %s s", exc.retry_after)
                if floods >= FLOOD_RETRIES:
                    return "paused", float(exc.retry_after)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                return _refused(exc), 0.0
        return "sent", 0.0

    async def _methods(self, row: _Row) -> list[TelegramMethod[Any]]:
        """The requests that send one queued message, in order."""
        text = self._open_text(row.text)
        markup = InlineKeyboardMarkup.model_validate(json.loads(row.markup)) if row.markup else None
        if row.has_document:
            document = self._open(await self._document(row.id)) or b""
            return _document_methods(row, text, markup, document)
        if row.photo:
            return _photo_methods(row, text, markup, self._open_text(row.photo))
        message = SendMessage(
            chat_id=row.recipient, text=text, reply_markup=markup, protect_content=row.protect
        )
        return [message]

    # ------------------------------------------------------------------ the table

    async def _fetch_due(self) -> list[_Row]:
        """The oldest due message of each chat, oldest first (one chat cannot fill the fetch)."""
        now = self.clock()
        position = func.row_number().over(partition_by=OUTBOX.c.recipient_key, order_by=OUTBOX.c.id)
        due = (
            select(OUTBOX.c.id, position.label("position"))
            .where(OUTBOX.c.status == "pending", OUTBOX.c.not_before <= now)
            .subquery()
        )
        statement = (
            select(*_ROW_COLUMNS)
            .join(due, due.c.id == OUTBOX.c.id)
            .where(due.c.position == 1)
            .order_by(OUTBOX.c.id)
            .limit(FETCH)
        )
        async with self._sm() as session:
            rows = (await session.execute(statement)).all()
        return [self._row(row) for row in rows]

    async def _read_rows(self, ids: list[int]) -> list[_Row]:
        """Queued rows by id, still pending (whatever their time)."""
        statement = select(*_ROW_COLUMNS).where(OUTBOX.c.id.in_(ids), OUTBOX.c.status == "pending")
        async with self._sm() as session:
            rows = (await session.execute(statement)).all()
        return [self._row(row) for row in rows]

    def _row(self, row: Any) -> _Row:
        return _Row(row[0], self._chat(row[1]), *row[2:])

    def recipient_of(self, row: OutboxMessage) -> int:
        """The chat a queued row goes to (the table holds it only encrypted)."""
        return self._chat(row.recipient_enc)

    def _chat(self, sealed: bytes) -> int:
        chat = self._cipher.decrypt(sealed)
        return int(chat) if chat else 0  # 0: unreadable (a wrong key): Telegram refuses it, "failed"

    async def _document(self, message_id: int) -> bytes | None:
        async with self._sm() as session:
            data: bytes | None = await session.scalar(
                select(OUTBOX.c.document).where(OUTBOX.c.id == message_id)
            )
            return data

    async def _claim(self, rows: list[_Row]) -> list[_Row]:
        """Mark messages "sending" (committed before their requests go out); returns the rows taken."""
        try:
            async with self._sm() as session, session.begin():
                result = await session.execute(
                    update(OUTBOX)
                    .where(OUTBOX.c.id.in_([r.id for r in rows]), OUTBOX.c.status == "pending")
                    .values(status="sending", not_before=self.clock() + self.lease)
                    .returning(OUTBOX.c.id)
                )
                taken = set(result.scalars().all())
        except BaseException:
            for row in rows:
                self._busy.discard(row.recipient)
            raise
        for row in rows:
            if row.id not in taken:  # another sender took it
                self._busy.discard(row.recipient)
        return [row for row in rows if row.id in taken]

    async def _unclaim(self, ids: list[int]) -> None:
        async with self._sm() as session, session.begin():
            await session.execute(
                update(OUTBOX)
                .where(OUTBOX.c.id.in_(ids), OUTBOX.c.status == "sending")
                .values(status="pending", not_before=self.clock())
            )

    async def _write_answers(self, changes: list[dict[str, Any]]) -> None:
        statement = (
            update(OUTBOX)
            .where(OUTBOX.c.id == bindparam("b_id"))
            .values(
                status=bindparam("b_status"),
                attempts=bindparam("b_attempts"),
                not_before=bindparam("b_not_before"),
                sent_at=bindparam("b_sent_at"),
            )
        )
        done = [c["b_id"] for c in changes if c.get("citizen_done")]
        rows = [{k: v for k, v in c.items() if k != "citizen_done"} for c in changes]
        async with self._sm() as session, session.begin():
            await (await session.connection()).execute(statement, rows)
            if done:
                await session.execute(delete(OUTBOX).where(OUTBOX.c.id.in_(done)))

    async def _expire_leases(self) -> None:
        """Claims a dead sender left (a hard crash) are in doubt once their lease expires: sent again."""
        now = self._timer()
        if now < self._next_lease_check:
            return
        self._next_lease_check = now + self.lease.total_seconds() / 4
        async with self._sm() as session, session.begin():
            result = await session.execute(
                update(OUTBOX)
                .where(OUTBOX.c.status == "sending", OUTBOX.c.not_before <= self.clock())
                .values(status="pending", not_before=self.clock())
            )
            count = result.rowcount or 0  # type: ignore[attr-defined]
        if count:
            self.stats.in_doubt += count
            log.warning("outbox: %d message(s) in doubt after a crash will be sent again", count)

    async def purge(self, older_than: timedelta = timedelta(days=7)) -> int:
        """Delivered (or given-up) messages are deleted after a week: nothing needs them then."""
        async with self._sm() as session, session.begin():
            result = await session.execute(
                delete(OUTBOX).where(
                    OUTBOX.c.status.in_(("sent", "blocked", "failed")),
                    OUTBOX.c.created_at < self.clock() - older_than,
                )
            )
            return result.rowcount or 0  # type: ignore[attr-defined]


@dataclass
class _Round:
    """What one sending round (one Outbox._pump) holds between its steps."""

    limit: int | None  # requests to start at most (None: until nothing is due)
    chunk_size: int  # rows claimed in one commit
    mine: set[asyncio.Task[str]] = field(default_factory=set)  # this round's requests on the wire
    claimed: collections.deque[_Row] = field(default_factory=collections.deque)  # "sending", not started
    claiming: asyncio.Task[list[_Row]] | None = None  # the claim's commit under way
    buffer: list[_Row] = field(default_factory=list)  # fetched due rows, not yet claimed
    fetched_at: float = -math.inf
    delivered: int = 0
    started: int = 0


def _refused(exc: Exception) -> str:
    """The outcome of a request Telegram or the network refused (not a 429)."""
    if isinstance(exc, TelegramForbiddenError):
        return "blocked"  # blocked the bot or deleted the chat: do not retry forever
    if isinstance(exc, TelegramBadRequest):
        return "failed" if "chat not found" in str(exc) else "retry"
    log.warning("outbox: sending failed (%s)", type(exc).__name__)  # network and 5xx: try again later
    return "retry"


def _document_methods(
    row: _Row, text: str, markup: InlineKeyboardMarkup | None, document: bytes
) -> list[TelegramMethod[Any]]:
    parts: list[TelegramMethod[Any]] = []
    # A caption holds 1024 characters: a longer text goes first as a message of its own.
    caption = text if visible_length(text) <= CAPTION_LIMIT else None
    if caption is None:
        parts.append(SendMessage(chat_id=row.recipient, text=text, protect_content=row.protect))
    parts.append(
        SendDocument(
            chat_id=row.recipient,
            document=BufferedInputFile(document, row.document_name or "file"),
            caption=caption,
            reply_markup=markup,
            protect_content=row.protect,
        )
    )
    return parts


def _photo_methods(
    row: _Row, text: str, markup: InlineKeyboardMarkup | None, photo: str
) -> list[TelegramMethod[Any]]:
    if visible_length(text) <= CAPTION_LIMIT:
        return [
            SendPhoto(
                chat_id=row.recipient,
                photo=photo,
                caption=text,
                reply_markup=markup,
                protect_content=row.protect,
            )
        ]
    # A caption holds 1,024 characters: the photo first, then the whole text.
    return [
        SendPhoto(chat_id=row.recipient, photo=photo, protect_content=row.protect),
        SendMessage(chat_id=row.recipient, text=text, reply_markup=markup, protect_content=row.protect),
    ]
