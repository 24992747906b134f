"""Failures injected on purpose, for tests of how the bot copes with a Bot API that misbehaves: the next
calls refused (`fail_next`), taken and never answered (`hang_next`), a bad few minutes of one status
(`fail_for`), or a seeded share of 429s (`fail_randomly`). Both ways in, HTTP and in process, apply
them before the method runs."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

from bot.telegram_emulator.records import ErrorPage, TelegramAPIError
from bot.telegram_emulator.state import ServerState


@dataclass
class _Failure:
    status: int
    description: str
    retry_after: int | None
    html: bool = False


class FaultInjection(ServerState):
    """The failure queues, and applying them to a call about to be served."""

    def _init_faults(self) -> None:
        self._hangs: dict[str, int] = {}  # method -> how many more calls to accept and never answer
        # (seconds, deadline once the first call failed, method, status, html)
        self._failing_for: tuple[float, float | None, str, int, bool] | None = None
        self._failures: dict[str, list[_Failure]] = {}
        self._random_failure: tuple[random.Random, float, frozenset[str], int] | None = None
        self.random_failures = 0  # 429s answered by fail_randomly

    async def _maybe_hang(self, method: str) -> None:
        """A call taken and never answered (a dead proxy, a lost route): the client's timeout ends it."""
        left = self._hangs.get(method.lower(), 0)
        if left > 0:
            self._hangs[method.lower()] = left - 1
            await asyncio.Event().wait()

    def _maybe_fail(self, method: str) -> None:
        self._fail_within_window(method)
        self._fail_queued(method)
        self._fail_at_random(method)

    def _fail_within_window(self, method: str) -> None:
        """``fail_for``: every matching call fails until the window that its first call opened ends."""
        if self._failing_for is None:
            return
        seconds, deadline, failing, status, html = self._failing_for
        now = asyncio.get_running_loop().time()
        if deadline is not None and now >= deadline:
            self._failing_for = None
        elif failing in (method.lower(), "*") and method != "getUpdates":
            if deadline is None:  # the bad minutes start with the first call they meet
                self._failing_for = (seconds, now + seconds, failing, status, html)
            if html:
                raise ErrorPage(status)
            raise TelegramAPIError(status, "Bad Gateway" if status == 502 else f"Error {status}")

    def _fail_queued(self, method: str) -> None:
        """``fail_next``: the method's own queue first, then the one for any method (never getUpdates)."""
        keys = (method.lower(),) if method == "getUpdates" else (method.lower(), "*")
        for key in keys:
            queue = self._failures.get(key)
            if queue:
                failure = queue.pop(0)
                if not queue:
                    del self._failures[key]
                if failure.html:
                    raise ErrorPage(failure.status)
                parameters = {"retry_after": failure.retry_after} if failure.retry_after is not None else None
                raise TelegramAPIError(failure.status, failure.description, parameters)

    def _fail_at_random(self, method: str) -> None:
        if self._random_failure is None:
            return
        rng, fraction, methods, retry_after = self._random_failure
        if method.lower() in methods and rng.random() < fraction:
            self.random_failures += 1
            raise TelegramAPIError(
                429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
            )

    # ---------------------------------------------------------------- failure injection

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int = 1,
        times: int = 1,
        description: str | None = None,
        html: bool = False,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail with ``status`` (429 carries
        ``parameters.retry_after``; 5xx give aiogram's ``TelegramServerError``). ``method`` is
        case-insensitive; ``"*"`` matches any method except ``getUpdates``. ``html``: answer with a
        proxy's HTML error page instead of the Bot API's JSON (aiogram cannot decode it)."""
        defaults = {
            400: "Bad Request: injected failure",
            401: "Unauthorized",
            403: "Forbidden: bot was blocked by the user",
            404: "Not Found",
            409: "Conflict: terminated by other getUpdates request",
            429: f"Too Many Requests: retry after {retry_after}",
            500: "Internal Server Error",
            502: "Bad Gateway",
            503: "Service Unavailable",
        }
        text = description or defaults.get(status, f"Error {status}")
        failure = _Failure(status, text, retry_after if status == 429 else None, html)
        self._failures.setdefault(method.lower(), []).extend(failure for _ in range(times))

    def hang_next(self, method: str, *, times: int = 1) -> None:
        """Accept the next ``times`` calls of ``method`` and never answer them."""
        self._hangs[method.lower()] = self._hangs.get(method.lower(), 0) + times

    def fail_for(self, seconds: float, *, method: str = "*", status: int = 502, html: bool = False) -> None:
        """Answer every call of ``method`` (``"*"``: all but getUpdates) with ``status`` for ``seconds``
        from the first such call (``html``: a proxy's error page), then recover."""
        self._failing_for = (seconds, None, method.lower(), status, html)

    def clear_failures(self) -> None:
        self._failures.clear()
        self._random_failure = None

    def fail_randomly(
        self,
        fraction: float,
        *,
        methods: tuple[str, ...] = ("sendMessage", "sendDocument", "sendPhoto"),
        retry_after: int = 1,
        seed: int = 0,
    ) -> None:
        """Answer 429 (``retry_after`` seconds) to about ``fraction`` of the calls of ``methods``,
        drawn from a generator seeded with ``seed``: the same calls, the same answers. 0 turns it off."""
        self._random_failure = (
            (random.Random(seed), fraction, frozenset(m.lower() for m in methods), retry_after)
            if fraction > 0
            else None
        )
