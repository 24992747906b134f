"""The official letter to the police, per oblast (admins): see which template is in use, get it as a file
to edit, and send a replacement (a DOCX). The service checks it (bot/services/police_letter.py) and keeps
it, or the admin is told what is wrong and the template in use stays."""

from __future__ import annotations

from html import escape

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import AdminLetter
from bot.clock import local_date
from bot.services.directory import Directory, Oblast
from bot.services.police_letter import TEMPLATE_LIMIT, TemplateRefused
from bot.services.police_reports import PoliceReportService
from bot.services.users import UserProfile
from handlers.staff.access import gate
from handlers.staff.admin import keyboards as kb
from handlers.staff.admin.access import ADMINS, ButtonGate
from handlers.staff.admin.states import LetterUpload
from handlers.ui import chat_id_of, received_file, show, stale_button


async def _in_use(police: PoliceReportService, oblast: str) -> str:
    replaced = await police.letters.replaced_at(oblast)
    if replaced is None:
        return _("letter.in_use_default")
    day = local_date(replaced, police.timezone)
    return _("letter.in_use_replaced").format(date=day.strftime("%d.%m.%Y"))


async def on_step(
    callback: CallbackQuery,
    callback_data: AdminLetter,
    bot: Bot,
    state: FSMContext,
    police: PoliceReportService,
    directory: Directory,
    i18n: I18n,
) -> None:
    """The oblasts; then the chosen one's template in use, and the wait for the replacement."""
    lang = i18n.current_locale
    if not callback_data.oblast:
        await state.clear()
        await show(callback, bot, _("letter.choose_oblast"), kb.letter_oblasts(directory, lang))
        return
    oblast = directory.oblast(callback_data.oblast)
    if oblast is None:
        await stale_button(callback, bot)
        return
    if callback_data.current:
        await _send_current(callback, bot, police, oblast, lang)
        return
    await state.set_state(LetterUpload.file)
    await state.update_data(letter_oblast=oblast.id)
    text = _("letter.ask_file").format(
        oblast=escape(oblast.name.get(lang)), in_use=await _in_use(police, oblast.id)
    )
    await show(callback, bot, text, kb.letter_waiting(oblast.id))


async def _send_current(
    callback: CallbackQuery, bot: Bot, police: PoliceReportService, oblast: Oblast, lang: str
) -> None:
    await callback.answer()
    await bot.send_document(
        chat_id_of(callback),
        BufferedInputFile(await police.letters.current(oblast.id), f"letter-template-{oblast.id}.docx"),
        caption=_("letter.current_caption").format(oblast=escape(oblast.name.get(lang))),
    )


async def on_file(
    message: Message,
    bot: Bot,
    state: FSMContext,
    profile: UserProfile,
    police: PoliceReportService,
    directory: Directory,
    i18n: I18n,
) -> None:
    """The replacement: kept and used from now on, or refused with every problem found."""
    oblast = directory.oblast(str((await state.get_data()).get("letter_oblast", "")))
    document = message.document
    if oblast is None or document is None:
        await state.clear()
        await message.answer(_("stale.text"), reply_markup=kb.back_only())
        return
    try:
        if (document.file_size or 0) > TEMPLATE_LIMIT:
            raise TemplateRefused(["letter.problem.not_docx"])
        content = await received_file(bot, document)
        if content is None:  # the network or Telegram, not the file: the same file may be sent again
            raise TemplateRefused(["letter.problem.not_received"])
        await police.letters.replace(profile.staff_id, profile.staff, oblast.id, content)
    except TemplateRefused as refused:
        await message.answer(refusal(refused), reply_markup=kb.letter_waiting(oblast.id))
        return
    await state.clear()
    name = escape(oblast.name.get(i18n.current_locale))
    await message.answer(_("letter.saved").format(oblast=name), reply_markup=kb.back_only())


def refusal(refused: TemplateRefused) -> str:
    lines = [
        "• " + (_(p).format(detail=escape(refused.detail)) if p == "letter.problem.broken" else _(p))
        for p in refused.problems
    ]
    return _("letter.refused").format(problems="\n".join(lines))


async def on_not_a_file(message: Message, state: FSMContext) -> None:
    oblast = str((await state.get_data()).get("letter_oblast", ""))
    await message.answer(_("letter.not_a_file"), reply_markup=kb.letter_waiting(oblast))


def not_command(message: Message) -> bool:
    return not (message.text or "").startswith("/")


def create_router() -> Router:
    dialog = Router(name="admin.letter_dialog")
    gate(dialog, "letter_template", ADMINS, "admin.denied")
    waiting = StateFilter(LetterUpload.file)
    dialog.message.register(on_file, waiting, F.document)
    dialog.message.register(on_not_a_file, waiting, not_command)

    steps = Router(name="admin.letter_steps")
    steps.callback_query.middleware(ButtonGate("letter_template", ADMINS))
    steps.callback_query.register(on_step, AdminLetter.filter())

    router = Router(name="admin.letter")
    router.include_routers(dialog, steps)
    return router
