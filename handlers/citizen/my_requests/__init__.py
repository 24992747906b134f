"""Citizen: "my request" (from this chat, or by code), the anonymous relay with the case owner (or,
before anyone accepted, additions to the request), ending and resuming the conversation, withdrawing.

Whatever a person writes about their request reaches a human or gets an answer that helps: a message
in writing mode, a swipe-reply to a message about the request, or text typed at the menu and sent with
one tap (handlers/fallback.py offers it).

An unknown action does not parse (bot.callbacks.MyRequestAction): the fallback router answers it as a
stale button.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import StateFilter

from bot.callbacks import Menu, MenuItem, MyRequestAction, MyRequests
from handlers.citizen.my_requests import handlers as h
from handlers.citizen.my_requests.states import MyCase
from handlers.fallback import VOICE

# What is passed on: text (not a command) or a photo.
PASSED_ON = (F.text & ~F.text.startswith("/")) | F.photo
REPLY_TO_BOT = F.reply_to_message.from_user.is_bot


def create_router() -> Router:
    router = Router(name="citizen-case")
    on = router.callback_query.register
    on(h.on_my_cases, MyRequests.filter(F.action == MyRequestAction.LIST))
    on(h.on_my_cases, Menu.filter(F.to == MenuItem.MY_REQUESTS))
    on(h.on_view, MyRequests.filter(F.action == MyRequestAction.VIEW))
    on(h.on_code_button, MyRequests.filter(F.action == MyRequestAction.CODE))
    router.message.register(h.on_code, StateFilter(MyCase.code), F.text)
    on(h.on_write, MyRequests.filter(F.action == MyRequestAction.WRITE))
    router.message.register(h.on_citizen_message, StateFilter(MyCase.writing), PASSED_ON)
    router.message.register(h.on_citizen_voice, StateFilter(MyCase.writing), VOICE)
    router.message.register(h.on_citizen_other, StateFilter(MyCase.writing), ~F.text.startswith("/"))
    router.message.register(h.on_voice_reply, StateFilter(None, MyCase.writing), REPLY_TO_BOT, VOICE)
    router.message.register(h.on_reply, StateFilter(None, MyCase.writing), REPLY_TO_BOT, PASSED_ON)
    on(h.on_send_draft, MyRequests.filter(F.action == MyRequestAction.SEND_DRAFT))
    on(h.on_end_chat, MyRequests.filter(F.action == MyRequestAction.END_CHAT))
    on(h.on_end_chat_yes, MyRequests.filter(F.action == MyRequestAction.END_CHAT_YES))
    on(h.on_resume_chat, MyRequests.filter(F.action == MyRequestAction.RESUME))
    on(h.on_withdraw, MyRequests.filter(F.action == MyRequestAction.WITHDRAW))
    on(h.on_withdraw_yes, MyRequests.filter(F.action == MyRequestAction.WITHDRAW_YES))
    return router
