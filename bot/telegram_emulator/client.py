"""The user's side of the fake Bot API server: what people do in Telegram, turned into the updates the
bot receives. Someone types, sends a photo, a document, a sticker or a voice note, edits a message,
presses an inline button, writes in a group, blocks or unblocks the bot; tests and the terminal driver
call these, the bot sees only the updates."""

from __future__ import annotations

import copy
import re
import secrets
from typing import Any

from bot.telegram_emulator.formatting import u16
from bot.telegram_emulator.records import JSON
from bot.telegram_emulator.state import CallbackQuery, Chat, ServerState, StoredMessage
from bot.telegram_emulator.validation import buttons, image_size


class UserSide(ServerState):
    """What a Telegram user can do; each action queues the update Telegram would send."""

    def add_user(
        self,
        user_id: int,
        *,
        first_name: str | None = None,
        language_code: str | None = None,
        username: str | None = None,
        last_name: str | None = None,
    ) -> JSON:
        """Register a user and their private chat (as if they had pressed Start) without an update."""
        user = self._user(
            user_id,
            first_name=first_name,
            language_code=language_code,
            username=username,
            last_name=last_name,
        )
        self._private_chat(user)
        return dict(user)

    def send_raw_update(self, update: JSON) -> JSON:
        """Queue an arbitrary update dict (``update_id`` is assigned when missing)."""
        update = copy.deepcopy(update)
        if "update_id" not in update:
            update = {"update_id": next(self._update_ids), **update}
        self._updates.append(update)
        self._last_activity = self._loop_time()
        self._updates_changed.notify()
        self._changed.notify()
        return update

    def _user_message(self, chat: Chat, user: JSON, fields: JSON) -> StoredMessage:
        message: JSON = {
            "message_id": chat.next_message_id(),
            "from": dict(user),
            "chat": dict(chat.data),
            "date": int(self.now()),
        }
        message.update(copy.deepcopy(fields))
        stored = StoredMessage(
            chat_id=chat.id,
            message_id=int(message["message_id"]),
            from_bot=False,
            data=message,
            raw_text=message.get("text") or message.get("caption"),
        )
        chat.messages[stored.message_id] = stored
        return stored

    def _unblock_on_write(self, chat: Chat, user: JSON) -> None:
        if chat.blocked:
            chat.blocked = False
            self._push_update("my_chat_member", self._member_change(chat, user, "kicked", "member"))

    def send_message_update(
        self,
        user_id: int,
        *,
        language_code: str | None = None,
        first_name: str | None = None,
        **message_fields: Any,
    ) -> JSON:
        """A private message from ``user_id`` with arbitrary content fields; returns the message dict.

        ``language_code`` / ``first_name``: ``None`` keeps the user's current values (a new user
        gets "uk" / "Test")."""
        user = self._user(user_id, first_name=first_name, language_code=language_code)
        chat = self._private_chat(user)
        self._unblock_on_write(chat, user)
        stored = self._user_message(chat, user, message_fields)
        self._push_update("message", stored.data)
        return copy.deepcopy(stored.data)

    def send_text(
        self,
        user_id: int,
        text: str,
        *,
        language_code: str | None = None,
        first_name: str | None = None,
        reply_to_message_id: int | None = None,
    ) -> JSON:
        """The user types ``text`` in their private chat with the bot; returns the message dict."""
        fields: JSON = {"text": text}
        entities = self._command_entities(text)
        if entities:
            fields["entities"] = entities
        if reply_to_message_id is not None:
            reply = self._find_message(user_id, reply_to_message_id)
            if reply is not None:
                fields["reply_to_message"] = copy.deepcopy(reply.data)
        return self.send_message_update(user_id, language_code=language_code, first_name=first_name, **fields)

    @staticmethod
    def _command_entities(text: str) -> list[JSON]:
        if not text.startswith("/") or len(text) < 2 or text[1].isspace():
            return []
        command = re.split(r"\s", text, maxsplit=1)[0]
        return [{"type": "bot_command", "offset": 0, "length": u16(command)}]

    def send_group_text(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        *,
        title: str = "Test Group",
        chat_type: str = "group",
        first_name: str | None = None,
        language_code: str | None = None,
    ) -> JSON:
        """A text from ``user_id`` in a group chat ``chat_id`` (created on first use)."""
        user = self._user(user_id, first_name=first_name, language_code=language_code)
        chat = self._group_chat(chat_id, title, chat_type)
        fields: JSON = {"text": text}
        entities = self._command_entities(text)
        if entities:
            fields["entities"] = entities
        stored = self._user_message(chat, user, fields)
        self._push_update("message", stored.data)
        return copy.deepcopy(stored.data)

    def send_photo(self, user_id: int, *, caption: str | None = None, content: bytes | None = None) -> JSON:
        data = content if content is not None else b"\xff\xd8\xff\xe0" + secrets.token_bytes(2048)
        fields: JSON = {"photo": self._photo_sizes(data, image_size(data))}
        if caption:
            fields["caption"] = caption
        return self.send_message_update(user_id, **fields)

    def send_document(
        self,
        user_id: int,
        *,
        filename: str = "document.txt",
        content: bytes = b"hello\n",
        mime_type: str = "text/plain",
        caption: str | None = None,
    ) -> JSON:
        record = self._register_file(content, folder="documents", filename=filename, mime_type=mime_type)
        fields: JSON = {
            "document": {
                "file_id": record.file_id,
                "file_unique_id": record.file_unique_id,
                "file_name": filename,
                "mime_type": mime_type,
                "file_size": len(content),
            }
        }
        if caption:
            fields["caption"] = caption
        return self.send_message_update(user_id, **fields)

    def send_sticker(self, user_id: int, *, emoji: str = "👍") -> JSON:
        record = self._register_file(secrets.token_bytes(512), folder="stickers", filename="sticker.webp")
        sticker = {
            "file_id": record.file_id,
            "file_unique_id": record.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "file_size": len(record.data),
        }
        return self.send_message_update(user_id, sticker=sticker)

    def send_voice(self, user_id: int, *, duration: int = 3) -> JSON:
        record = self._register_file(
            secrets.token_bytes(1024), folder="voice", filename="voice.oga", mime_type="audio/ogg"
        )
        voice = {
            "file_id": record.file_id,
            "file_unique_id": record.file_unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": len(record.data),
        }
        return self.send_message_update(user_id, voice=voice)

    def edited_message(self, user_id: int, message_id: int, new_text: str) -> JSON:
        """The user edits their own message; queues an ``edited_message`` update."""
        stored = self._find_message(user_id, message_id)
        if stored is None or stored.from_bot:
            raise ValueError(f"no user message {message_id} in chat {user_id}")
        stored.data["text"] = new_text
        stored.data["edit_date"] = int(self.now())
        entities = self._command_entities(new_text)
        if entities:
            stored.data["entities"] = entities
        else:
            stored.data.pop("entities", None)
        stored.raw_text = new_text
        self._push_update("edited_message", stored.data)
        return copy.deepcopy(stored.data)

    def press_button(
        self,
        user_id: int,
        message_id: int,
        callback_data: str,
        *,
        chat_id: int | None = None,
        first_name: str | None = None,
        language_code: str | None = None,
    ) -> str:
        """The user presses an inline button; returns the callback query id.

        The message may be anything: a deleted or never-sent id yields an ``InaccessibleMessage``,
        and ``callback_data`` is not checked against the keyboard (to simulate stale/forged presses).
        """
        user = self._user(user_id, first_name=first_name, language_code=language_code)
        target_chat = chat_id if chat_id is not None else user_id
        chat = self._chats.get(target_chat)
        if chat is None:
            chat = (
                self._private_chat(user)
                if target_chat == user_id
                else self._group_chat(target_chat, "Test Group", "group")
            )
        stored = chat.messages.get(message_id)
        message: JSON
        if stored is not None and not stored.deleted:
            message = copy.deepcopy(stored.data)
        else:
            message = {"chat": dict(chat.data), "message_id": message_id, "date": 0}
        query_id = str(4_000_000_000_000_000 + next(self._callback_ids))
        self._callback_queries[query_id] = CallbackQuery(
            id=query_id, chat_id=chat.id, message_id=message_id, data=callback_data, created=self.now()
        )
        query: JSON = {
            "id": query_id,
            "from": dict(user),
            "message": message,
            "chat_instance": str(abs(chat.id) * 7919 + 13),
            "data": callback_data,
        }
        self._push_update("callback_query", query)
        return query_id

    def click(self, user_id: int, button_text: str, *, message_id: int | None = None) -> str:
        """Press the callback button labelled ``button_text`` on ``message_id`` (default: the
        newest visible bot message that has such a button)."""
        chat = self._chats.get(user_id)
        candidates = [] if chat is None else sorted(chat.messages.values(), key=lambda m: -m.message_id)
        for stored in candidates:
            if stored.deleted or not stored.from_bot:
                continue
            if message_id is not None and stored.message_id != message_id:
                continue
            for text, data in buttons(stored.data):
                if text == button_text:
                    return self.press_button(user_id, stored.message_id, data)
        raise AssertionError(
            f"no button {button_text!r} in chat {user_id}; visible: "
            f"{[buttons(m.data) for m in candidates if m.from_bot and not m.deleted][:3]}"
        )

    def block_chat(self, chat_id: int, *, notify: bool = True) -> None:
        """The user blocks the bot: sends fail with 403; a ``my_chat_member`` update is queued."""
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._private_chat(self._user(chat_id))
        if chat.blocked:
            return
        chat.blocked = True
        if notify:
            user = self._users.get(chat_id) or self._user(chat_id)
            self._push_update("my_chat_member", self._member_change(chat, user, "member", "kicked"))

    def unblock_chat(self, chat_id: int, *, notify: bool = True) -> None:
        chat = self._chats.get(chat_id)
        if chat is None or not chat.blocked:
            return
        chat.blocked = False
        if notify:
            user = self._users.get(chat_id) or self._user(chat_id)
            self._push_update("my_chat_member", self._member_change(chat, user, "kicked", "member"))
