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
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot import case_keyboards as ck
from bot import keyboards
from bot.services.cases import CaseService
from bot.services.users import UserProfile
from handlers.ui import stale_button

# How many open requests the one-tap offer names (a person rarely has more than one).
OFFERED_REQUESTS = 3


async def answer_unrecognised(
    message: Message, state: FSMContext, cases: CaseService, *, is_staff: bool = False
) -> None:
    text = message.text or message.caption
    photo = message.photo[-1].file_id if message.photo else None
    command = bool(message.text and message.text.startswith("/"))
    if (text and not command) or photo:
        open_requests = [c for c in await cases.open_requests(message.chat.id) if c.relay_open]
        if open_requests:
            # Kept (encrypted, with the dialog data) until the tap; the tap stores and sends it.
            draft = {"text": text, "photo": photo, "source": message.message_id}
            await state.update_data(draft=draft)
            await message.answer(
                _("draft.offer") + "\n\n" + _("fallback.numbers"),
                reply_markup=ck.send_draft(open_requests[-OFFERED_REQUESTS:]),
            )
            return
    key = "fallback.unknown_command" if command else "fallback.text" if message.text else "fallback.media"
    await message.answer(_("fallback.numbers") + "\n\n" + _(key), reply_markup=keyboards.menu_for(is_staff))


def create_router() -> Router:
    router = Router(name="fallback")

    @router.message(F.text | F.caption | F.photo)
    async def on_text(
        message: Message, state: FSMContext, cases: CaseService, profile: UserProfile, **data: Any
    ) -> None:
        if data.get("danger_shown"):  # the danger screen answered it
            return
        await answer_unrecognised(message, state, cases, is_staff=profile.is_staff)

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
