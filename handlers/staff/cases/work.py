"""A coordinator's work on a case in their scope: the list, the card, taking a new case, referring it,
moving it on and closing it, the victim status procedure. One handler per button; the service decides
every rule (scope, ownership, the moves allowed) and the router's middleware answers its refusals."""

from __future__ import annotations

import functools

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot import render
from bot.callbacks import Cases
from bot.notices import cases as notices
from bot.notices.delivery import compose_with, tell, tell_citizen
from bot.notices.outgoing import Queue
from bot.services.cases import PAGE_SIZE, VICTIM_STATUS_STEPS, CaseService, CaseSummary, Outcome, Status
from bot.services.directory import Directory
from bot.services.staff import AccessDenied, StaffService
from bot.services.users import UserProfile, UserService
from bot.settings import Settings
from handlers.staff.cases import keyboards
from handlers.ui import chat_id_of, show


async def send_card(
    callback: CallbackQuery,
    bot: Bot,
    cases: CaseService,
    profile: UserProfile,
    directory: Directory,
    i18n: I18n,
    settings: Settings,
    case_id: int,
    note: str = "",
) -> None:
    card = await cases.card(profile.staff_id, profile.staff, case_id)
    text = (note + "\n\n" if note else "") + render.case_card(
        card, directory, i18n.current_locale, settings.tz
    )
    await callback.answer()
    # Case content: always a new protected message, never an edit of a notification.
    await bot.send_message(
        chat_id_of(callback), render.fit(text), reply_markup=keyboards.card(card), protect_content=True
    )


async def on_list(
    callback: CallbackQuery,
    callback_data: Cases,
    bot: Bot,
    state: FSMContext,
    profile: UserProfile,
    cases: CaseService,
) -> None:
    await state.clear()
    status = Status(callback_data.value) if callback_data.value in {s.value for s in Status} else None
    page = callback_data.page
    items, total = await cases.list_for_coordinator(profile.staff, status, page)
    pages = max(1, -(-total // PAGE_SIZE))
    text = _("staff.case_list").format(count=total) if total else _("staff.no_cases")
    await show(callback, bot, text, keyboards.case_list(items, page, pages, callback_data.value))


async def on_open(
    callback: CallbackQuery,
    callback_data: Cases,
    bot: Bot,
    state: FSMContext,
    profile: UserProfile,
    cases: CaseService,
    directory: Directory,
    i18n: I18n,
    settings: Settings,
) -> None:
    await state.clear()
    await send_card(callback, bot, cases, profile, directory, i18n, settings, callback_data.id)


async def on_accept(
    callback: CallbackQuery,
    callback_data: Cases,
    bot: Bot,
    profile: UserProfile,
    cases: CaseService,
    directory: Directory,
    users: UserService,
    i18n: I18n,
    outbox: Queue,
    settings: Settings,
) -> None:
    case_id = callback_data.id
    accepted = await cases.accept(profile.staff_id, profile.staff, case_id)
    citizen = await cases.citizen_of(case_id)
    if citizen is not None:  # the person hears that someone took their request
        told = compose_with(notices.citizen_accepted, accepted)
        await tell_citizen(outbox, users, i18n, citizen, f"case.accepted:{case_id}", told)
    await send_card(callback, bot, cases, profile, directory, i18n, settings, case_id, _("staff.accepted"))
    # What the person wrote while the request waited comes after the card, each message whole and photos
    # as photos: the card can only list them (and cut a long screen).
    for message_id, at, words, photo in await cases.waiting_messages(
        profile.staff_id, profile.staff, case_id
    ):
        purpose = f"relay.earlier:{message_id}:{profile.staff_id}:{callback.id}"
        earlier = notices.earlier_message(
            callback.from_user.id, purpose, accepted, at.astimezone(settings.tz), words, photo
        )
        await outbox.enqueue([earlier])


async def on_refer(
    callback: CallbackQuery,
    callback_data: Cases,
    bot: Bot,
    profile: UserProfile,
    cases: CaseService,
    staff: StaffService,
) -> None:
    card = await cases.card(profile.staff_id, profile.staff, callback_data.id)
    if not card.owner_is_me:
        await callback.answer(_("case.not_owner"), show_alert=True)
        return
    orgs = await staff.organisations(card.summary.oblast, card.summary.district)
    text = _("staff.choose_org") if orgs else _("staff.no_orgs")
    await show(callback, bot, text, keyboards.organisations(callback_data.id, orgs))


async def on_refer_to(
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
    case_id, organisation = callback_data.id, callback_data.value
    if not (organisation.isascii() and organisation.isdigit()):
        raise AccessDenied("case.refer", case_id)
    case, recipients = await cases.refer(profile.staff_id, profile.staff, case_id, int(organisation))
    purpose = f"referral.new:{case.id}:{organisation}:{callback.id}"  # each press
    await tell(
        outbox, users, i18n, recipients, purpose, functools.partial(notices.referral_new, case, directory)
    )
    await send_card(callback, bot, cases, profile, directory, i18n, settings, case_id, _("staff.referred"))


async def on_progress(
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
    case, citizen = await cases.set_status(
        profile.staff_id, profile.staff, callback_data.id, Status.IN_PROGRESS
    )
    await _status_told(outbox, users, i18n, citizen, case)
    await send_card(callback, bot, cases, profile, directory, i18n, settings, callback_data.id)


async def on_close(
    callback: CallbackQuery, callback_data: Cases, bot: Bot, profile: UserProfile, cases: CaseService
) -> None:
    await cases.card(profile.staff_id, profile.staff, callback_data.id)  # scope check before offering
    await show(callback, bot, _("staff.choose_outcome"), keyboards.outcomes(callback_data.id))


async def on_close_with(
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
    outcome = Outcome(callback_data.value) if callback_data.value in {o.value for o in Outcome} else None
    case, citizen = await cases.set_status(
        profile.staff_id, profile.staff, callback_data.id, Status.CLOSED, outcome
    )
    await _status_told(outbox, users, i18n, citizen, case)
    await send_card(callback, bot, cases, profile, directory, i18n, settings, callback_data.id)


async def _status_told(
    outbox: Queue, users: UserService, i18n: I18n, citizen: int | None, case: CaseSummary
) -> None:
    """The person who asked hears where their request is, in their language."""
    if citizen is not None:
        told = compose_with(notices.citizen_status, case)
        await tell_citizen(outbox, users, i18n, citizen, f"case.status:{case.id}:{case.status.value}", told)


async def on_victim_status(
    callback: CallbackQuery, callback_data: Cases, bot: Bot, profile: UserProfile, cases: CaseService
) -> None:
    await cases.card(profile.staff_id, profile.staff, callback_data.id)  # scope check before offering
    await show(callback, bot, _("staff.victim_status_prompt"), keyboards.victim_status(callback_data.id))


async def on_victim_status_set(
    callback: CallbackQuery,
    callback_data: Cases,
    bot: Bot,
    profile: UserProfile,
    cases: CaseService,
    directory: Directory,
    i18n: I18n,
    settings: Settings,
) -> None:
    if callback_data.value not in VICTIM_STATUS_STEPS:
        raise AccessDenied("case.victim_status", callback_data.id)
    await cases.record_victim_status_step(
        profile.staff_id, profile.staff, callback_data.id, callback_data.value
    )
    await send_card(
        callback, bot, cases, profile, directory, i18n, settings, callback_data.id, _("staff.saved")
    )
