"""bot/session.py re-implements aiogram's `AiohttpSession.build_form_data` for the keyboards it shares
(encoded to JSON once). A change to aiogram's method would leave ours sending what aiogram no longer
sends, with no error anywhere: these tests fail first.

If one fails after an aiogram upgrade: read aiogram's new `AiohttpSession.build_form_data` (and
`BaseSession.prepare_value`, which both call), carry the change into `DoviraSession.build_form_data`,
check that the behavioural test below still covers what changed, and only then record the new
fingerprint here and move pyproject's aiogram pin and the lock files to the new series."""

from __future__ import annotations

import ast
import hashlib
import inspect
import re
import textwrap
from typing import Any

import aiogram
import pytest
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.methods import SendDocument, SendMessage, SendPhoto, TelegramMethod
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters
from aiohttp import FormData

from bot.app import create_bot
from bot.i18n import create_i18n
from bot.keyboards import is_shared_markup, main_menu
from bot.session import DoviraSession
from bot.settings import load_settings
from tests.conftest import TOKEN

pytestmark = pytest.mark.same_on_every_backend  # its own SQLite file, or none

# What bot/session.py was checked against: the aiogram series pyproject pins, and the fingerprint of
# that series' AiohttpSession.build_form_data (its syntax tree: comments and formatting do not count).
MIRRORED_SERIES = "3.31"
MIRRORED_FINGERPRINT = "600d4d99507ed2f812f212ee795ea167507533a710e3a6fcc91216e680b3fb76"

RECHECK = (
    "aiogram's AiohttpSession.build_form_data is not the one bot/session.py mirrors "
    f"(aiogram {MIRRORED_SERIES}): see this file's docstring for what to re-check before updating "
    "MIRRORED_FINGERPRINT."
)


def fingerprint(function: Any) -> str:
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    return hashlib.sha256(ast.dump(tree).encode()).hexdigest()


def test_aiogram_is_the_series_session_py_mirrors() -> None:
    assert aiogram.__version__.startswith(MIRRORED_SERIES + "."), (
        f"aiogram {aiogram.__version__} is installed; bot/session.py mirrors {MIRRORED_SERIES}. {RECHECK}"
    )


def test_aiogram_build_form_data_is_unchanged() -> None:
    assert fingerprint(AiohttpSession.build_form_data) == MIRRORED_FINGERPRINT, RECHECK


async def fields(form: FormData) -> list[tuple[str, str | None, bytes]]:
    """The form as Telegram receives it: (name, filename, content) in a stable order, with the random
    attach:// keys of uploads renamed after the order they appear in."""
    raw: list[tuple[str, str | None, bytes]] = []
    for options, _headers, value in form._fields:
        if hasattr(value, "__aiter__"):
            content = b"".join([chunk async for chunk in value])
        else:
            content = value.encode() if isinstance(value, str) else bytes(value)
        raw.append((options["name"], options.get("filename"), content))
    keys: dict[str, str] = {}
    for name, filename, _content in raw:
        if filename is not None:
            keys[name] = f"file{len(keys)}"

    def rename(text: bytes) -> bytes:
        return re.sub(rb"attach://([\w-]+)", lambda m: b"attach://" + keys[m[1].decode()].encode(), text)

    return sorted((keys.get(name, name), filename, rename(content)) for name, filename, content in raw)


async def test_our_form_data_is_aiograms_for_shared_and_other_keyboards_and_uploads() -> None:
    bot = create_bot(load_settings(_env_file=None), TOKEN)  # the bot's own session and defaults
    session = bot.session
    assert isinstance(session, DoviraSession)
    i18n = create_i18n("uk")
    with i18n.context(), i18n.use_locale("uk"):
        shared = main_menu()
    assert is_shared_markup(shared)
    own = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="Так", callback_data="y:1")]])
    assert not is_shared_markup(own)
    photo = BufferedInputFile(b"\x89PNG fake bytes", filename="chart.png")
    sheet = BufferedInputFile(b"PK fake xlsx", filename="report.xlsx")
    methods: list[TelegramMethod[Any]] = [
        SendMessage(chat_id=1001, text="<b>Довіра</b>", reply_markup=shared),  # parse_mode: the default
        SendMessage(
            chat_id=1001,
            text="x",
            reply_markup=shared,
            disable_notification=True,
            reply_parameters=ReplyParameters(message_id=7),
        ),
        SendMessage(chat_id=1001, text="x", reply_markup=own),
        SendMessage(chat_id=1001, text="no keyboard"),
        SendPhoto(chat_id=1001, photo=photo, caption="Графік", reply_markup=shared),
        SendPhoto(chat_id=1001, photo="AgACAgIAAxkBAAIB", reply_markup=shared),  # a file_id, no upload
        SendDocument(chat_id=1001, document=sheet, caption="Звіт", reply_markup=own),
    ]
    try:
        for method in methods:
            ours = await fields(session.build_form_data(bot, method))
            aiograms = await fields(AiohttpSession.build_form_data(session, bot, method))
            assert ours == aiograms, f"{type(method).__name__}: {RECHECK}"
        # The shared keyboard was encoded once, and that is what went out each time.
        assert len(session._markup_json) == 1
    finally:
        await session.close()
