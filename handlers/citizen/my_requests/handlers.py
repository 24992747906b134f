"""The handlers of "my request", one per action (registered by `create_router()` in __init__.py)."""

from __future__ import annotations

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot import keyboards, render
from bot.callbacks import MyRequests
from bot.notices import cases as notices
from bot.notices import keyboards as notice_keyboards
from bot.notices.delivery import compose_with, tell
from bot.notices.outgoing import Queue
from bot.services.cases import CaseError, CaseService, Status, TooLong
from bot.services.directory import Directory
from bot.services.throttle import Throttles
from bot.services.users import UserService
from bot.settings import Settings
from handlers.citizen.my_requests.keyboards import end_chat_confirm, my_cases, stop_writing, withdraw_confirm
from handlers.citizen.my_requests.relay import RelayServices, confirm, content, pass_on, replied_request
from handlers.citizen.my_requests.states import MyCase
from handlers.fallback import answer_unrecognised
from handlers.ui import chat_id_of, refusal_text, show, stale_button


async def on_my_cases(callback: CallbackQuery, bot: Bot, cases: CaseService, state: FSMContext) -> None:
    await state.clear()
    mine = await cases.of_citizen(chat_id_of(callback))
    text = _("mycase.list") if mine else _("mycase.none")
    await show(callback, bot, text, my_cases(mine))


async def on_view(
    callback: CallbackQuery, callback_data: MyRequests, bot: Bot, cases: CaseService, state: FSMContext
) -> None:
    await state.clear()
    mine = {c.id: c for c in await cases.of_citizen(chat_id_of(callback))}
    case = mine.get(callback_data.id)
    if case is None:
        await stale_button(callback, bot)
        return
    await show(callback, bot, render.citizen_status(case), notice_keyboards.my_case(case))


async def on_code_button(callback: CallbackQuery, bot: Bot, state: FSMContext) -> None:
    await state.set_state(MyCase.code)
    await show(callback, bot, _("mycase.ask_code"), keyboards.only_menu())


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
    await show(callback, bot, prompt, stop_writing(callback_data.id))


async def _writing_case(state: FSMContext) -> int:
    """The request the person is writing on (writing mode)."""
    return int((await state.get_data()).get("case_id", 0))


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
    case_id = await _writing_case(state)
    # A person typing fast passes, a script flooding the coordinator does not.
    if not await throttles.relay_messages.allow(message.chat.id):
        await message.answer(_("security.relay_limit"), reply_markup=stop_writing(case_id))
        return
    services = RelayServices(bot, cases, users, i18n, outbox, directory, settings)
    try:
        answer = await pass_on(services, message.chat.id, case_id, *content(message))
    except CaseError as exc:
        if not isinstance(exc, TooLong):
            await state.clear()
        await message.answer(refusal_text(exc), reply_markup=stop_writing(case_id))
        return
    await confirm(message, answer, stop_writing(case_id))


async def on_citizen_voice(message: Message, state: FSMContext) -> None:
    # Not relayed: a voice can identify the person, and a coordinator may not be able to listen.
    await message.answer(_("relay.no_voice"), reply_markup=stop_writing(await _writing_case(state)))


async def on_citizen_other(message: Message, state: FSMContext) -> None:
    await message.answer(_("relay.text_or_photo"), reply_markup=stop_writing(await _writing_case(state)))


async def on_voice_reply(message: Message, cases: CaseService) -> None:
    """A voice swipe-reply to a message about a request: not passed on, and the person is told why."""
    case = await replied_request(message, cases)
    markup = notice_keyboards.my_case(case) if case is not None else keyboards.main_menu()
    await message.answer(_("relay.no_voice"), reply_markup=markup)


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
    services = RelayServices(bot, cases, users, i18n, outbox, directory, settings)
    try:
        answer = await pass_on(services, message.chat.id, case.id, *content(message))
    except CaseError as exc:
        await message.answer(refusal_text(exc), reply_markup=notice_keyboards.my_case(case))
        return
    await confirm(message, answer, notice_keyboards.my_case(case))


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
    draft = drafts.get(str(callback_data.draft))
    mine = {c.id for c in await cases.of_citizen(chat)}
    if not isinstance(draft, dict) or callback_data.id not in mine:
        await stale_button(callback, bot)  # sent already, or kept past the dialog data's day
        return
    if not await throttles.relay_messages.allow(chat):
        await show(callback, bot, _("security.relay_limit"), keyboards.only_menu())
        return
    services = RelayServices(bot, cases, users, i18n, outbox, directory, settings)
    try:
        answer = await pass_on(
            services, chat, callback_data.id, draft.get("text"), draft.get("photo"), callback_data.draft
        )
    except CaseError as exc:
        await show(callback, bot, refusal_text(exc), keyboards.only_menu())
        return
    drafts.pop(str(callback_data.draft), None)
    await state.update_data(drafts=drafts)
    await show(callback, bot, answer, stop_writing(callback_data.id))


async def on_end_chat(callback: CallbackQuery, callback_data: MyRequests, bot: Bot) -> None:
    # Asked first: ending is what a frightened person may tap by mistake.
    await show(callback, bot, _("mycase.end_chat_confirm"), end_chat_confirm(callback_data.id))


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
    text = _("mycase.chat_resumed") + "\n\n" + render.citizen_status(case)
    await show(callback, bot, text, notice_keyboards.my_case(case))


async def on_withdraw(callback: CallbackQuery, callback_data: MyRequests, bot: Bot) -> None:
    await show(callback, bot, _("mycase.withdraw_confirm"), withdraw_confirm(callback_data.id))


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
