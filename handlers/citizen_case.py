"""Citizen: "my request" (from this chat, or by code), the anonymous relay with the case owner (or,
before anyone accepted, additions to the request), ending and resuming the conversation, withdrawing.

Whatever a person writes about their request reaches a human or gets an answer that helps: a message
in writing mode, a swipe-reply to a message about the request, or text typed at the menu and sent with
one tap (handlers/fallback.py offers it).
"""

from __future__ import annotations

import logging
import re

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot import case_keyboards as ck
from bot import keyboards, render
from bot.callbacks import Menu, MyRequests
from bot.notices import cases as notices
from bot.notices import keyboards as notice_keyboards
from bot.notices.delivery import compose_with, language_of, relay, tell
from bot.notices.outgoing import Queue
from bot.services.cases import CaseError, CaseService, CaseSummary, Status, TooLong, normalise_code
from bot.services.directory import Directory
from bot.services.throttle import Throttles
from bot.services.users import UserService
from bot.settings import Settings
from handlers.fallback import VOICE, answer_unrecognised
from handlers.ui import chat_id_of, refusal_text, show, stale_button

log = logging.getLogger("dovira")

# A case code as the bot writes it in its messages (render.code): what a swipe-reply is matched by.
CODE_IN_TEXT = re.compile(r"\b([2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4})\b")


class MyCase(StatesGroup):
    code = State()
    writing = State()


async def confirm(message: Message, answer: str, markup: InlineKeyboardMarkup) -> None:
    """Tell the sender what became of their message. Stored and queued already: if this answer fails,
    a "try again" would make them send it twice, so the failure is only logged."""
    try:
        await message.answer(answer, reply_markup=markup)
    except Exception as exc:
        log.warning("could not confirm a relayed message to its sender (%s)", type(exc).__name__)


def replied_case(message: Message) -> tuple[int | None, str | None]:
    """The request a swipe-reply is about: from the buttons or the code of the bot's message replied to."""
    replied = message.reply_to_message
    if replied is None:
        return None, None
    if isinstance(replied.reply_markup, InlineKeyboardMarkup):
        ids = set()
        for row in replied.reply_markup.inline_keyboard:
            for key in row:
                if key.callback_data and key.callback_data.startswith(MyRequests.__prefix__ + ":"):
                    try:
                        ids.add(MyRequests.unpack(key.callback_data).id)
                    except (TypeError, ValueError):
                        continue
        ids.discard(0)
        if len(ids) == 1:  # a message about one request (a list of several names none of them)
            return ids.pop(), None
    found = CODE_IN_TEXT.search(replied.text or replied.caption or "")
    return None, (normalise_code(found.group(1)) if found else None)


async def replied_request(message: Message, cases: CaseService) -> CaseSummary | None:
    """The person's own request a swipe-reply is about (None: not one of theirs, or none named)."""
    case_id, code = replied_case(message)
    mine = await cases.of_citizen(message.chat.id)
    return next((c for c in mine if c.id == case_id or (code is not None and c.code == code)), None)


async def pass_on(
    chat: int,
    case_id: int,
    text: str | None,
    photo: str | None,
    source: int | None,
    *,
    bot: Bot,
    cases: CaseService,
    users: UserService,
    i18n: I18n,
    outbox: Queue,
    directory: Directory,
    settings: Settings,
) -> str:
    """Store what the person wrote on their request and pass it to its coordinator; returns the
    answer that says truthfully what happened to it. Raises CaseError (too long, conversation over)."""
    sent = await cases.citizen_message(chat, case_id, text, photo, source)
    if sent.duplicate:  # the same message again (an update handled twice): stored and passed on before
        return _("relay.already")
    if sent.released:  # its coordinator no longer covers it: the area's coordinators take it over
        await notices.notify_area(
            outbox, i18n, users, cases, directory, settings.admin_ids, [sent.case], "case.released"
        )
    if sent.owner is None:
        # Stored, and shown on the card of whoever accepts the request; it reached nobody yet.
        return _("relay.saved_for_next")
    with i18n.use_locale(await language_of(users, i18n, sent.owner)):
        header, markup = notices.relay_to_staff(sent.case)
    outcome = await relay(bot, outbox, sent.owner, f"relay:{sent.message_id}", header, text, photo, markup)
    return {
        "sent": _("relay.sent"),
        "queued": _("relay.queued"),
    }.get(outcome, _("relay.owner_unreachable"))


def create_router() -> Router:
    router = Router(name="citizen-case")

    async def show_case(callback: CallbackQuery, bot: Bot, cases: CaseService, case_id: int) -> None:
        mine = {c.id: c for c in await cases.of_citizen(chat_id_of(callback))}
        case = mine.get(case_id)
        if case is None:
            await stale_button(callback, bot)
            return
        await show(callback, bot, render.citizen_status(case), notice_keyboards.my_case(case))

    @router.callback_query(Menu.filter(F.to == "mycase"))
    @router.callback_query(MyRequests.filter(F.a == "list"))
    async def on_my_cases(callback: CallbackQuery, bot: Bot, cases: CaseService, state: FSMContext) -> None:
        await state.clear()
        mine = await cases.of_citizen(chat_id_of(callback))
        text = _("mycase.list") if mine else _("mycase.none")
        await show(callback, bot, text, ck.my_cases(mine))

    @router.callback_query(MyRequests.filter(F.a == "view"))
    async def on_view(
        callback: CallbackQuery, callback_data: MyRequests, bot: Bot, cases: CaseService, state: FSMContext
    ) -> None:
        await state.clear()
        await show_case(callback, bot, cases, callback_data.id)

    @router.callback_query(MyRequests.filter(F.a == "code"))
    async def on_code_button(callback: CallbackQuery, bot: Bot, state: FSMContext) -> None:
        await state.set_state(MyCase.code)
        await show(callback, bot, _("mycase.ask_code"), keyboards.only_menu())

    @router.message(StateFilter(MyCase.code), F.text)
    async def on_code(message: Message, state: FSMContext, cases: CaseService, throttles: Throttles) -> None:
        if not await throttles.code_attempts.allow(message.chat.id):
            await state.clear()
            await message.answer(_("mycase.too_many"), reply_markup=keyboards.main_menu())
            return
        case = await cases.by_code(message.text or "")
        if case is None:
            await message.answer(_("mycase.not_found"), reply_markup=keyboards.only_menu())
            return
        await state.clear()
        await message.answer(render.citizen_status(case), reply_markup=keyboards.only_menu())

    @router.callback_query(MyRequests.filter(F.a == "write"))
    async def on_write(
        callback: CallbackQuery, callback_data: MyRequests, bot: Bot, state: FSMContext, cases: CaseService
    ) -> None:
        mine = {c.id: c for c in await cases.of_citizen(chat_id_of(callback))}
        case = mine.get(callback_data.id)
        if case is None:
            await stale_button(callback, bot)
            return
        await state.set_state(MyCase.writing)
        await state.update_data(case_id=callback_data.id)
        prompt = _("relay.add_prompt") if case.status == Status.NEW else _("relay.citizen_prompt")
        await show(callback, bot, prompt, ck.stop_writing(callback_data.id))

    @router.message(StateFilter(MyCase.writing), (F.text & ~F.text.startswith("/")) | F.photo)
    async def on_citizen_message(
        message: Message,
        state: FSMContext,
        bot: Bot,
        cases: CaseService,
        users: UserService,
        i18n: I18n,
        throttles: Throttles,
        outbox: Queue,
        directory: Directory,
        settings: Settings,
    ) -> None:
        case_id = int((await state.get_data()).get("case_id", 0))
        # A person typing fast passes, a script flooding the coordinator does not.
        if not await throttles.relay_messages.allow(message.chat.id):
            await message.answer(_("security.relay_limit"), reply_markup=ck.stop_writing(case_id))
            return
        photo = message.photo[-1].file_id if message.photo else None
        try:
            answer = await pass_on(
                message.chat.id,
                case_id,
                message.text or message.caption,
                photo,
                message.message_id,
                bot=bot,
                cases=cases,
                users=users,
                i18n=i18n,
                outbox=outbox,
                directory=directory,
                settings=settings,
            )
        except CaseError as exc:
            if not isinstance(exc, TooLong):
                await state.clear()
            await message.answer(refusal_text(exc), reply_markup=ck.stop_writing(case_id))
            return
        await confirm(message, answer, ck.stop_writing(case_id))

    @router.message(StateFilter(MyCase.writing), VOICE)
    async def on_citizen_voice(message: Message, state: FSMContext) -> None:
        # Not relayed: a voice can identify the person, and a coordinator may not be able to listen.
        case_id = int((await state.get_data()).get("case_id", 0))
        await message.answer(_("relay.no_voice"), reply_markup=ck.stop_writing(case_id))

    @router.message(StateFilter(MyCase.writing), ~F.text.startswith("/"))
    async def on_citizen_other(message: Message, state: FSMContext) -> None:
        case_id = int((await state.get_data()).get("case_id", 0))
        await message.answer(_("relay.text_or_photo"), reply_markup=ck.stop_writing(case_id))

    @router.message(StateFilter(None, MyCase.writing), F.reply_to_message.from_user.is_bot, VOICE)
    async def on_voice_reply(message: Message, cases: CaseService) -> None:
        """A voice swipe-reply to a message about a request: not passed on, and the person is told why."""
        case = await replied_request(message, cases)
        markup = notice_keyboards.my_case(case) if case is not None else keyboards.main_menu()
        await message.answer(_("relay.no_voice"), reply_markup=markup)

    @router.message(
        StateFilter(None, MyCase.writing),
        F.reply_to_message.from_user.is_bot,
        (F.text & ~F.text.startswith("/")) | F.photo,
    )
    async def on_reply(
        message: Message,
        state: FSMContext,
        bot: Bot,
        cases: CaseService,
        users: UserService,
        i18n: I18n,
        throttles: Throttles,
        outbox: Queue,
        directory: Directory,
        settings: Settings,
    ) -> None:
        """A swipe-reply to a message about a request goes to that request's coordinator."""
        case = await replied_request(message, cases)
        if case is None or case.status == Status.CLOSED or not case.relay_open:
            await answer_unrecognised(message, state, cases)
            return
        if not await throttles.relay_messages.allow(message.chat.id):
            await message.answer(_("security.relay_limit"), reply_markup=notice_keyboards.my_case(case))
            return
        try:
            answer = await pass_on(
                message.chat.id,
                case.id,
                message.text or message.caption,
                message.photo[-1].file_id if message.photo else None,
                message.message_id,
                bot=bot,
                cases=cases,
                users=users,
                i18n=i18n,
                outbox=outbox,
                directory=directory,
                settings=settings,
            )
        except CaseError as exc:
            await message.answer(refusal_text(exc), reply_markup=notice_keyboards.my_case(case))
            return
        await confirm(message, answer, notice_keyboards.my_case(case))

    @router.callback_query(MyRequests.filter(F.a == "send_draft"))
    async def on_send_draft(
        callback: CallbackQuery,
        callback_data: MyRequests,
        bot: Bot,
        state: FSMContext,
        cases: CaseService,
        users: UserService,
        i18n: I18n,
        throttles: Throttles,
        outbox: Queue,
        directory: Directory,
        settings: Settings,
    ) -> None:
        """A message typed at the menu, sent to the request with one tap (kept in the dialog's data,
        encrypted, until then; the button names the message, so each sends its own)."""
        chat = chat_id_of(callback)
        drafts = dict((await state.get_data()).get("drafts") or {})
        draft = drafts.get(str(callback_data.m))
        mine = {c.id for c in await cases.of_citizen(chat)}
        if not isinstance(draft, dict) or callback_data.id not in mine:
            await stale_button(callback, bot)  # sent already, or kept past the dialog data's day
            return
        if not await throttles.relay_messages.allow(chat):
            await show(callback, bot, _("security.relay_limit"), keyboards.only_menu())
            return
        try:
            answer = await pass_on(
                chat,
                callback_data.id,
                draft.get("text"),
                draft.get("photo"),
                callback_data.m,
                bot=bot,
                cases=cases,
                users=users,
                i18n=i18n,
                outbox=outbox,
                directory=directory,
                settings=settings,
            )
        except CaseError as exc:
            await show(callback, bot, refusal_text(exc), keyboards.only_menu())
            return
        drafts.pop(str(callback_data.m), None)
        await state.update_data(drafts=drafts)
        await show(callback, bot, answer, ck.stop_writing(callback_data.id))

    @router.callback_query(MyRequests.filter(F.a == "endchat"))
    async def on_end_chat(callback: CallbackQuery, callback_data: MyRequests, bot: Bot) -> None:
        # Asked first: ending is what a frightened person may tap by mistake.
        await show(callback, bot, _("mycase.end_chat_confirm"), ck.end_chat_confirm(callback_data.id))

    @router.callback_query(MyRequests.filter(F.a == "endchat_yes"))
    async def on_end_chat_yes(
        callback: CallbackQuery,
        callback_data: MyRequests,
        bot: Bot,
        cases: CaseService,
        state: FSMContext,
        users: UserService,
        i18n: I18n,
        outbox: Queue,
    ) -> None:
        await state.clear()
        try:
            case, owner = await cases.close_conversation(chat_id_of(callback), callback_data.id)
        except CaseError:
            await stale_button(callback, bot)
            return
        if owner is not None:
            purpose = f"case.chat_closed:{case.id}:{callback.id}"
            await tell(outbox, users, i18n, [owner], purpose, compose_with(notices.chat_closed, case))
        await show(callback, bot, _("mycase.chat_closed"), notice_keyboards.my_case(case))

    @router.callback_query(MyRequests.filter(F.a == "resume"))
    async def on_resume_chat(
        callback: CallbackQuery,
        callback_data: MyRequests,
        bot: Bot,
        cases: CaseService,
        users: UserService,
        i18n: I18n,
        outbox: Queue,
    ) -> None:
        try:
            case, owner = await cases.reopen_conversation(chat_id_of(callback), callback_data.id)
        except CaseError as exc:
            await show(callback, bot, _(str(exc)), keyboards.only_menu())
            return
        if owner is not None:
            purpose = f"case.chat_resumed:{case.id}:{callback.id}"
            await tell(outbox, users, i18n, [owner], purpose, compose_with(notices.chat_resumed, case))
        await show(
            callback,
            bot,
            _("mycase.chat_resumed") + "\n\n" + render.citizen_status(case),
            notice_keyboards.my_case(case),
        )

    @router.callback_query(MyRequests.filter(F.a == "withdraw"))
    async def on_withdraw(callback: CallbackQuery, callback_data: MyRequests, bot: Bot) -> None:
        await show(callback, bot, _("mycase.withdraw_confirm"), ck.withdraw_confirm(callback_data.id))

    @router.callback_query(MyRequests.filter(F.a == "withdraw_yes"))
    async def on_withdraw_yes(
        callback: CallbackQuery,
        callback_data: MyRequests,
        bot: Bot,
        cases: CaseService,
        users: UserService,
        i18n: I18n,
        outbox: Queue,
    ) -> None:
        try:
            case, owner = await cases.withdraw(chat_id_of(callback), callback_data.id)
        except CaseError as exc:
            if str(exc) == "case.already_closed":
                await show(callback, bot, _(str(exc)), keyboards.only_menu())
            else:
                await stale_button(callback, bot)
            return
        if owner is not None:
            purpose = f"case.withdrawn:{case.id}"
            await tell(outbox, users, i18n, [owner], purpose, compose_with(notices.case_withdrawn, case))
        await show(callback, bot, _("mycase.withdrawn"), keyboards.only_menu())

    @router.callback_query(MyRequests.filter())
    async def on_stale(callback: CallbackQuery, bot: Bot) -> None:
        await stale_button(callback, bot)

    return router
