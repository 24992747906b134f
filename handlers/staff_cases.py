"""Staff: the workspace. Coordinators take, route and close cases in their scope; specialists and
the police liaison answer referrals to their organisation. Access is checked by the services from
the person's roles on every action; a refused one is audited and answered politely."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from html import escape

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot import case_keyboards as ck
from bot import keyboards, render
from bot.callbacks import Cases, Menu, ReferralChat, Referrals
from bot.case_keyboards import DECLINE_REASONS
from bot.notices import cases as notices
from bot.notices.delivery import compose_with, language_of, relay, tell, tell_citizen
from bot.notices.outgoing import Queue
from bot.services.cases import (
    BREAK_GLASS_REASON_LIMIT,
    PAGE_SIZE,
    CaseCard,
    CaseError,
    CaseService,
    Outcome,
    Status,
    TooLong,
)
from bot.services.directory import Directory
from bot.services.staff import AccessDenied, Role, StaffService
from bot.services.users import UserProfile, UserService
from bot.settings import Settings
from handlers.ui import chat_id_of, refusal_text, show


class StaffWriting(StatesGroup):
    message = State()
    reason = State()  # break-glass: the reason, typed


class ReferralWriting(StatesGroup):
    """Writing on a referral: the case's owner to the organisation, or the organisation back."""

    to_organisation = State()
    to_coordinator = State()


def _card_markup(card: CaseCard) -> ck.InlineKeyboardMarkup:
    return ck.case_actions(
        card.summary, card.owner_is_me, break_glass=card.may_break_glass, reassign=card.may_reassign
    )


CASE_ROLES = {Role.COORDINATOR.value}
REFERRAL_ROLES = {Role.SPECIALIST.value, Role.POLICE.value}


def create_router() -> Router:
    router = Router(name="staff-cases")

    async def refuse(
        callback: CallbackQuery, bot: Bot, cases: CaseService, profile: UserProfile, denial: AccessDenied
    ) -> None:
        await cases.record_denial(profile.id, denial, actor_key=profile.key)
        await callback.answer(_("staff.denied"), show_alert=True)
        await bot.send_message(
            chat_id_of(callback), _("staff.denied_text"), reply_markup=keyboards.menu_for(profile.is_staff)
        )

    async def open_card(
        callback: CallbackQuery,
        bot: Bot,
        cases: CaseService,
        profile: UserProfile,
        directory: Directory,
        lang: str,
        case_id: int,
        note: str = "",
    ) -> None:
        card = await cases.card(profile.staff_id, profile.staff, case_id)
        text = (note + "\n\n" if note else "") + render.case_card(card, directory, lang)
        markup = _card_markup(card)
        await callback.answer()
        # Case content: always a new protected message, never an edit of a notification.
        await bot.send_message(
            chat_id_of(callback), render.fit(text), reply_markup=markup, protect_content=True
        )

    @router.message(Command("staff"))
    async def on_staff_command(message: Message, profile: UserProfile) -> None:
        if not profile.is_staff:
            await message.answer(_("fallback.unknown_command"), reply_markup=keyboards.main_menu())
            return
        await message.answer(_("staff.workspace"), reply_markup=ck.workspace())

    @router.callback_query(Menu.filter(F.to == "staff"))
    async def on_workspace(
        callback: CallbackQuery, bot: Bot, profile: UserProfile, cases: CaseService
    ) -> None:
        if not profile.is_staff:
            await refuse(callback, bot, cases, profile, AccessDenied("workspace"))
            return
        await show(callback, bot, _("staff.workspace"), ck.workspace())

    # --- coordinators --------------------------------------------------------------------------
    @router.callback_query(Cases.filter())
    async def on_case_action(
        callback: CallbackQuery,
        callback_data: Cases,
        bot: Bot,
        state: FSMContext,
        profile: UserProfile,
        cases: CaseService,
        staff: StaffService,
        directory: Directory,
        users: UserService,
        i18n: I18n,
        outbox: Queue,
        settings: Settings,
    ) -> None:
        lang = i18n.current_locale
        action, case_id = callback_data.a, callback_data.id
        try:
            if not CASE_ROLES & profile.roles:
                raise AccessDenied("case." + action, case_id or None)
            if action == "list":
                await state.clear()
                status = Status(callback_data.v) if callback_data.v in {s.value for s in Status} else None
                page = max(0, callback_data.p)
                items, total = await cases.list_for_coordinator(profile.staff, status, page)
                pages = max(1, -(-total // PAGE_SIZE))
                text = _("staff.case_list").format(count=total) if total else _("staff.no_cases")
                await show(callback, bot, text, ck.case_list(items, page, pages, callback_data.v))
            elif action == "open":
                await state.clear()
                await open_card(callback, bot, cases, profile, directory, lang, case_id)
            elif action == "accept":
                try:
                    accepted = await cases.accept(profile.staff_id, profile.staff, case_id)
                except CaseError as exc:
                    await callback.answer(_(str(exc)), show_alert=True)
                    return
                citizen = await cases.citizen_of(case_id)
                if citizen is not None:  # the person hears that someone took their request
                    accepted_notice = compose_with(notices.citizen_accepted, accepted)
                    await tell_citizen(
                        outbox, users, i18n, citizen, f"case.accepted:{case_id}", accepted_notice
                    )
                await open_card(callback, bot, cases, profile, directory, lang, case_id, _("staff.accepted"))
                # What the person wrote while the request waited comes after the card, each message whole
                # and photos as photos: the card can only list them (and cut a long screen).
                for message_id, at, words, photo in await cases.waiting_messages(
                    profile.staff_id, profile.staff, case_id
                ):
                    purpose = f"relay.earlier:{message_id}:{profile.staff_id}:{callback.id}"
                    message = notices.earlier_message(
                        callback.from_user.id, purpose, accepted, at.astimezone(settings.tz), words, photo
                    )
                    await outbox.enqueue([message])
            elif action == "refer":
                card = await cases.card(profile.staff_id, profile.staff, case_id)
                if not card.owner_is_me:
                    await callback.answer(_("case.not_owner"), show_alert=True)
                    return
                orgs = await staff.organisations(card.summary.oblast, card.summary.district)
                text = _("staff.choose_org") if orgs else _("staff.no_orgs")
                await show(callback, bot, text, ck.organisations(case_id, orgs))
            elif action == "refer_to":
                if not (callback_data.v.isascii() and callback_data.v.isdigit()):
                    raise AccessDenied("case.refer", case_id)
                try:
                    case, recipients = await cases.refer(
                        profile.staff_id, profile.staff, case_id, int(callback_data.v)
                    )
                except CaseError as exc:
                    await callback.answer(_(str(exc)), show_alert=True)
                    return
                await tell(
                    outbox,
                    users,
                    i18n,
                    recipients,
                    f"referral.new:{case.id}:{callback_data.v}:{callback.id}",  # each press
                    functools.partial(notices.referral_new, case, directory),
                )
                await open_card(callback, bot, cases, profile, directory, lang, case_id, _("staff.referred"))
            elif action in ("progress", "close_with"):
                outcome = Outcome(callback_data.v) if callback_data.v in {o.value for o in Outcome} else None
                to = Status.IN_PROGRESS if action == "progress" else Status.CLOSED
                try:
                    case, citizen = await cases.set_status(
                        profile.staff_id, profile.staff, case_id, to, outcome
                    )
                except CaseError as exc:
                    await callback.answer(_(str(exc)), show_alert=True)
                    return
                if citizen is not None:
                    purpose = f"case.status:{case.id}:{case.status.value}"
                    told = compose_with(notices.citizen_status, case)
                    await tell_citizen(outbox, users, i18n, citizen, purpose, told)
                await open_card(callback, bot, cases, profile, directory, lang, case_id)
            elif action == "close":
                await cases.card(profile.staff_id, profile.staff, case_id)  # scope check before offering
                await show(callback, bot, _("staff.choose_outcome"), ck.outcomes(case_id))
            elif action == "vs":
                await cases.card(profile.staff_id, profile.staff, case_id)
                await show(callback, bot, _("staff.victim_status_prompt"), ck.victim_status(case_id))
            elif action == "vs_set":
                if callback_data.v not in ck.VICTIM_STATUS_STEPS:
                    raise AccessDenied("case.victim_status", case_id)
                today = datetime.now(UTC)
                card = await cases.card(profile.staff_id, profile.staff, case_id)
                applied = card.victim_status[0] or today
                decided = today if callback_data.v != "applied" else None
                decision = "pending" if callback_data.v == "applied" else callback_data.v
                try:
                    await cases.record_victim_status(
                        profile.staff_id,
                        profile.staff,
                        case_id,
                        applied_on=applied,
                        decision=decision,
                        decided_on=decided,
                    )
                except CaseError as exc:
                    await callback.answer(_(str(exc)), show_alert=True)
                    return
                await open_card(callback, bot, cases, profile, directory, lang, case_id, _("staff.saved"))
            elif action == "write":
                card = await cases.card(profile.staff_id, profile.staff, case_id)
                if not card.owner_is_me or card.summary.status == Status.CLOSED:
                    await callback.answer(_("relay.closed"), show_alert=True)
                    return
                await state.set_state(StaffWriting.message)
                await state.update_data(case_id=case_id)
                await callback.answer()
                await bot.send_message(
                    chat_id_of(callback),
                    _("relay.staff_prompt").format(code=render.code(card.summary.code)),
                    reply_markup=ck.stop_staff_writing(case_id),
                )
            elif action == "bg":
                card = await cases.card(profile.staff_id, profile.staff, case_id)
                if not card.may_break_glass:  # the service refuses it anyway: no prompt to type into
                    raise AccessDenied("case.break_glass", case_id)
                await state.set_state(StaffWriting.reason)
                await state.update_data(case_id=case_id)
                await callback.answer()
                await bot.send_message(
                    chat_id_of(callback),
                    _("access.break_glass_prompt").format(
                        code=render.code(card.summary.code), limit=BREAK_GLASS_REASON_LIMIT
                    ),
                    reply_markup=ck.break_glass_cancel(case_id),
                )
            elif action == "reassign":
                await state.clear()
                try:
                    found = await cases.reassign_candidates(profile.staff_id, profile.staff, case_id)
                except CaseError as exc:
                    await callback.answer(_(str(exc)), show_alert=True)
                    return
                choices = []
                for colleague in found:
                    district = directory.district(colleague.district) if colleague.district else None
                    area = district.name.get(lang) if district else _("access.whole_oblast")
                    label = _("access.colleague").format(area=area, id=colleague.telegram_id)
                    choices.append((colleague.user_id, label))
                text = _("access.choose_coordinator") if choices else _("access.no_coordinators")
                await show(callback, bot, text, ck.colleagues(case_id, choices))
            elif action == "reassign_to":
                if not (callback_data.v.isascii() and callback_data.v.isdigit()) or len(callback_data.v) > 9:
                    raise AccessDenied("case.reassign", case_id)
                try:
                    case, new_owner, previous = await cases.reassign(
                        profile.staff_id, profile.staff, case_id, int(callback_data.v)
                    )
                except CaseError as exc:
                    await callback.answer(_(str(exc)), show_alert=True)
                    return
                actor = profile.telegram_id
                await tell(
                    outbox,
                    users,
                    i18n,
                    [new_owner],
                    f"case.reassigned:{case.id}:{callback.id}",
                    lambda lang: notices.reassigned_to_you(case, directory, lang, actor),
                )
                if previous is not None:
                    await tell(
                        outbox,
                        users,
                        i18n,
                        [previous],
                        f"case.reassigned_away:{case.id}:{callback.id}",
                        lambda lang: notices.reassigned_away(case, directory, lang, actor, new_owner),
                    )
                await open_card(
                    callback, bot, cases, profile, directory, lang, case_id, _("access.reassigned")
                )
            else:
                raise AccessDenied("case." + action[:20], case_id or None)
        except AccessDenied as denial:
            await refuse(callback, bot, cases, profile, denial)

    @router.message(StateFilter(StaffWriting.reason), F.text & ~F.text.startswith("/"))
    async def on_break_glass_reason(
        message: Message,
        state: FSMContext,
        bot: Bot,
        profile: UserProfile,
        cases: CaseService,
        directory: Directory,
        users: UserService,
        i18n: I18n,
        outbox: Queue,
    ) -> None:
        """Break-glass: with the reason typed, the content is shown once (protected) and the case's
        owner is told who opened it and why."""
        case_id = int((await state.get_data()).get("case_id", 0))
        reason = message.text or ""
        try:
            card, owner = await cases.break_glass(profile.staff_id, profile.staff, case_id, reason)
        except AccessDenied as denial:
            await state.clear()
            await cases.record_denial(profile.id, denial, actor_key=profile.key)
            await message.answer(_("staff.denied_text"), reply_markup=keyboards.menu_for(profile.is_staff))
            return
        except CaseError as exc:
            await message.answer(_(str(exc)), reply_markup=ck.break_glass_cancel(case_id))
            return
        await state.clear()
        lang = i18n.current_locale
        text = _("access.break_glass_done") + "\n\n" + render.case_card(card, directory, lang)
        await bot.send_message(
            message.chat.id, render.fit(text), reply_markup=_card_markup(card), protect_content=True
        )
        if owner is not None:
            await tell(
                outbox,
                users,
                i18n,
                [owner],
                f"case.break_glass:{case_id}:{profile.telegram_id}:{message.message_id}",
                lambda lang: notices.break_glass(card, directory, lang, profile.telegram_id, reason),
            )

    @router.message(StateFilter(StaffWriting.reason), ~F.text.startswith("/"))
    async def on_break_glass_other(message: Message, state: FSMContext) -> None:
        case_id = int((await state.get_data()).get("case_id", 0))
        await message.answer(_("access.reason_text"), reply_markup=ck.break_glass_cancel(case_id))

    @router.message(StateFilter(StaffWriting.message), (F.text & ~F.text.startswith("/")) | F.photo)
    async def on_staff_message(
        message: Message,
        state: FSMContext,
        bot: Bot,
        profile: UserProfile,
        cases: CaseService,
        users: UserService,
        i18n: I18n,
        outbox: Queue,
    ) -> None:
        case_id = int((await state.get_data()).get("case_id", 0))
        photo = message.photo[-1].file_id if message.photo else None
        text = message.text or message.caption
        try:
            sent = await cases.staff_message(
                profile.staff_id, profile.staff, case_id, text, photo, message.message_id
            )
        except AccessDenied as denial:
            await state.clear()
            await cases.record_denial(profile.id, denial, actor_key=profile.key)
            await message.answer(_("staff.denied_text"), reply_markup=keyboards.menu_for(profile.is_staff))
            return
        except CaseError as exc:
            if not isinstance(exc, TooLong):
                await state.clear()
            await message.answer(refusal_text(exc), reply_markup=ck.stop_staff_writing(case_id))
            return
        if sent.duplicate:  # the same message again (an update handled twice): passed on before
            await message.answer(_("relay.already"), reply_markup=ck.stop_staff_writing(case_id))
            return
        # The person reads it in the language they use with the bot.
        with i18n.use_locale(await language_of(users, i18n, sent.citizen)):
            header, markup = notices.relay_to_citizen(sent.case)
        outcome = await relay(
            bot, outbox, sent.citizen, f"relay:{sent.message_id}", header, text, photo, markup
        )
        answer = {"sent": "relay.sent", "queued": "relay.queued"}.get(outcome, "relay.not_delivered")
        await message.answer(_(answer), reply_markup=ck.stop_staff_writing(case_id))

    @router.message(StateFilter(StaffWriting.message), ~F.text.startswith("/"))
    async def on_staff_other(message: Message, state: FSMContext) -> None:
        case_id = int((await state.get_data()).get("case_id", 0))
        await message.answer(_("relay.text_or_photo"), reply_markup=ck.stop_staff_writing(case_id))

    # --- organisations: specialists, police liaison ---------------------------------------------
    @router.callback_query(Referrals.filter())
    async def on_referral_action(
        callback: CallbackQuery,
        callback_data: Referrals,
        bot: Bot,
        profile: UserProfile,
        cases: CaseService,
        directory: Directory,
        users: UserService,
        i18n: I18n,
        outbox: Queue,
    ) -> None:
        lang = i18n.current_locale
        try:
            if not REFERRAL_ROLES & profile.roles:
                raise AccessDenied("referral." + callback_data.a[:20])
            if callback_data.a == "list":
                page = max(0, callback_data.p)
                items, total = await cases.referrals_for(profile.staff, page)
                pages = max(1, -(-total // PAGE_SIZE))
                labels = [
                    (r.id, f"{render.code(r.case.code)} · {_(f'referral.status.{r.status}')}") for r in items
                ]
                text = _("referral.list_title").format(count=total) if total else _("referral.none")
                await show(callback, bot, text, ck.referral_list(labels, page, pages))
                return
            if callback_data.a == "open":
                view = await cases.referral(profile.staff_id, profile.staff, callback_data.id)
            elif callback_data.a in ("accept", "decline_with"):
                accept = callback_data.a == "accept"
                if not accept and callback_data.v not in DECLINE_REASONS:
                    raise AccessDenied("referral.answer")
                try:
                    view, owner = await cases.answer_referral(
                        profile.staff_id,
                        profile.staff,
                        callback_data.id,
                        accept,
                        None if accept else callback_data.v,
                    )
                except CaseError as exc:
                    await callback.answer(_(str(exc)), show_alert=True)
                    return
                if owner is not None:
                    await tell(
                        outbox,
                        users,
                        i18n,
                        [owner],
                        f"referral.answer:{view.id}",
                        compose_with(notices.referral_answer, view, None if accept else callback_data.v),
                    )
            elif callback_data.a == "decline":
                await cases.referral(profile.staff_id, profile.staff, callback_data.id)  # scope check
                await show(callback, bot, _("referral.choose_reason"), ck.decline_reasons(callback_data.id))
                return
            else:
                raise AccessDenied("referral." + callback_data.a[:20])
            text = render.referral_card(view, directory, lang)
            await callback.answer()
            await bot.send_message(
                chat_id_of(callback),
                text,
                protect_content=True,
                reply_markup=ck.referral_actions(view.id, view.status == "pending"),
            )
        except AccessDenied as denial:
            await refuse(callback, bot, cases, profile, denial)

    # --- a referral's two sides write to each other: the case's owner and the organisation ----------
    @router.callback_query(ReferralChat.filter(F.a.in_({"org", "coord"})))
    async def on_referral_write(
        callback: CallbackQuery,
        callback_data: ReferralChat,
        bot: Bot,
        state: FSMContext,
        profile: UserProfile,
        cases: CaseService,
    ) -> None:
        to_organisation = callback_data.a == "org"
        try:
            thread = await cases.referral_thread(
                profile.staff_id, profile.staff, callback_data.id, to_organisation=to_organisation
            )
        except AccessDenied as denial:
            await refuse(callback, bot, cases, profile, denial)
            return
        except CaseError as exc:
            await callback.answer(_(str(exc)), show_alert=True)
            return
        await state.set_state(
            ReferralWriting.to_organisation if to_organisation else ReferralWriting.to_coordinator
        )
        await state.update_data(referral_id=thread.referral_id)
        await callback.answer()
        said = {"organisation": escape(thread.organisation), "code": render.code(thread.case.code)}
        prompt = "referrals.prompt_organisation" if to_organisation else "referrals.prompt_coordinator"
        await bot.send_message(
            chat_id_of(callback), _(prompt).format(**said), reply_markup=ck.stop_referral_writing()
        )

    @router.callback_query(ReferralChat.filter(F.a == "stop"))
    async def on_referral_write_stop(
        callback: CallbackQuery, bot: Bot, state: FSMContext, profile: UserProfile
    ) -> None:
        await state.clear()
        if profile.is_staff:
            await show(callback, bot, _("staff.workspace"), ck.workspace())
        else:
            await show(callback, bot, _("menu.text"), keyboards.main_menu())

    async def pass_on(
        message: Message,
        state: FSMContext,
        profile: UserProfile,
        cases: CaseService,
        users: UserService,
        i18n: I18n,
        outbox: Queue,
        *,
        to_organisation: bool,
    ) -> None:
        """One message to the other side of the referral, through the outbox; the sender is told it is
        being passed on (the outbox sends it shortly), not that it arrived."""
        referral_id = int((await state.get_data()).get("referral_id", 0))
        text = message.text or ""
        try:
            thread = await cases.referral_message(
                profile.staff_id, profile.staff, referral_id, text, to_organisation=to_organisation
            )
        except AccessDenied as denial:
            await state.clear()
            await cases.record_denial(profile.id, denial, actor_key=profile.key)
            await message.answer(_("staff.denied_text"), reply_markup=keyboards.menu_for(profile.is_staff))
            return
        except CaseError as exc:
            if not isinstance(exc, TooLong):  # a shorter one may follow; the rest end the mode
                await state.clear()
            await message.answer(refusal_text(exc), reply_markup=ck.stop_referral_writing())
            return
        # Each message its own purpose: the outbox sends one per recipient and purpose.
        purpose = f"referral.message:{referral_id}:{profile.telegram_id}:{message.message_id}"
        compose = compose_with(notices.referral_message, thread, text, to_organisation=to_organisation)
        await tell(outbox, users, i18n, thread.recipients, purpose, compose)
        done = "referrals.passing_to_organisation" if to_organisation else "referrals.passing_to_coordinator"
        await message.answer(_(done), reply_markup=ck.stop_referral_writing())

    @router.message(StateFilter(ReferralWriting.to_organisation), F.text & ~F.text.startswith("/"))
    async def on_message_to_organisation(
        message: Message,
        state: FSMContext,
        profile: UserProfile,
        cases: CaseService,
        users: UserService,
        i18n: I18n,
        outbox: Queue,
    ) -> None:
        await pass_on(message, state, profile, cases, users, i18n, outbox, to_organisation=True)

    @router.message(StateFilter(ReferralWriting.to_coordinator), F.text & ~F.text.startswith("/"))
    async def on_message_to_coordinator(
        message: Message,
        state: FSMContext,
        profile: UserProfile,
        cases: CaseService,
        users: UserService,
        i18n: I18n,
        outbox: Queue,
    ) -> None:
        await pass_on(message, state, profile, cases, users, i18n, outbox, to_organisation=False)

    @router.message(StateFilter(ReferralWriting), ~F.text.startswith("/"))
    async def on_referral_writing_other(message: Message) -> None:
        # Only text goes between a coordinator and an organisation: the outbox carries text, and
        # nothing of the case is kept at rest outside it.
        await message.answer(_("referrals.text_only"), reply_markup=ck.stop_referral_writing())

    return router
