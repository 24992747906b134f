"""Routers, one per role and flow. Thin: parse -> call a service -> render.

Routers are built by factories because an aiogram Router can be attached to one dispatcher only.
"""

from __future__ import annotations

from aiogram import Router

from handlers import fallback
from handlers.citizen import advice, menu, my_requests, privacy, request, selfcheck, where
from handlers.staff import (
    admin,
    cases,
    directory_checks,
    directory_import,
    events,
    police,
    reconciliation,
    referrals,
    workspace,
)
from handlers.staff import reports as staff_reports


def build_routers() -> list[Router]:
    # common first: /start, /help and the menu are most of what arrives (each router passed costs its
    # filters; the citizen /start leaves `/start inv_<token>` to admin). fallback last: it answers
    # whatever no other router took.
    return [
        menu.create_router(),
        admin.create_router(),
        # /forget must work in the middle of any dialog: before the routers that hold dialog states.
        privacy.create_router(),
        request.create_router(),
        my_requests.create_router(),
        workspace.create_router(),
        cases.create_router(),
        referrals.create_router(),
        events.create_router(),
        police.create_router(),
        staff_reports.create_router(),
        reconciliation.create_router(),
        directory_checks.create_router(),
        directory_import.create_router(),
        where.create_router(),
        advice.create_router(),
        selfcheck.create_router(),
        fallback.create_router(),
    ]
