"""What an oblast-wide coordinator may do with another coordinator's case: hand it to a colleague, or open
its content by break-glass, with a typed reason (audited, the owner told). The service decides who may."""

from __future__ import annotations

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot import render
from bot.callbacks import Cases
from bot.notices import cases as notices
from bot.notices.delivery import tell
from bot.notices.outgoing import Queue
from bot.services.cases import BREAK_GLASS_REASON_LIMIT, CaseError, CaseService
from bot.services.directory import Directory
from bot.services.staff import AccessDenied
from bot.services.users import UserProfile, UserService
from bot.settings import Settings
from handlers.staff.cases import keyboards
from handlers.staff.cases.states import StaffWriting
from handlers.staff.cases.work import send_card
from handlers.ui import chat_id_of, show

USER_ID_DIGITS = 9  # users.id as a button carries it; anything longer is forged


async def on_reassign(
    callback: CallbackQuery,
    callback_data: Cases,
    bot: Bot,
    state: FSMContext,
    profile: UserProfile,
    cases: CaseService,
    directory: Directory,
    i18n: I18n,
) -> None:
    await state.clear()
    found = await cases.reassign_candidates(profile.staff_id, profile.staff, callback_data.id)
    lang, choices = i18n.current_locale, []
    for colleague in found:
        district = directory.district(colleague.district) if colleague.district else None
        area = district.name.get(lang) if district else _("access.whole_oblast")
        choices.append((colleague.user_id, _("access.colleague").format(area=area, id=colleague.telegram_id)))
    text = _("access.choose_coordinator") if choices else _("access.no_coordinators")
    await show(callback, bot, text, keyboards.colleagues(callback_data.id, choices))


async def on_reassign_to(
    callback: CallbackQuery,
    callback_data: Cases,
    bot: Bot,
    profile: UserProfile,
    cases: CaseService,
    directory: Directory,
    users: UserService,
    i18n: I18n,
    settings: Settings,
    outbox: Queue,
) -> None:
    case_id, to = callback_data.id, callback_data.value
    if not (to.isascii() and to.isdigit()) or len(to) > USER_ID_DIGITS:
        raise AccessDenied("case.reassign", case_id)
    case, new_owner, previous = await cases.reassign(profile.staff_id, profile.staff, case_id, int(to))
    actor = profile.telegram_id
    purpose = f"case.reassigned:{case.id}:{callback.id}"
    await tell(
        outbox,
        users,
        i18n,
        [new_owner],
        purpose,
        lambda lang: notices.reassigned_to_you(case, directory, lang, actor),
    )
    if previous is not None:
        purpose = f"case.reassigned_away:{case.id}:{callback.id}"
        told = lambda lang: notices.reassigned_away(case, directory, lang, actor, new_owner)  # noqa: E731
        await tell(outbox, users, i18n, [previous], purpose, told)
    await send_card(callback, bot, cases, profile, directory, i18n, settings, case_id, _("access.reassigned"))


async def on_break_glass(
    callback: CallbackQuery,
    callback_data: Cases,
    bot: Bot,
    state: FSMContext,
    profile: UserProfile,
    cases: CaseService,
) -> None:
    card = await cases.card(profile.staff_id, profile.staff, callback_data.id)
    if not card.may_break_glass:  # the service refuses it anyway: no prompt to type into
        raise AccessDenied("case.break_glass", callback_data.id)
    await state.set_state(StaffWriting.reason)
    await state.update_data(case_id=callback_data.id)
    await callback.answer()
    prompt = _("access.break_glass_prompt").format(
        code=render.code(card.summary.code), limit=BREAK_GLASS_REASON_LIMIT
    )
    await bot.send_message(
        chat_id_of(callback), prompt, reply_markup=keyboards.break_glass_cancel(callback_data.id)
    )


async def on_break_glass_reason(
    message: Message,
    state: FSMContext,
    bot: Bot,
    profile: UserProfile,
    cases: CaseService,
    directory: Directory,
    users: UserService,
    i18n: I18n,
    settings: Settings,
    outbox: Queue,
) -> None:
    """With the reason typed, the content is shown once (protected) and the case's owner is told who opened
    it and why."""
    case_id = int((await state.get_data()).get("case_id", 0))
    reason = message.text or ""
    try:
        card, owner = await cases.break_glass(profile.staff_id, profile.staff, case_id, reason)
    except CaseError as exc:  # no reason, or too long: the prompt stays
        await message.answer(_(str(exc)), reply_markup=keyboards.break_glass_cancel(case_id))
        return
    await state.clear()
    text = (
        _("access.break_glass_done")
        + "\n\n"
        + render.case_card(card, directory, i18n.current_locale, settings.tz)
    )
    await bot.send_message(
        message.chat.id, render.fit(text), reply_markup=keyboards.card(card), protect_content=True
    )
    if owner is not None:
        actor = profile.telegram_id
        purpose = f"case.break_glass:{case_id}:{actor}:{message.message_id}"
        told = lambda lang: notices.break_glass(card, directory, lang, actor, reason)  # noqa: E731
        await tell(outbox, users, i18n, [owner], purpose, told)


async def on_break_glass_other(message: Message, state: FSMContext) -> None:
    case_id = int((await state.get_data()).get("case_id", 0))
    await message.answer(_("access.reason_text"), reply_markup=keyboards.break_glass_cancel(case_id))
