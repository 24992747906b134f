"""The fake Bot API server answers a real aiogram Bot the way Telegram does."""

from __future__ import annotations

import asyncio
import json
import struct
import zlib
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio
from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.filters import CommandStart
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    CallbackQuery,
    InaccessibleMessage,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from bot.telegram_emulator import Call, FakeTelegramServer, InProcessSession, UploadedFile, buttons

pytestmark = [pytest.mark.asyncio, pytest.mark.same_on_every_backend]  # no database at all

USER = 1001


class Clock:
    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.value = start

    def __call__(self) -> float:
        return self.value


@pytest_asyncio.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer() as fake:
        yield fake


@pytest_asyncio.fixture
async def bot(server: FakeTelegramServer) -> AsyncIterator[Bot]:
    client = server.create_bot()
    try:
        yield client
    finally:
        await client.session.close()


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=text, callback_data=data)] for text, data in pairs]
    )


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 3, 2, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" + b"\xff\x00\x00" * 3 + b"\x00" + b"\x00\xff\x00" * 3)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


async def test_get_me_with_a_plain_aiogram_session(server: FakeTelegramServer) -> None:
    bot = Bot("42:TEST", session=AiohttpSession(api=TelegramAPIServer.from_base(server.base_url)))
    try:
        me = await bot.get_me()
    finally:
        await bot.session.close()
    assert me.id == 42
    assert me.is_bot
    assert me.username == "dovira_test_bot"
    assert server.calls_to("getMe")[0].ok


async def test_unknown_token_and_unknown_method(server: FakeTelegramServer) -> None:
    other = Bot("43:WRONG", session=server.create_bot().session)
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await other.get_me()
    finally:
        await other.session.close()
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{server.base_url}/bot{server.token}/noSuchMethod") as resp:
            assert resp.status == 404
            body = await resp.json()
    assert body == {"ok": False, "error_code": 404, "description": "Not Found: method not found"}


async def test_send_to_unknown_chat_fails(bot: Bot, server: FakeTelegramServer) -> None:
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(USER, "hello")
    call = server.calls_to("sendMessage")[0]
    assert call.status == 400
    assert call.response == {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}


async def test_send_after_user_wrote_is_recorded(bot: Bot, server: FakeTelegramServer) -> None:
    user_message = server.send_text(USER, "/start")
    assert user_message["message_id"] == 1
    assert user_message["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    sent = await bot.send_message(USER, "Вітаю!", reply_markup=keyboard(("Так", "yes")))
    assert isinstance(sent, Message)
    assert sent.message_id == 2  # one counter per chat, shared with the user's messages
    assert sent.chat.id == USER
    assert sent.from_user is not None and sent.from_user.is_bot
    call = server.calls_to("sendMessage")[-1]
    assert call.params["chat_id"] == USER
    assert call.params["text"] == "Вітаю!"
    assert call.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "yes"
    last = server.last_bot_message(USER)
    assert last is not None and last["text"] == "Вітаю!"
    assert buttons(last) == [("Так", "yes")]
    assert [m["from_bot"] for m in server.chat_messages(USER)] == [False, True]


async def test_text_length_limits(bot: Bot, server: FakeTelegramServer) -> None:
    server.send_text(USER, "hi")
    await bot.send_message(USER, "a" * 4096)
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(USER, "a" * 4097)
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(USER, "")
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(USER, "  \n ")


async def test_html_is_parsed_before_counting(bot: Bot, server: FakeTelegramServer) -> None:
    server.send_text(USER, "hi")
    sent = await bot.send_message(USER, "<b>" + "a" * 4095 + "</b>&lt;", parse_mode="HTML")
    assert sent.text is not None and len(sent.text) == 4096 and sent.text.endswith("<")
    assert sent.entities is not None and sent.entities[0].type == "bold"
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(USER, "<i>" + "a" * 4097 + "</i>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="can't parse entities: Can't find end tag"):
        await bot.send_message(USER, "<b>unclosed", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match='Unsupported start tag "br"'):
        await bot.send_message(USER, "line<br>line", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(USER, "1 < 2", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="Unmatched end tag"):
        await bot.send_message(USER, "<b><i>x</b></i>", parse_mode="HTML")
    link = await bot.send_message(USER, '<a href="https://example.org">site</a>', parse_mode="HTML")
    assert link.entities is not None and link.entities[0].url == "https://example.org"


async def test_markdown_v2_reserved_characters(bot: Bot, server: FakeTelegramServer) -> None:
    server.send_text(USER, "hi")
    with pytest.raises(TelegramBadRequest, match=r"Character '\.' is reserved"):
        await bot.send_message(USER, "Done.", parse_mode="MarkdownV2")
    sent = await bot.send_message(USER, "*Done*\\.", parse_mode="MarkdownV2")
    assert sent.text == "Done."
    assert sent.entities is not None and sent.entities[0].type == "bold"


async def test_keyboard_limits(bot: Bot, server: FakeTelegramServer) -> None:
    server.send_text(USER, "hi")
    await bot.send_message(USER, "ok", reply_markup=keyboard(("x", "d" * 64)))
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(USER, "bad", reply_markup=keyboard(("x", "d" * 65)))
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(USER, "bad", reply_markup=keyboard(("x", "ї" * 33)))  # 66 bytes
    hundred = [(str(i), str(i)) for i in range(100)]
    await bot.send_message(USER, "ok", reply_markup=keyboard(*hundred))
    with pytest.raises(TelegramBadRequest, match="reply markup is too long"):
        await bot.send_message(USER, "bad", reply_markup=keyboard(*hundred, ("one more", "101")))


async def test_injected_failures(bot: Bot, server: FakeTelegramServer) -> None:
    server.send_text(USER, "hi")
    server.fail_next("sendMessage", retry_after=7)
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(USER, "x")
    assert caught.value.retry_after == 7
    assert server.calls_to("sendMessage")[-1].response == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 7",
        "parameters": {"retry_after": 7},
    }
    await bot.send_message(USER, "x")  # only the next call failed
    server.fail_next("sendmessage", status=502)
    with pytest.raises(TelegramServerError):
        await bot.send_message(USER, "x")


async def test_flood_control() -> None:
    async with FakeTelegramServer(flood_control=True, flood_chat_burst=2) as server:
        client = server.create_bot()
        try:
            server.send_text(USER, "hi")
            await client.send_message(USER, "1")
            await client.send_message(USER, "2")
            with pytest.raises(TelegramRetryAfter) as caught:
                await client.send_message(USER, "3")
            assert caught.value.retry_after >= 1
        finally:
            await client.session.close()


async def test_long_polling_and_offset(bot: Bot, server: FakeTelegramServer) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await server.wait_until(lambda: server.long_polls_started == 1, what="the long poll to begin")
    assert not poll.done()
    server.send_text(USER, "hello")
    updates = await asyncio.wait_for(poll, 2)
    assert len(updates) == 1
    first = updates[0]
    assert first.message is not None and first.message.text == "hello"
    again = await bot.get_updates()  # not confirmed yet
    assert [u.update_id for u in again] == [first.update_id]
    server.send_text(USER, "second")
    confirmed = await bot.get_updates(offset=first.update_id + 1)
    assert [u.message.text for u in confirmed if u.message] == ["second"]
    assert await bot.get_updates(offset=confirmed[-1].update_id + 1, timeout=0) == []
    assert server.pending_updates == []


async def test_allowed_updates_and_limit(bot: Bot, server: FakeTelegramServer) -> None:
    for i in range(3):
        server.send_text(USER, f"m{i}")
    assert len(await bot.get_updates(limit=2)) == 2
    server.press_button(USER, 1, "x")
    updates = await bot.get_updates(allowed_updates=["callback_query"])
    assert [u.callback_query is not None for u in updates] == [True]


async def test_second_poller_conflicts_and_orphaned_polls_are_not_recorded(
    bot: Bot, server: FakeTelegramServer
) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await server.wait_until(lambda: server.long_polls_started == 1, what="the first poll to begin")
    second = asyncio.create_task(bot.get_updates(timeout=0))
    with pytest.raises(TelegramConflictError):
        await first
    assert await second == []
    abandoned = asyncio.create_task(bot.get_updates(timeout=5))
    await server.wait_until(lambda: server.long_polls_started == 3, what="the abandoned poll to begin")
    abandoned.cancel()  # like a bot that stops polling
    await asyncio.gather(abandoned, return_exceptions=True)
    server.send_text(USER, "hi")
    updates = await bot.get_updates(timeout=1)
    assert [u.message.text for u in updates if u.message] == ["hi"]
    # All four polls are over (the abandoned one ended by the last), so nothing more can be recorded.
    await server.wait_until(lambda: server.long_polls_ended == 4, what="the four polls to end")
    assert sorted(c.status for c in server.calls_to("getUpdates")) == [200, 200, 409]


async def test_stop_wakes_long_poll(server: FakeTelegramServer) -> None:
    client = server.create_bot()
    try:
        poll = asyncio.create_task(client.get_updates(timeout=30))
        await server.wait_until(lambda: server.long_polls_started == 1, what="the long poll to begin")
        loop = asyncio.get_running_loop()
        started = loop.time()
        await server.stop()
        await asyncio.wait([poll], timeout=3)
        assert poll.done()
        assert loop.time() - started < 3
        if not poll.cancelled() and poll.exception() is None:
            assert poll.result() == []
    finally:
        await client.session.close()


async def test_delete_messages(bot: Bot, server: FakeTelegramServer) -> None:
    server.send_text(USER, "hi")
    sent = [await bot.send_message(USER, str(i)) for i in range(3)]
    assert await bot.delete_messages(USER, [sent[0].message_id, 999, sent[1].message_id])
    visible = [m["text"] for m in server.chat_messages(USER)]
    assert visible == ["hi", "2"]
    assert len(server.chat_messages(USER, include_deleted=True)) == 4
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(USER, sent[0].message_id)
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(USER, 12345)
    assert await bot.delete_message(USER, 1)  # bots may delete incoming messages in private chats
    with pytest.raises(TelegramBadRequest):
        await bot.delete_messages(USER, list(range(1, 102)))


async def test_old_messages_cannot_be_deleted() -> None:
    clock = Clock()
    async with FakeTelegramServer(now=clock) as server:
        client = server.create_bot()
        try:
            server.send_text(USER, "hi")
            sent = await client.send_message(USER, "old")
            clock.value += 48 * 3600 + 1
            with pytest.raises(TelegramBadRequest, match="can't be deleted"):
                await client.delete_message(USER, sent.message_id)
        finally:
            await client.session.close()


async def test_blocked_chat(bot: Bot, server: FakeTelegramServer) -> None:
    server.send_text(USER, "hi")
    server.block_chat(USER)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(USER, "x")
    assert server.calls_to("sendMessage")[-1].response["error_code"] == 403
    server.send_text(USER, "back")  # writing again means the user unblocked the bot
    await bot.send_message(USER, "welcome back")


async def test_edit_message(bot: Bot, server: FakeTelegramServer) -> None:
    server.send_text(USER, "hi")
    sent = await bot.send_message(USER, "v1", reply_markup=keyboard(("a", "a")))
    edited = await bot.edit_message_text(
        text="v2", chat_id=USER, message_id=sent.message_id, reply_markup=keyboard(("a", "a"))
    )
    assert isinstance(edited, Message) and edited.text == "v2"
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            text="v2", chat_id=USER, message_id=sent.message_id, reply_markup=keyboard(("a", "a"))
        )
    await bot.edit_message_text(text="v3", chat_id=USER, message_id=sent.message_id)
    stored = server.get_message(USER, sent.message_id)
    assert stored is not None and stored["text"] == "v3" and buttons(stored) == []  # keyboard dropped
    with pytest.raises(TelegramBadRequest, match="message can't be edited"):
        await bot.edit_message_text(text="x", chat_id=USER, message_id=1)
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text(text="x", chat_id=USER, message_id=999)
    await bot.edit_message_reply_markup(
        chat_id=USER, message_id=sent.message_id, reply_markup=keyboard(("b", "b"))
    )
    assert buttons(server.get_message(USER, sent.message_id)) == [("b", "b")]


async def test_callback_queries(bot: Bot, server: FakeTelegramServer) -> None:
    server.send_text(USER, "hi")
    sent = await bot.send_message(USER, "pick", reply_markup=keyboard(("A", "pick:a")))
    query_id = server.click(USER, "A")
    updates = await bot.get_updates()
    query = updates[-1].callback_query
    assert query is not None and query.id == query_id and query.data == "pick:a"
    assert isinstance(query.message, Message) and query.message.message_id == sent.message_id
    with pytest.raises(TelegramBadRequest, match="MESSAGE_TOO_LONG"):
        await bot.answer_callback_query(query_id, text="x" * 201)
    assert await bot.answer_callback_query(query_id, text="ok")
    assert server.callback_answers[-1]["text"] == "ok"
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query_id)
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query("123")
    stale = server.press_button(USER, 777, "pick:a")
    last = (await bot.get_updates(offset=updates[-1].update_id + 1))[-1]
    assert last.callback_query is not None and last.callback_query.id == stale
    assert isinstance(last.callback_query.message, InaccessibleMessage)


async def test_photo_and_document_uploads(bot: Bot, server: FakeTelegramServer) -> None:
    server.send_text(USER, "hi")
    png = tiny_png()
    sent = await bot.send_photo(
        USER, BufferedInputFile(png, "chart.png"), caption="<b>Chart</b>", parse_mode="HTML"
    )
    assert sent.photo is not None and sent.photo[-1].width == 3 and sent.caption == "Chart"
    upload = server.calls_to("sendPhoto")[-1].params["photo"]
    assert isinstance(upload, UploadedFile) and upload.filename == "chart.png" and upload.size == len(png)
    with pytest.raises(TelegramBadRequest, match="IMAGE_PROCESS_FAILED"):
        await bot.send_photo(USER, BufferedInputFile(b"not an image", "x.png"))
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_photo(USER, BufferedInputFile(png, "c.png"), caption="c" * 1025)
    doc = await bot.send_document(USER, BufferedInputFile(b"a,b\n1,2\n", "report.csv"))
    assert doc.document is not None and doc.document.file_name == "report.csv"
    file = await bot.get_file(doc.document.file_id)
    assert file.file_path is not None
    data = await bot.download_file(file.file_path)
    assert data is not None and data.read() == b"a,b\n1,2\n"
    assert await bot.send_chat_action(USER, "typing")
    assert server.last_chat_action(USER) == "typing"


async def test_commands_and_json_body(bot: Bot, server: FakeTelegramServer) -> None:
    assert await bot.set_my_commands([BotCommand(command="start", description="Start")])
    assert [c.command for c in await bot.get_my_commands()] == ["start"]
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Start!", description="x")])
    server.send_text(USER, "hi")
    async with aiohttp.ClientSession() as http:
        payload = {"chat_id": USER, "text": "json", "reply_markup": json.dumps({"inline_keyboard": []})}
        async with http.post(f"{server.base_url}/bot{server.token}/sendMessage", json=payload) as resp:
            body = await resp.json()
    assert body["ok"] and body["result"]["text"] == "json"


async def test_wait_helpers(bot: Bot, server: FakeTelegramServer) -> None:
    server.send_text(USER, "hi")
    mark = len(server.calls)

    async def reply_later() -> None:
        await asyncio.sleep(0.05)
        await bot.send_message(USER, "later")

    task = asyncio.create_task(reply_later())
    call = await server.wait_for_call("sendMessage", after=mark)
    assert isinstance(call, Call) and call.params["text"] == "later"
    message = await server.wait_for_bot_message(USER, after_id=1)
    assert message["text"] == "later"
    await task
    with pytest.raises(AssertionError, match="recent calls"):
        await server.wait_for_call("sendPhoto", timeout=0.05)


async def test_real_dispatcher_end_to_end(server: FakeTelegramServer) -> None:
    seen: list[str] = []
    server.on_bot_message = lambda message: seen.append(str(message.get("text")))
    client = server.create_bot()
    dp = Dispatcher()

    @dp.message(CommandStart())
    async def start(message: Message) -> None:
        await message.answer("<b>Привіт</b>", parse_mode="HTML", reply_markup=keyboard(("Далі", "next")))

    @dp.callback_query(F.data == "next")
    async def next_step(query: CallbackQuery) -> None:
        await query.answer("ok")
        if isinstance(query.message, Message):
            await query.message.edit_text("Крок 2")

    polling = asyncio.create_task(dp.start_polling(client, polling_timeout=1, handle_signals=False))
    try:
        server.send_text(USER, "/start")
        greeting = await server.wait_for_bot_message(USER)
        assert greeting["text"] == "Привіт" and greeting["raw_text"] == "<b>Привіт</b>"
        mark = len(server.calls)
        server.click(USER, "Далі")
        await server.wait_for_call("answerCallbackQuery", after=mark)
        await server.wait_for_call("editMessageText", after=mark)
        await server.wait_idle(quiet=0.05)
        assert server.chat_messages(USER)[-1]["text"] == "Крок 2"
        assert seen == ["Привіт", "Крок 2"]
    finally:
        await dp.stop_polling()
        await asyncio.wait_for(polling, 5)
        await client.session.close()


async def test_callback_answers_reach_a_hook(bot: Bot, server: FakeTelegramServer) -> None:
    """The emulator's terminal shows toasts and alerts: the server hands each answer to a hook."""
    heard: list[dict[str, object]] = []
    server.on_callback_answer = heard.append
    server.send_text(USER, "hi")
    await bot.send_message(USER, "pick", reply_markup=keyboard(("A", "pick:a"), ("B", "pick:b")))
    await bot.answer_callback_query(server.click(USER, "A"), text="Refused", show_alert=True)
    await bot.answer_callback_query(server.click(USER, "B"))
    assert [(a["chat_id"], a["text"], a["show_alert"]) for a in heard] == [
        (USER, "Refused", True),
        (USER, None, False),
    ]


async def test_exported_chats_let_a_new_server_go_on_with_them() -> None:
    """A restarted emulator knows the chats of the run before: the bot can write, edit and reply there."""
    async with FakeTelegramServer() as first:
        first.send_text(USER, "hello", language_code="en")
        client = first.create_bot()
        try:
            card = await client.send_message(USER, "card", reply_markup=keyboard(("A", "pick:a")))
            report = await client.send_document(USER, BufferedInputFile(b"PK\x03\x04xlsx", "report.xlsx"))
        finally:
            await client.session.close()
        state = json.loads(json.dumps(first.export_chats()))  # as the emulator writes and reads it

    async with FakeTelegramServer() as second:
        second.import_chats(state)
        client = second.create_bot()
        try:
            edited = await client.edit_message_text("card, edited", chat_id=USER, message_id=card.message_id)
            reply = await client.send_message(USER, "answer", reply_to_message_id=card.message_id)
            again = await client.send_document(USER, report.document.file_id)  # type: ignore[union-attr]
        finally:
            await client.session.close()
        assert isinstance(edited, Message) and edited.text == "card, edited"
        assert reply.message_id == report.message_id + 1  # ids go on from the run before
        assert reply.reply_to_message is not None and reply.reply_to_message.message_id == card.message_id
        assert again.document is not None and second.file_content(again.document.file_id) == b"PK\x03\x04xlsx"
        assert [m.get("text") for m in second.chat_messages(USER)][:2] == ["hello", "card, edited"]
        second.send_text(USER, "still me")
        assert second.chat_messages(USER)[-1]["from"]["language_code"] == "en"  # the user is kept too


async def _the_same_calls(bot: Bot, server: FakeTelegramServer) -> list[tuple[str, int, dict[str, object]]]:
    """A few calls of every kind (form fields, a keyboard, entities, an upload, refusals, a failure
    injected), as the server recorded them."""
    server.send_text(USER, "hi")
    await bot.send_message(USER, "<b>hi</b> &amp;", parse_mode="HTML", reply_markup=keyboard(("A", "a:1")))
    await bot.send_photo(USER, BufferedInputFile(tiny_png(), "chart.png"), caption="c")
    await bot.send_document(USER, BufferedInputFile(b"a,b\n", "report.csv"), caption="<i>x</i>")
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(USER, "x" * 4097)
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(424242, "x")
    server.fail_next("sendMessage", retry_after=3)
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(USER, "x")
    assert await bot.set_my_commands([BotCommand(command="start", description="Start")])
    return [(call.method, call.status, _named_at_random(call.params)) for call in server.calls]


def _named_at_random(params: dict[str, object]) -> dict[str, object]:
    """aiogram names each upload's part at random: an upload is compared by all but that name."""
    return {
        key: (value.filename, value.content_type, value.data) if isinstance(value, UploadedFile) else value
        for key, value in params.items()
    }


async def test_in_process_transport_decodes_and_answers_as_http_does() -> None:
    clock = Clock()
    async with FakeTelegramServer(now=clock) as over_http, FakeTelegramServer(now=clock) as in_process:
        http_bot = over_http.create_bot()
        local_bot = Bot(in_process.token, session=InProcessSession(in_process))
        try:
            expected = await _the_same_calls(http_bot, over_http)
            assert await _the_same_calls(local_bot, in_process) == expected
        finally:
            await http_bot.session.close()
            await local_bot.session.close()
    upload = next(params["photo"] for method, _status, params in expected if method == "sendPhoto")
    assert upload == ("chart.png", "application/octet-stream", tiny_png())
    assert [u.size for u in in_process.uploads] == [u.size for u in over_http.uploads] == [len(tiny_png()), 4]


async def test_in_process_transport_without_a_session(server: FakeTelegramServer) -> None:
    transport = server.transport()
    server.send_text(USER, "hi")
    reply = await transport.request("sendmessage", {"chat_id": USER, "text": "hi", "reply_markup": "{}"})
    assert reply.status == 400 and "inline_keyboard" in json.loads(reply.content)["description"]
    reply = await transport.request("sendMessage", {"chat_id": str(USER), "text": "hi"})
    assert reply.status == 200 and json.loads(reply.content)["result"]["text"] == "hi"
    assert server.calls_to("sendMessage")[-1].params == {"chat_id": USER, "text": "hi"}
    assert (await transport.request("getMe", token="1:WRONG")).status == 401
    assert (await transport.request("noSuchMethod")).status == 404
    server.fail_next("getMe", status=502, html=True)
    page = await transport.request("getMe")
    assert page.status == 502 and page.content.startswith("<html>")


async def test_in_process_session_times_out_a_hanging_call(server: FakeTelegramServer) -> None:
    local_bot = Bot(server.token, session=InProcessSession(server, timeout=0.2))
    try:
        server.hang_next("getMe")
        with pytest.raises(TelegramNetworkError, match="Request timeout error"):
            await local_bot.get_me()
        assert (await local_bot.get_me()).id == server.bot_user_id
    finally:
        await local_bot.session.close()
