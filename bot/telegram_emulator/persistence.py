"""Keeping the fake Bot API server's chats between runs: users, chats with their messages, and files, as
JSON-ready data (`export_chats`) that a restarted server takes back (`import_chats`). The terminal driver
saves them in a file, so a restarted emulator goes on with the same chats."""

from __future__ import annotations

import base64
import copy

from bot.telegram_emulator.records import JSON
from bot.telegram_emulator.state import Chat, FileRecord, ServerState, StoredMessage


class Persistence(ServerState):
    """Export and import of the chats, so the bot can still write to, edit in and reply in them."""

    def export_chats(self) -> JSON:
        """Users, chats with their messages, and the files the bot sent, as JSON-ready data: what a
        restarted server needs so the bot can still write to, edit in and reply in the same chats."""
        return {
            "version": 1,
            "users": copy.deepcopy(list(self._users.values())),
            "chats": [self._export_chat(chat) for chat in self._chats.values()],
            "files": [self._export_file(record) for record in self._files.values()],
        }

    def import_chats(self, state: JSON) -> None:
        """Take back what ``export_chats`` gave (a user, chat or file of the same id is replaced)."""
        for user in state.get("users", []):
            self._users[int(user["id"])] = copy.deepcopy(user)
        for chat in state.get("chats", []):
            restored = self._import_chat(chat)
            self._chats[restored.id] = restored
        for record in state.get("files", []):
            restored_file = self._import_file(record)
            self._files[restored_file.file_id] = restored_file

    @staticmethod
    def _export_chat(chat: Chat) -> JSON:
        messages = [
            {
                "message_id": m.message_id,
                "from_bot": m.from_bot,
                "data": copy.deepcopy(m.data),
                "raw_text": m.raw_text,
                "parse_mode": m.parse_mode,
                "deleted": m.deleted,
            }
            for _, m in sorted(chat.messages.items())
        ]
        return {
            "id": chat.id,
            "type": chat.type,
            "data": copy.deepcopy(chat.data),
            "messages": messages,
            "last_message_id": chat.last_message_id,
            "blocked": chat.blocked,
            "reply_keyboard": copy.deepcopy(chat.reply_keyboard),
            "menu_button": copy.deepcopy(chat.menu_button),
        }

    @staticmethod
    def _import_chat(state: JSON) -> Chat:
        chat = Chat(
            id=int(state["id"]),
            type=str(state["type"]),
            data=copy.deepcopy(state["data"]),
            last_message_id=int(state.get("last_message_id", 0)),
            blocked=bool(state.get("blocked", False)),
            reply_keyboard=copy.deepcopy(state.get("reply_keyboard")),
            menu_button=copy.deepcopy(state.get("menu_button")),
        )
        for m in state.get("messages", []):
            stored = StoredMessage(
                chat_id=chat.id,
                message_id=int(m["message_id"]),
                from_bot=bool(m["from_bot"]),
                data=copy.deepcopy(m["data"]),
                raw_text=m.get("raw_text"),
                parse_mode=m.get("parse_mode"),
                deleted=bool(m.get("deleted", False)),
            )
            chat.messages[stored.message_id] = stored
        return chat

    @staticmethod
    def _export_file(record: FileRecord) -> JSON:
        return {
            "file_id": record.file_id,
            "file_unique_id": record.file_unique_id,
            "file_path": record.file_path,
            "data": base64.b64encode(record.data).decode("ascii"),
            "filename": record.filename,
            "mime_type": record.mime_type,
        }

    @staticmethod
    def _import_file(state: JSON) -> FileRecord:
        return FileRecord(
            file_id=str(state["file_id"]),
            file_unique_id=str(state["file_unique_id"]),
            file_path=str(state["file_path"]),
            data=base64.b64decode(state["data"]),
            filename=state.get("filename"),
            mime_type=state.get("mime_type"),
        )
