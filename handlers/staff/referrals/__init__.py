"""Referrals: an organisation's specialists and police liaison answer the referrals it received, and a
referral's two sides (the case's coordinator and the organisation) write to each other.

Only those roles reach the organisation's buttons (anyone else is refused as `denied.referral.<action>`,
audited, and shown the menu); the service checks again that the referral is the person's to see, and its
refusals (AccessDenied, CaseError) are answered here, once for every button."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiogram import F, Router
from aiogram.filters import StateFilter

from bot.callbacks import ReferralAction, ReferralChat, ReferralChatAction, Referrals
from bot.services.cases import CaseError
from bot.services.staff import AccessDenied, Role
from handlers.staff.access import Refusals, RoleRequired, alert
from handlers.staff.referrals import answers, chat
from handlers.staff.referrals.states import ReferralWriting

REFERRAL_ROLES = {Role.SPECIALIST.value, Role.POLICE.value}

ACTIONS: dict[ReferralAction, Callable[..., Awaitable[None]]] = {
    ReferralAction.LIST: answers.on_list,
    ReferralAction.OPEN: answers.on_open,
    ReferralAction.ACCEPT: answers.on_answer,
    ReferralAction.DECLINE: answers.on_decline,
    ReferralAction.DECLINE_WITH: answers.on_answer,
}


def _denied(pressed: Referrals) -> AccessDenied:
    return AccessDenied(f"referral.{pressed.action}")


def _answers() -> Router:
    router = Router(name="referrals.answers")
    router.callback_query.middleware(RoleRequired(REFERRAL_ROLES, _denied))
    for action, handler in ACTIONS.items():
        router.callback_query.register(handler, Referrals.filter(F.action == action))
    return router


def _chat() -> Router:
    """Both sides: the service decides who may write on the referral."""
    router = Router(name="referrals.chat")
    writing = ReferralChat.filter(
        F.action.in_({ReferralChatAction.TO_ORGANISATION, ReferralChatAction.TO_COORDINATOR})
    )
    router.callback_query.register(chat.on_write, writing)
    router.callback_query.register(chat.on_stop, ReferralChat.filter(F.action == ReferralChatAction.STOP))
    router.message.middleware(Refusals())
    text = F.text & ~F.text.startswith("/")
    router.message.register(
        chat.on_message_to_organisation, StateFilter(ReferralWriting.to_organisation), text
    )
    router.message.register(chat.on_message_to_coordinator, StateFilter(ReferralWriting.to_coordinator), text)
    router.message.register(chat.on_other, StateFilter(ReferralWriting), ~F.text.startswith("/"))
    return router


def create_router() -> Router:
    router = Router(name="referrals")
    router.callback_query.middleware(Refusals(then_menu=True, answers={CaseError: alert}))
    router.include_routers(_answers(), _chat())
    return router
