"""Bot API methods for how updates reach the bot: getUpdates (a long poll, one at a time: a newer poll
ends an older one with 409, as Telegram does), and setWebhook, deleteWebhook and getWebhookInfo. The
webhook's posting is the HTTP side's (http.py)."""

from __future__ import annotations

import asyncio

from bot.telegram_emulator.records import JSON, TelegramAPIError, bad
from bot.telegram_emulator.state import ServerState
from bot.telegram_emulator.validation import as_int


class UpdateMethods(ServerState):
    """getUpdates, setWebhook, deleteWebhook, getWebhookInfo."""

    async def _get_updates(self, params: JSON) -> list[JSON]:
        if self._webhook_url:
            raise TelegramAPIError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = as_int(params.get("offset")) or 0
        limit = min(100, max(1, as_int(params.get("limit")) or 100))
        timeout = params.get("timeout")
        wait = float(timeout) if isinstance(timeout, int | float) and not isinstance(timeout, bool) else 0.0
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(str(kind) for kind in allowed) or None
        self._poll_generation += 1
        generation = self._poll_generation
        self._updates_changed.notify()  # an older long poll ends with 409
        self._changed.notify()  # wakes tests waiting for this poll to begin (long_polls_started)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, wait)
        self._confirm(offset)
        while True:
            if self._closing:
                return []
            if generation != self._poll_generation:
                raise TelegramAPIError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            selected = self._select_updates(offset, limit)
            if selected:
                return selected
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            await self._updates_changed.wait(remaining)

    async def _set_webhook(self, params: JSON) -> bool:
        url = params.get("url")
        if not isinstance(url, str) or not url:
            self._webhook_url = ""
            return True
        if not url.startswith("https://"):
            raise bad("bad webhook: An HTTPS URL must be provided for webhook")
        self._webhook_url = url
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
        secret = params.get("secret_token")
        self.webhook_secret = secret if isinstance(secret, str) and secret else None
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(str(kind) for kind in allowed) or None
        self._ensure_webhook_delivery()
        self._updates_changed.notify()
        return True

    async def _delete_webhook(self, params: JSON) -> bool:
        self._webhook_url = ""
        self.webhook_secret = None
        self._updates_changed.notify()  # the delivery loop ends
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
            self._changed.notify()
        return True

    async def _get_webhook_info(self, params: JSON) -> JSON:
        info: JSON = {
            "url": self._webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self._webhook_error is not None:
            info["last_error_message"] = self._webhook_error
        if self._allowed_updates is not None:
            info["allowed_updates"] = sorted(self._allowed_updates)
        return info
