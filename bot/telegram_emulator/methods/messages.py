"""Bot API methods that post, change and remove messages: sendMessage, the three edits, deleteMessage(s),
copyMessage, forwardMessage, sendChatAction and answerCallbackQuery, each refusing what Telegram refuses
(unknown or blocked chats, a missing reply, an edit that changes nothing, a stale callback query...)."""

from __future__ import annotations

import copy

from bot.telegram_emulator.records import JSON, TelegramAPIError, bad
from bot.telegram_emulator.state import Chat, ServerState, StoredMessage
from bot.telegram_emulator.validation import (
    CHAT_ACTIONS,
    DELETE_WINDOW_SECONDS,
    MAX_CALLBACK_ANSWER_LENGTH,
    MAX_DELETE_MESSAGES,
    NOT_MODIFIED,
    QUERY_INVALID,
    as_int,
    caption_content,
    parse_caption,
    parse_mode_of,
    parse_text,
    required_message_id,
    validate_reply_markup,
)

# What copyMessage and forwardMessage do not take over from the source message.
_NOT_COPIED = frozenset(
    {"message_id", "from", "chat", "date", "edit_date", "reply_markup", "reply_to_message"}
)
_MEDIA_KEYS = ("photo", "document", "video", "audio", "animation", "voice")


class MessageMethods(ServerState):
    """The methods on a chat's messages, and the checks they share (the chat, the reply, the message
    an edit or a copy is about)."""

    def _reply_to(self, chat: Chat, params: JSON) -> JSON | None:
        reply = params.get("reply_parameters")
        allow_missing = bool(params.get("allow_sending_without_reply"))
        message_id: int | None
        if isinstance(reply, dict):
            message_id = as_int(reply.get("message_id"))
            allow_missing = allow_missing or bool(reply.get("allow_sending_without_reply"))
            if reply.get("chat_id") not in (None, chat.id):
                return None
        else:
            message_id = as_int(params.get("reply_to_message_id"))
        if message_id is None:
            return None
        stored = chat.messages.get(message_id)
        if stored is None or stored.deleted:
            if allow_missing:
                return None
            raise bad("message to be replied not found")
        reply_data = copy.deepcopy(stored.data)
        reply_data.pop("reply_to_message", None)
        return reply_data

    def _editable_message(self, params: JSON) -> tuple[Chat, StoredMessage]:
        if params.get("inline_message_id"):
            raise bad("MESSAGE_ID_INVALID")
        chat = self._resolve_chat(params)
        message_id = required_message_id(params, "message to edit not found")
        stored = chat.messages.get(message_id)
        if stored is None or stored.deleted:
            raise bad("message to edit not found")
        if not stored.from_bot:
            raise bad("message can't be edited")
        return chat, stored

    def _finish_edit(self, stored: StoredMessage, markup: JSON | None) -> JSON:
        if markup is None:
            stored.data.pop("reply_markup", None)
        else:
            stored.data["reply_markup"] = markup
        stored.data["edit_date"] = int(self.now())
        self._emit_bot_message(stored)
        self._changed.notify()
        return copy.deepcopy(stored.data)

    async def _send_message(self, params: JSON) -> JSON:
        chat = self._resolve_chat(params)
        text, entities = parse_text(params)
        markup = validate_reply_markup(params.get("reply_markup"))
        reply_to = self._reply_to(chat, params)
        self._check_flood(chat)
        content: JSON = {"text": text}
        if entities:
            content["entities"] = entities
        preview = params.get("link_preview_options")
        if isinstance(preview, dict) and preview:
            content["link_preview_options"] = preview
        return self._post(chat, params, content, markup, reply_to, raw_key="text")

    def _post(
        self,
        chat: Chat,
        params: JSON,
        content: JSON,
        markup: JSON | None,
        reply_to: JSON | None,
        *,
        raw_key: str,
    ) -> JSON:
        """A send method's new message stored (with what the bot wrote in `raw_key`) and answered."""
        stored = self._new_bot_message(
            chat,
            content,
            markup,
            reply_to=reply_to,
            raw_text=params.get(raw_key),
            parse_mode=parse_mode_of(params),
        )
        return copy.deepcopy(stored.data)

    async def _edit_message_text(self, params: JSON) -> JSON:
        chat, stored = self._editable_message(params)
        if "text" not in stored.data:
            raise bad("there is no text in the message to edit")
        text, entities = parse_text(params)
        return self._edit_content(chat, stored, params, ("text", "entities"), text, entities)

    async def _edit_message_caption(self, params: JSON) -> JSON:
        chat, stored = self._editable_message(params)
        if not any(key in stored.data for key in _MEDIA_KEYS):
            raise bad("there is no caption in the message to edit")
        parsed = parse_caption(params)
        caption, entities = parsed if parsed is not None else (None, [])
        return self._edit_content(chat, stored, params, ("caption", "caption_entities"), caption, entities)

    def _edit_content(
        self,
        chat: Chat,
        stored: StoredMessage,
        params: JSON,
        keys: tuple[str, str],
        value: str | None,
        entities: list[JSON],
    ) -> JSON:
        """The rest of an edit of the text or the caption (`keys`: its field and its entities' field):
        the keyboard checked, an edit that changes nothing refused as Telegram refuses it."""
        key, entities_key = keys
        markup = validate_reply_markup(params.get("reply_markup"), inline_only=True)
        if (
            stored.data.get(key) == value
            and stored.data.get(entities_key, []) == entities
            and stored.data.get("reply_markup") == markup
        ):
            raise bad(NOT_MODIFIED)
        self._check_flood(chat)
        for name, new in ((key, value), (entities_key, entities or None)):
            if new is None:
                stored.data.pop(name, None)
            else:
                stored.data[name] = new
        stored.raw_text = params.get(key)
        stored.parse_mode = parse_mode_of(params)
        return self._finish_edit(stored, markup)

    async def _edit_message_reply_markup(self, params: JSON) -> JSON:
        _chat, stored = self._editable_message(params)
        markup = validate_reply_markup(params.get("reply_markup"), inline_only=True)
        if stored.data.get("reply_markup") == markup:
            raise bad(NOT_MODIFIED)
        self._check_flood(_chat)
        return self._finish_edit(stored, markup)

    def _delete_one(self, chat: Chat, message_id: int) -> None:
        stored = chat.messages.get(message_id)
        if stored is None or stored.deleted:
            raise bad("message to delete not found")
        if self.now() - stored.date > DELETE_WINDOW_SECONDS:
            raise bad("message can't be deleted for everyone")
        if chat.type != "private" and not stored.from_bot:
            raise bad("message can't be deleted")
        stored.deleted = True
        self._emit_deleted(stored)
        self._changed.notify()

    async def _delete_message(self, params: JSON) -> bool:
        chat = self._resolve_chat(params, for_write=False)
        message_id = required_message_id(params, "message to delete not found")
        self._delete_one(chat, message_id)
        return True

    async def _delete_messages(self, params: JSON) -> bool:
        chat = self._resolve_chat(params, for_write=False)
        ids = params.get("message_ids")
        if not isinstance(ids, list) or not ids:
            raise bad("message identifiers are not specified")
        if len(ids) > MAX_DELETE_MESSAGES:
            raise bad("too many message identifiers specified")
        for raw in ids:
            message_id = as_int(raw)
            if message_id is None:
                raise bad("can't parse message identifiers")
            try:
                self._delete_one(chat, message_id)
            except TelegramAPIError:
                continue
        return True

    async def _answer_callback_query(self, params: JSON) -> bool:
        query_id = params.get("callback_query_id")
        query = self._callback_queries.get(str(query_id)) if query_id is not None else None
        if query is None or query.answered:
            raise bad(QUERY_INVALID)
        if self.callback_query_ttl is not None and self.now() - query.created > self.callback_query_ttl:
            raise bad(QUERY_INVALID)
        text = params.get("text")
        if text is not None and len(str(text)) > MAX_CALLBACK_ANSWER_LENGTH:
            raise bad("MESSAGE_TOO_LONG")
        url = params.get("url")
        if url:
            raise bad("URL_INVALID")
        query.answered = True
        query.answer = {
            "callback_query_id": query.id,
            "chat_id": query.chat_id,
            "message_id": query.message_id,
            "data": query.data,
            "text": None if text is None else str(text),
            "show_alert": bool(params.get("show_alert")),
        }
        self.callback_answers.append(dict(query.answer))
        self._emit_callback_answer(query.answer)
        return True

    async def _send_chat_action(self, params: JSON) -> bool:
        chat = self._resolve_chat(params)
        action = params.get("action")
        if action not in CHAT_ACTIONS:
            raise bad("wrong parameter action in request")
        chat.last_action = str(action)
        return True

    def _source_message(self, params: JSON, missing: str) -> StoredMessage:
        source_chat = self._resolve_chat(params, key="from_chat_id", for_write=False)
        message_id = required_message_id(params, missing)
        stored = source_chat.messages.get(message_id)
        if stored is None or stored.deleted:
            raise bad(missing)
        return stored

    async def _copy_message(self, params: JSON) -> JSON:
        chat = self._resolve_chat(params)
        source = self._source_message(params, "message to copy not found")
        content = {key: copy.deepcopy(value) for key, value in source.data.items() if key not in _NOT_COPIED}
        if "caption" in params:
            content.pop("caption", None)
            content.pop("caption_entities", None)
            content.update(caption_content(params))
        markup = validate_reply_markup(params.get("reply_markup"))
        reply_to = self._reply_to(chat, params)
        self._check_flood(chat)
        stored = self._new_bot_message(chat, content, markup, reply_to=reply_to, raw_text=source.raw_text)
        return {"message_id": stored.message_id}

    async def _forward_message(self, params: JSON) -> JSON:
        chat = self._resolve_chat(params)
        source = self._source_message(params, "message to forward not found")
        content = {key: copy.deepcopy(value) for key, value in source.data.items() if key not in _NOT_COPIED}
        sender = source.data.get("from") or self._bot_user()
        content["forward_origin"] = {"type": "user", "date": source.date, "sender_user": sender}
        self._check_flood(chat)
        stored = self._new_bot_message(chat, content, None, raw_text=source.raw_text)
        return copy.deepcopy(stored.data)
