"""Citizen: "my request" (from this chat, or by code), the anonymous relay with the case owner,
closing the conversation and withdrawing the request."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot import case_keyboards as ck
from bot import keyboards, render
from bot.case_keyboards import Cz
from bot.keyboards import Menu
from bot.services.cases import CaseError, CaseService
from bot.services.directory import Directory
from bot.services.throttle import Throttles
from bot.services.users import UserService
from bot.settings import Settings
from handlers.notify import language_of, notify, notify_released, relay
from handlers.ui import chat_id_of, show, stale_button
from scheduler.outbox import Outbox


class MyCase(StatesGroup):
    code = State()
    writing = State()


def create_router() -> Router:
    router = Router(name="citizen-case")

    async def show_case(callback: CallbackQuery, bot: Bot, cases: CaseService, case_id: int) -> None:
        mine = {c.id: c for c in await cases.of_citizen(chat_id_of(callback))}
        case = mine.get(case_id)
        if case is None:
            await stale_button(callback, bot)
            return
        await show(callback, bot, render.citizen_status(case), ck.my_case(case))

    @router.callback_query(Menu.filter(F.to == "mycase"))
    @router.callback_query(Cz.filter(F.a == "list"))
    async def on_my_cases(callback: CallbackQuery, bot: Bot, cases: CaseService, state: FSMContext) -> None:
        await state.clear()
        mine = await cases.of_citizen(chat_id_of(callback))
        text = _("mycase.list") if mine else _("mycase.none")
        await show(callback, bot, text, ck.my_cases(mine))

    @router.callback_query(Cz.filter(F.a == "view"))
    async def on_view(
        callback: CallbackQuery, callback_data: Cz, bot: Bot, cases: CaseService, state: FSMContext
    ) -> None:
        await state.clear()
        await show_case(callback, bot, cases, callback_data.id)

    @router.callback_query(Cz.filter(F.a == "code"))
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

    @router.callback_query(Cz.filter(F.a == "write"))
    async def on_write(
        callback: CallbackQuery, callback_data: Cz, bot: Bot, state: FSMContext, cases: CaseService
    ) -> None:
        if callback_data.id not in {c.id for c in await cases.of_citizen(chat_id_of(callback))}:
            await stale_button(callback, bot)
            return
        await state.set_state(MyCase.writing)
        await state.update_data(case_id=callback_data.id)
        await show(callback, bot, _("relay.citizen_prompt"), ck.stop_writing(callback_data.id))

    @router.message(StateFilter(MyCase.writing), (F.text & ~F.text.startswith("/")) | F.photo)
    async def on_citizen_message(
        message: Message,
        state: FSMContext,
        bot: Bot,
        cases: CaseService,
        users: UserService,
        i18n: I18n,
        throttles: Throttles,
        outbox: Outbox,
        directory: Directory,
        settings: Settings,
    ) -> None:
        case_id = int((await state.get_data()).get("case_id", 0))
        # A person typing fast passes, a script flooding the coordinator does not.
        if not await throttles.relay_messages.allow(message.chat.id):
            await message.answer(_("security.relay_limit"), reply_markup=ck.stop_writing(case_id))
            return
        photo = message.photo[-1].file_id if message.photo else None
        text = message.text or message.caption
        try:
            sent = await cases.citizen_message(message.chat.id, case_id, text, photo)
        except CaseError as exc:
            if str(exc) != "relay.too_long":
                await state.clear()
            await message.answer(_(str(exc)), reply_markup=ck.stop_writing(case_id))
            return
        if sent.released:  # its coordinator no longer covers it: the area's coordinators take it over
            await notify_released(outbox, i18n, users, cases, directory, settings.admin_ids, [sent.case])
        if sent.owner is None:
            # Stored, and shown on the card of whoever accepts the request; it reached nobody yet.
            await message.answer(_("relay.saved_for_next"), reply_markup=ck.stop_writing(case_id))
            return
        with i18n.use_locale(await language_of(users, i18n, sent.owner)):
            header = _("relay.to_staff").format(code=render.code(sent.case.code))
            markup = ck.reply_to_citizen(sent.case.id)
        await relay(bot, sent.owner, header, text, photo, markup)
        await message.answer(_("relay.sent"), reply_markup=ck.stop_writing(case_id))

    @router.message(StateFilter(MyCase.writing), ~F.text.startswith("/"))
    async def on_citizen_other(message: Message, state: FSMContext) -> None:
        case_id = int((await state.get_data()).get("case_id", 0))
        await message.answer(_("relay.text_or_photo"), reply_markup=ck.stop_writing(case_id))

    @router.callback_query(Cz.filter(F.a == "endchat"))
    async def on_end_chat(
        callback: CallbackQuery,
        callback_data: Cz,
        bot: Bot,
        cases: CaseService,
        state: FSMContext,
        users: UserService,
        i18n: I18n,
        outbox: Outbox,
    ) -> None:
        await state.clear()
        try:
            owner = await cases.close_conversation(chat_id_of(callback), callback_data.id)
        except CaseError:
            await stale_button(callback, bot)
            return
        if owner is not None:
            with i18n.use_locale(await language_of(users, i18n, owner)):
                await notify(outbox, owner, f"case.chat_closed:{callback_data.id}", _("relay.citizen_closed"))
        await show(callback, bot, _("mycase.chat_closed"), keyboards.only_menu())

    @router.callback_query(Cz.filter(F.a == "withdraw"))
    async def on_withdraw(callback: CallbackQuery, callback_data: Cz, bot: Bot) -> None:
        await show(callback, bot, _("mycase.withdraw_confirm"), ck.withdraw_confirm(callback_data.id))

    @router.callback_query(Cz.filter(F.a == "withdraw_yes"))
    async def on_withdraw_yes(
        callback: CallbackQuery,
        callback_data: Cz,
        bot: Bot,
        cases: CaseService,
        users: UserService,
        i18n: I18n,
        outbox: Outbox,
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
            with i18n.use_locale(await language_of(users, i18n, owner)):
                await notify(
                    outbox,
                    owner,
                    f"case.withdrawn:{case.id}",
                    _("notice.case.withdrawn").format(code=render.code(case.code)),
                )
        await show(callback, bot, _("mycase.withdrawn"), keyboards.only_menu())

    @router.callback_query(Cz.filter())
    async def on_stale(callback: CallbackQuery, bot: Bot) -> None:
        await stale_button(callback, bot)

    return router
