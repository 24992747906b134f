"""Whatever no other router took: text where a button was expected, media, unknown commands,
buttons from old screens or forged callback data.

No message from a person goes unanswered or lost: each answer carries the emergency numbers in one
line and the menu (with the way into the workspace for staff); words of danger got the danger screen
already (bot/middlewares.py DangerWords); and someone with an open request is offered to send what
they wrote to it with one tap, since that is most likely what they meant.
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot import keyboards
from bot.callbacks import MyRequestAction, MyRequests
from bot.keyboards import back_to_menu_row, button, markup
from bot.services.cases import CaseService, CaseSummary, Status
from bot.services.users import UserProfile
from handlers.ui import stale_button

# How many open requests the one-tap offer names (a person rarely has more than one).
OFFERED_REQUESTS = 3
# How many messages typed at the menu wait for their tap (each button sends its own message).
KEPT_DRAFTS = 10
VOICE = F.voice | F.video_note | F.audio


def send_draft(cases: list[CaseSummary], message_id: int) -> InlineKeyboardMarkup:
    """A message typed at the menu by someone with an open request: one tap sends that message there (a
    button per request when there are several), or the menu."""

    def send(label: str, case: CaseSummary) -> InlineKeyboardButton:
        return button(label, MyRequests(action=MyRequestAction.SEND_DRAFT, id=case.id, draft=message_id))

    if len(cases) == 1:
        # Before anyone accepted there is no coordinator to send it to: it is added to the request.
        label = _("draft.add") if cases[0].status == Status.NEW else _("draft.send")
        rows = [[send(label, cases[0])]]
    else:
        rows = [[send(_("draft.send_to").format(code=f"{c.code[:4]}-{c.code[4:]}"), c)] for c in cases]
    return markup(*rows, back_to_menu_row())


async def offer_to_request(message: Message, state: FSMContext, cases: CaseService, *, numbers: bool) -> bool:
    """Someone with an open request wrote at the menu: offer to send this very message there with one
    tap; False when they have none that takes messages (or it is not text or a photo)."""
    text = message.text or message.caption
    photo = message.photo[-1].file_id if message.photo else None
    if not (text and not text.startswith("/")) and not photo:
        return False
    open_requests = [c for c in await cases.open_requests(message.chat.id) if c.relay_open]
    if not open_requests:
        return False
    # Kept (encrypted, with the dialog data) until its tap; several may wait, each with its own button.
    drafts = dict((await state.get_data()).get("drafts") or {})
    drafts[str(message.message_id)] = {"text": text, "photo": photo}
    await state.update_data(drafts=dict(list(drafts.items())[-KEPT_DRAFTS:]))
    offer = _("draft.offer") + ("\n\n" + _("fallback.numbers") if numbers else "")
    await message.answer(
        offer, reply_markup=send_draft(open_requests[-OFFERED_REQUESTS:], message.message_id)
    )
    return True


async def answer_unrecognised(
    message: Message, state: FSMContext, cases: CaseService, *, is_staff: bool = False
) -> None:
    if await offer_to_request(message, state, cases, numbers=True):
        return
    command = bool(message.text and message.text.startswith("/"))
    key = "fallback.unknown_command" if command else "fallback.text" if message.text else "fallback.media"
    await message.answer(_("fallback.numbers") + "\n\n" + _(key), reply_markup=keyboards.menu_for(is_staff))


def create_router() -> Router:
    router = Router(name="fallback")

    @router.message(F.text | F.caption | F.photo)
    async def on_text(
        message: Message, state: FSMContext, cases: CaseService, profile: UserProfile, **data: Any
    ) -> None:
        if data.get("danger_shown"):
            # The danger screen showed the numbers; words this urgent must still be able to reach the
            # coordinator of an open request.
            await offer_to_request(message, state, cases, numbers=False)
            return
        await answer_unrecognised(message, state, cases, is_staff=profile.is_staff)

    @router.message(VOICE)
    async def on_voice(message: Message, cases: CaseService, profile: UserProfile) -> None:
        # Someone with an open request most likely meant it for the coordinator: say why it is not passed on.
        has_request = any(c.relay_open for c in await cases.open_requests(message.chat.id))
        key = "relay.no_voice" if has_request else "fallback.media"
        await message.answer(
            _("fallback.numbers") + "\n\n" + _(key), reply_markup=keyboards.menu_for(profile.is_staff)
        )

    @router.message()
    async def on_other(message: Message, profile: UserProfile) -> None:
        await message.answer(
            _("fallback.numbers") + "\n\n" + _("fallback.media"),
            reply_markup=keyboards.menu_for(profile.is_staff),
        )

    @router.callback_query()
    async def on_unknown_button(callback: CallbackQuery, bot: Bot) -> None:
        await stale_button(callback, bot)

    return router
