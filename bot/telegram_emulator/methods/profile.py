"""Bot API methods that describe the bot rather than send anything: getMe, the command lists, the menu
button, the descriptions and the name (each per language where Telegram keeps one per language)."""

from __future__ import annotations

import copy
import json

from bot.telegram_emulator.records import JSON, bad
from bot.telegram_emulator.state import ServerState
from bot.telegram_emulator.validation import valid_commands, validate_url


class ProfileMethods(ServerState):
    """getMe, set/get/deleteMyCommands, set/getChatMenuButton, set/getMy(Short)Description, set/getMyName."""

    async def _ok(self, params: JSON) -> bool:
        return True

    async def _get_me(self, params: JSON) -> JSON:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    @staticmethod
    def _commands_key(params: JSON) -> tuple[str, str]:
        scope = params.get("scope")
        scope_key = json.dumps(scope, sort_keys=True) if isinstance(scope, dict) else '{"type": "default"}'
        language = params.get("language_code")
        return scope_key, language if isinstance(language, str) else ""

    async def _set_my_commands(self, params: JSON) -> bool:
        self.commands[self._commands_key(params)] = valid_commands(params.get("commands"))
        return True

    async def _get_my_commands(self, params: JSON) -> list[JSON]:
        return copy.deepcopy(self.commands.get(self._commands_key(params), []))

    async def _delete_my_commands(self, params: JSON) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    async def _set_chat_menu_button(self, params: JSON) -> bool:
        button = params.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in ("commands", "web_app", "default"):
            raise bad("can't parse menu button JSON object")
        if button.get("type") == "web_app":
            web_app = button.get("web_app")
            if not isinstance(button.get("text"), str) or not isinstance(web_app, dict):
                raise bad("can't parse menu button JSON object")
            validate_url(web_app.get("url"))
        if params.get("chat_id") is None:
            self.default_menu_button = dict(button)
        else:
            self._resolve_chat(params, for_write=False).menu_button = dict(button)
        return True

    async def _get_chat_menu_button(self, params: JSON) -> JSON:
        if params.get("chat_id") is not None:
            chat = self._resolve_chat(params, for_write=False)
            if chat.menu_button is not None:
                return dict(chat.menu_button)
        return dict(self.default_menu_button)

    def _set_text_setting(self, params: JSON, key: str, limit: int) -> bool:
        value = params.get(key)
        if value is None:
            value = ""
        if not isinstance(value, str):
            value = str(value)
        if len(value) > limit:
            raise bad(f"{key} is too long")
        language = params.get("language_code")
        self.bot_descriptions[(key, language if isinstance(language, str) else "")] = value
        return True

    def _get_text_setting(self, params: JSON, key: str) -> JSON:
        language = params.get("language_code")
        lang = language if isinstance(language, str) else ""
        value = self.bot_descriptions.get((key, lang)) or self.bot_descriptions.get((key, ""), "")
        if key == "name" and not value:
            value = self.bot_first_name
        return {key: value}

    async def _set_my_description(self, params: JSON) -> bool:
        return self._set_text_setting(params, "description", 512)

    async def _get_my_description(self, params: JSON) -> JSON:
        return self._get_text_setting(params, "description")

    async def _set_my_short_description(self, params: JSON) -> bool:
        return self._set_text_setting(params, "short_description", 120)

    async def _get_my_short_description(self, params: JSON) -> JSON:
        return self._get_text_setting(params, "short_description")

    async def _set_my_name(self, params: JSON) -> bool:
        return self._set_text_setting(params, "name", 64)

    async def _get_my_name(self, params: JSON) -> JSON:
        return self._get_text_setting(params, "name")
