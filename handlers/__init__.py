"""Routers, one per role and flow. Thin: parse -> call a service -> render.

Routers are built by factories because an aiogram Router can be attached to one dispatcher only.
"""

from __future__ import annotations

from aiogram import Router

from handlers import advice, common, fallback, privacy, selfcheck, where


def build_routers() -> list[Router]:
    # fallback last: it answers whatever no other router took.
    return [
        common.create_router(),
        where.create_router(),
        advice.create_router(),
        selfcheck.create_router(),
        privacy.create_router(),
        fallback.create_router(),
    ]
