"""The admin's and coordinators' management (/admin): organisations, invites and the staff list, the
oblasts' letter templates (admins), and redeeming an invite link.

Redeeming is for anyone (the person is not staff yet); the rest is gated: /admin and its screens for admins
and coordinators, adding an organisation for admins (handlers/staff/admin/access.py). The services check
role and scope again on every action."""

from __future__ import annotations

from aiogram import Router

from handlers.staff.admin import invites, letter, menu, organisations, staff_list


def create_router() -> Router:
    router = Router(name="admin")
    router.include_routers(
        invites.create_redeem_router(),  # `/start inv_<token>`: before any gate
        menu.create_router(),
        organisations.create_router(),
        invites.create_router(),
        staff_list.create_router(),
        letter.create_router(),
    )
    return router
