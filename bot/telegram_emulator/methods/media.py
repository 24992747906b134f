"""Bot API methods for files: sendPhoto and sendDocument (an upload, a known file_id or an HTTP URL; sizes
and image formats checked as Telegram checks them) and getFile."""

from __future__ import annotations

import mimetypes

from bot.telegram_emulator.methods.messages import MessageMethods
from bot.telegram_emulator.records import JSON, TelegramAPIError, UploadedFile, bad
from bot.telegram_emulator.state import FileRecord
from bot.telegram_emulator.validation import (
    MAX_DOCUMENT_BYTES,
    MAX_PHOTO_BYTES,
    caption_content,
    image_size,
    validate_reply_markup,
)


class MediaMethods(MessageMethods):
    """sendPhoto, sendDocument and getFile."""

    def _media_file(
        self, params: JSON, key: str, max_bytes: int
    ) -> tuple[FileRecord | None, UploadedFile | None]:
        value = params.get(key)
        if value is None or value == "":
            raise bad(f"there is no {key} in the request")
        if isinstance(value, UploadedFile):
            if value.size == 0:
                raise bad("file must be non-empty")
            if value.size > max_bytes:
                raise TelegramAPIError(413, "Request Entity Too Large")
            return None, value
        if isinstance(value, str):
            record = self._files.get(value)
            if record is not None:
                return record, None
            if value.startswith(("http://", "https://")):
                return None, UploadedFile(key, value.rsplit("/", 1)[-1] or key, "", b"")
            raise bad("wrong file identifier/HTTP URL specified")
        raise bad(f"there is no {key} in the request")

    async def _send_photo(self, params: JSON) -> JSON:
        chat = self._resolve_chat(params)
        record, upload = self._media_file(params, "photo", MAX_PHOTO_BYTES)
        content = caption_content(params)
        markup = validate_reply_markup(params.get("reply_markup"))
        if record is not None:
            sizes = self._photo_sizes(record.data, image_size(record.data))
        else:
            assert upload is not None
            dimensions = image_size(upload.data) if upload.data else (800, 600)
            if dimensions is None:
                raise bad("IMAGE_PROCESS_FAILED")
            sizes = self._photo_sizes(upload.data, dimensions)
        reply_to = self._reply_to(chat, params)
        self._check_flood(chat)
        content["photo"] = sizes
        return self._post(chat, params, content, markup, reply_to, raw_key="caption")

    async def _send_document(self, params: JSON) -> JSON:
        chat = self._resolve_chat(params)
        record, upload = self._media_file(params, "document", MAX_DOCUMENT_BYTES)
        content = caption_content(params)
        markup = validate_reply_markup(params.get("reply_markup"))
        if record is None:
            assert upload is not None
            guessed = mimetypes.guess_type(upload.filename)[0]
            mime = guessed or upload.content_type or "application/octet-stream"
            record = self._register_file(
                upload.data, folder="documents", filename=upload.filename, mime_type=mime
            )
        reply_to = self._reply_to(chat, params)
        self._check_flood(chat)
        document: JSON = {
            "file_id": record.file_id,
            "file_unique_id": record.file_unique_id,
            "file_size": len(record.data),
        }
        if record.filename:
            document["file_name"] = record.filename
        if record.mime_type:
            document["mime_type"] = record.mime_type
        content["document"] = document
        return self._post(chat, params, content, markup, reply_to, raw_key="caption")

    async def _get_file(self, params: JSON) -> JSON:
        file_id = params.get("file_id")
        record = self._files.get(str(file_id)) if file_id else None
        if record is None:
            raise bad("wrong file_id or the file is temporarily unavailable")
        return {
            "file_id": record.file_id,
            "file_unique_id": record.file_unique_id,
            "file_size": len(record.data),
            "file_path": record.file_path,
        }
