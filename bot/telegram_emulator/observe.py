"""Reading the fake Bot API server: what each chat shows, the calls the bot made, and the waiting helpers
(`wait_until`, `wait_for_call`, `wait_for_bot_message`, `wait_idle`) that wake on the server's own
notifier, so that tests order their steps by what happened rather than by sleeps."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable, Iterator
from typing import TypeVar

from bot.telegram_emulator.records import JSON, Call
from bot.telegram_emulator.state import ServerState, StoredMessage, update_kind
from bot.telegram_emulator.validation import buttons

T = TypeVar("T")


class Observation(ServerState):
    """What the chats show and what the bot did, and waiting for either."""

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates not yet confirmed by the bot (via ``getUpdates`` offset)."""
        return copy.deepcopy(self._updates)

    def take_updates(self) -> list[JSON]:
        """The queued updates, taken off the queue as if the bot had confirmed them: for a test that
        feeds them to a dispatcher itself instead of letting the bot poll."""
        taken, self._updates = self._updates, []
        self._changed.notify()
        return taken

    def iter_messages(
        self, chat_id: int, *, newest_first: bool = False, include_deleted: bool = False
    ) -> Iterator[StoredMessage]:
        """The chat's stored messages in the order they were posted (``newest_first``: the other way),
        read in place: not copies, so do not change them. ``chat_messages`` deep-copies the whole
        history on every call, which is quadratic for a test that reads a chat after every one of
        thousands of updates."""
        chat = self._chats.get(chat_id)
        if chat is None:
            return
        messages = chat.messages.values()
        for stored in reversed(messages) if newest_first else messages:
            if include_deleted or not stored.deleted:
                yield stored

    def chat_messages(self, chat_id: int, include_deleted: bool = False) -> list[JSON]:
        chat = self._chats.get(chat_id)
        if chat is None:
            return []
        return [
            stored.to_dict()
            for _, stored in sorted(chat.messages.items())
            if include_deleted or not stored.deleted
        ]

    def bot_messages(self, chat_id: int, include_deleted: bool = False) -> list[JSON]:
        return [m for m in self.chat_messages(chat_id, include_deleted) if m["from_bot"]]

    def get_message(self, chat_id: int, message_id: int) -> JSON | None:
        stored = self._find_message(chat_id, message_id)
        return None if stored is None else stored.to_dict()

    def last_bot_message(self, chat_id: int) -> JSON | None:
        messages = self.bot_messages(chat_id)
        return messages[-1] if messages else None

    def last_message_id(self, chat_id: int) -> int:
        """The highest message id used in the chat so far (0 when none)."""
        chat = self._chats.get(chat_id)
        return 0 if chat is None else chat.last_message_id

    def reply_keyboard(self, chat_id: int) -> list[list[str]] | None:
        """The reply keyboard currently shown in the chat, as rows of button texts."""
        chat = self._chats.get(chat_id)
        if chat is None or chat.reply_keyboard is None:
            return None
        return [
            [b["text"] if isinstance(b, dict) else str(b) for b in row]
            for row in chat.reply_keyboard.get("keyboard", [])
        ]

    def is_blocked(self, chat_id: int) -> bool:
        chat = self._chats.get(chat_id)
        return bool(chat and chat.blocked)

    def last_chat_action(self, chat_id: int) -> str | None:
        chat = self._chats.get(chat_id)
        return None if chat is None else chat.last_action

    def file_content(self, file_id: str) -> bytes | None:
        record = self._files.get(file_id)
        return None if record is None else record.data

    @staticmethod
    def buttons(message: JSON | None) -> list[tuple[str, str]]:
        return buttons(message)

    def calls_to(self, method: str) -> list[Call]:
        wanted = method.lower()
        return [call for call in self.calls if call.method.lower() == wanted]

    def clear_calls(self) -> None:
        self.calls.clear()

    def describe_recent_calls(self, count: int = 15) -> str:
        lines: list[str] = []
        interesting = [
            (index, call)
            for index, call in enumerate(self.calls)
            if not (call.method == "getUpdates" and call.ok and not call.result)
        ]
        for index, call in interesting[-count:]:
            params = {
                k: (v if not isinstance(v, str) or len(v) < 80 else v[:77] + "...")
                for k, v in call.params.items()
            }
            outcome = "ok" if call.ok else f"{call.status} {call.error}"
            lines.append(f"  #{index} {call.method} {params} -> {outcome}")
        summary = "recent calls:\n" + ("\n".join(lines) if lines else "  (none)")
        if self.dropped_updates:
            kinds = sorted({update_kind(u) for u in self.dropped_updates})
            summary += f"\n{len(self.dropped_updates)} update(s) dropped by allowed_updates: {kinds}"
        return summary

    # ---------------------------------------------------------------- waiting helpers

    @property
    def long_polls_started(self) -> int:
        """How many getUpdates calls have begun waiting, so a test can order steps by them, not by sleeps."""
        return self._poll_generation

    @property
    def long_polls_ended(self) -> int:
        """How many getUpdates calls have been answered or dropped, recorded in ``calls`` or not."""
        return self._long_polls_ended

    async def wait_until(
        self,
        condition: Callable[[], T | None],
        *,
        timeout: float = 20.0,  # noqa: ASYNC109  (a busy machine is slow, not broken)
        what: str = "condition",
    ) -> T:
        """Wait until ``condition()`` returns something truthy and return it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = condition()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {what}\n{self.describe_recent_calls()}"
                )
            await self._changed.wait(min(remaining, 0.5))

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        *,
        after: int = 0,
        timeout: float = 20.0,  # noqa: ASYNC109  (a busy machine is slow, not broken)
    ) -> Call:
        """The first call of ``method`` at index >= ``after`` in ``calls`` that matches ``predicate``."""
        wanted = method.lower()

        def find() -> Call | None:
            for call in self.calls[after:]:
                if call.method.lower() == wanted and (predicate is None or predicate(call)):
                    return call
            return None

        return await self.wait_until(find, timeout=timeout, what=f"a {method} call (after #{after})")

    async def wait_for_bot_message(
        self,
        chat_id: int,
        *,
        after_id: int = 0,
        timeout: float = 20.0,  # noqa: ASYNC109  (a busy machine is slow, not broken)
    ) -> JSON:
        """The first bot message in ``chat_id`` with id > ``after_id`` (its current state)."""

        def find() -> JSON | None:
            chat = self._chats.get(chat_id)
            if chat is None:
                return None
            for message_id in sorted(chat.messages):
                stored = chat.messages[message_id]
                if message_id > after_id and stored.from_bot:
                    return stored.to_dict()
            return None

        return await self.wait_until(
            find, timeout=timeout, what=f"a bot message in chat {chat_id} after id {after_id}"
        )

    async def wait_idle(
        self,
        *,
        quiet: float = 0.2,
        timeout: float = 20.0,  # noqa: ASYNC109  (a busy machine is slow, not broken)
    ) -> None:
        """Wait until every update was fetched and confirmed, no request is being served and no
        call or update happened for ``quiet`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            now = loop.time()
            idle_for = now - self._last_activity
            if not self._updates and self._inflight == 0 and idle_for >= quiet:
                return
            if now >= deadline:
                raise AssertionError(
                    f"server not idle after {timeout}s (pending updates: {len(self._updates)}, "
                    f"requests in flight: {self._inflight})\n{self.describe_recent_calls()}"
                )
            await self._changed.wait(min(deadline - now, max(quiet - idle_for, 0.02)))
