"""The staff workspace: /staff or the menu's button opens it; its buttons lead to each staff flow, whose
routers decide who may use them."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot import keyboards as menus
from bot.callbacks import (
    CaseAction,
    Cases,
    EventAction,
    Events,
    Menu,
    MenuItem,
    PoliceAction,
    PoliceReports,
    ReconciliationAction,
    Reconciliations,
    ReferralAction,
    Referrals,
    ReportAction,
    Reports,
)
from bot.keyboards import back_to_menu_row, button, markup, per_locale
from bot.services.staff import AccessDenied
from bot.services.users import UserProfile
from handlers.staff.access import Refusals
from handlers.ui import show


@per_locale
def keyboard() -> InlineKeyboardMarkup:
    return markup(
        [button(_("staff.cases"), Cases(action=CaseAction.LIST))],
        [button(_("staff.referrals"), Referrals(action=ReferralAction.LIST))],
        [
            button(_("event.log"), Events(action=EventAction.START)),
            button(_("event.mine"), Events(action=EventAction.MINE)),
        ],
        [button(_("event.scope"), Events(action=EventAction.SCOPE))],
        [
            button(_("police.file"), PoliceReports(action=PoliceAction.START)),
            button(_("police.compliance"), PoliceReports(action=PoliceAction.COMPLIANCE)),
        ],
        [button(_("report.button"), Reports(action=ReportAction.START))],
        [button(_("reconcile.menu"), Reconciliations(action=ReconciliationAction.VIEW))],
        back_to_menu_row(),
    )


async def on_command(message: Message, profile: UserProfile) -> None:
    if not profile.is_staff:  # to a citizen, a command that does not exist
        await message.answer(_("fallback.unknown_command"), reply_markup=menus.main_menu())
        return
    await message.answer(_("staff.workspace"), reply_markup=keyboard())


async def on_open(callback: CallbackQuery, bot: Bot, profile: UserProfile) -> None:
    if not profile.is_staff:
        raise AccessDenied("workspace")
    await show(callback, bot, _("staff.workspace"), keyboard())


def create_router() -> Router:
    router = Router(name="staff-workspace")
    router.message.register(on_command, Command("staff"))
    router.callback_query.middleware(Refusals(then_menu=True))
    router.callback_query.register(on_open, Menu.filter(F.to == MenuItem.STAFF))
    return router
