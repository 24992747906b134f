"""A member of staff whose role was removed (or changed) in the middle of a staff dialog.

The dialog's state outlives the role: without this, the next message would reach a handler that
assumes the role (an event's area, the reporting organisation) and fail, or act on a scope the person
no longer has. Checked on the server before any handler runs, on every message in a staff dialog."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import StatesGroup
from aiogram.types import Message, TelegramObject
from aiogram.utils.i18n import gettext as _

from bot import keyboards
from bot.services.staff import Role, StaffService
from bot.services.users import UserProfile, UserService
from handlers.staff.admin.states import AddOrganisation, LetterUpload
from handlers.staff.cases.states import StaffWriting
from handlers.staff.directory_checks.states import EntryFix
from handlers.staff.directory_import.states import DirectoryImportForm
from handlers.staff.events.access import LOGGING_ROLES
from handlers.staff.events.states import EventForm
from handlers.staff.police.states import SignalForm
from handlers.staff.reconciliation.states import ReconcileForm
from handlers.staff.referrals.states import ReferralWriting

ANY_STAFF = frozenset(r.value for r in Role)

# Which roles may be in each staff dialog (the finer scope is the services' to check).
DIALOG_ROLES: dict[type[StatesGroup], frozenset[str]] = {
    EventForm: LOGGING_ROLES,
    SignalForm: frozenset({Role.SPECIALIST.value}),
    ReconcileForm: frozenset({Role.POLICE.value, Role.COORDINATOR.value}),
    EntryFix: frozenset({Role.COORDINATOR.value, Role.ADMIN.value}),
    AddOrganisation: frozenset({Role.ADMIN.value}),
    LetterUpload: frozenset({Role.ADMIN.value}),
    DirectoryImportForm: frozenset({Role.ADMIN.value, Role.COORDINATOR.value}),
    StaffWriting: ANY_STAFF,
    # Writing on a referral: its organisation's specialists and police liaisons, or the case's coordinator.
    ReferralWriting: frozenset({Role.SPECIALIST.value, Role.POLICE.value, Role.COORDINATOR.value}),
}
_ROLES_BY_STATE = {
    state: roles for group, roles in DIALOG_ROLES.items() for state in group.__all_states_names__
}


class StaffDialogGuard(BaseMiddleware):
    """Ends a staff dialog whose person no longer holds a role for it: a command goes on to its
    handler (the person is simply out of the dialog); anything else is answered here and audited."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        dialog = data.get("raw_state") or ""
        roles = _ROLES_BY_STATE.get(dialog)
        profile: UserProfile | None = data.get("profile")
        if roles is None or profile is None:
            return await handler(event, data)
        # Roles read from the database, not the cache: another replica may have removed one.
        users: UserService = data["users"]
        profile = data["profile"] = await users.refresh(profile.telegram_id)
        if roles & profile.roles:
            return await handler(event, data)
        state: FSMContext = data["state"]
        await state.clear()
        data["raw_state"] = None
        staff: StaffService = data["staff"]
        await staff.audit(profile.id, "denied.role_gone", detail=dialog[:200], actor_key=profile.key)
        if isinstance(event, Message) and not (event.text or "").startswith("/"):
            await event.answer(_("staff.role_gone"), reply_markup=keyboards.menu_for(profile.is_staff))
            return None
        return await handler(event, data)  # a command or a button: out of the dialog, handled as usual
