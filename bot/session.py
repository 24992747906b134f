"""The Bot API session: aiogram's aiohttp session, plus what Dovira needs of it.

- 429 answers are waited out (RetryAfter middleware); aiogram itself only raises.
- The fixed keyboards (built once per language, see keyboards.per_locale) are encoded to JSON once:
  encoding a keyboard on every reply cost as much as all the rest of answering /start.
- Each answer's model (`Response[Message]`, ...) is kept: pydantic caches a parametrised model only
  weakly, so after a garbage collection aiogram built it again, schema and all (a few ms each, a dozen
  times a second under a burst of new people: benchmarks/updates.py).
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import InputFile
from aiohttp import FormData

from bot.keyboards import is_shared_markup
from bot.middlewares import BestEffortCallbackAnswers, RetryAfter


class DoviraSession(AiohttpSession):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.middleware(RetryAfter())
        self.middleware(BestEffortCallbackAnswers())
        self._markup_json: dict[int, str] = {}
        self._response_models: set[type] = set()

    def check_response(self, *args: Any, **kwargs: Any) -> Any:
        response = super().check_response(*args, **kwargs)
        self._response_models.add(type(response))
        return response

    def build_form_data(self, bot: Bot, method: TelegramMethod[TelegramType]) -> FormData:
        markup = getattr(method, "reply_markup", None)
        if markup is None or not is_shared_markup(markup):
            return super().build_form_data(bot, method)
        encoded = self._markup_json.get(id(markup))
        if encoded is None:
            encoded = self.prepare_value(markup.model_dump(warnings=False), bot=bot, files={})
            self._markup_json[id(markup)] = encoded
        # The rest as aiogram's AiohttpSession.build_form_data does it, uploads included.
        form = FormData(quote_fields=False)
        files: dict[str, InputFile] = {}
        fields = method.model_dump(warnings=False, exclude={"reply_markup"}, exclude_none=True)
        for key, value in fields.items():
            prepared = self.prepare_value(value, bot=bot, files=files)
            if prepared:
                form.add_field(key, prepared)
        form.add_field("reply_markup", encoded)
        for key, file in files.items():
            form.add_field(key, file.read(bot), filename=file.filename or key)
        return form
