"""The police letter in the bot, through the fake Bot API: the police liaison gets a past month's digest and
letter again (a signal added after the digest went out marked as an amendment), nobody else can; an admin
replaces the oblast's template by sending a DOCX, a file that is not one or lacks the fields is refused and
the template in use stays."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

from docx import Document
from sqlalchemy import select

from bot.app import build_app
from bot.clock import today as kyiv_today
from bot.services.police_letter import SHIPPED_DATA, default_template
from bot.services.police_reports import Signal, previous_month, recent_months
from bot.services.staff import Role, StaffRole
from bot.services.wording import month_name
from bot.telegram_emulator.records import UploadedFile
from bot.telegram_emulator.server import FakeTelegramServer
from db.models import AuditEntry, Organisation, User
from scheduler.jobs import police_digest
from tests.conftest import ADMIN_ID, Person, RunningBot
from tests.test_citizen_e2e import text_of
from tests.test_police_letter import bare_docx, edited, signals_table
from tests.test_police_month_e2e import CENTRE, COORD, LIAISON, SIGNAL, enrol, kyiv

LATER = "Ще одне оголошення, подане після дайджесту"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def label(month: str) -> str:
    return month_name(month, "uk")  # "листопад 2026"


async def _file_and_send_digest(bot: RunningBot, server: FakeTelegramServer, month: str) -> None:
    """The centre files a signal for `month`; on the deadline the liaison gets the digest; then the centre
    adds a signal to the month (after the digest went out)."""
    app = await build_app(bot.settings)
    sender = server.create_bot()
    try:
        async with app.sessionmaker() as session:
            org = await session.scalar(select(Organisation.id).where(Organisation.kind == "social_services"))
            user = await session.scalar(select(User.id).where(User.telegram_id == CENTRE))
        assert org is not None and user is not None
        staff = [StaffRole(Role.SPECIALIST, org, "kharkiv", None)]
        await app.police.file(user, staff, month, [Signal("threat", "labour", "kharkiv-izium", SIGNAL)])
        following = (date.fromisoformat(f"{month}-01") + timedelta(days=32)).replace(day=1)
        ctx = app.job_context(sender)
        ctx.clock = lambda: kyiv(following.replace(day=bot.settings.police_report_day), 12)
        assert await police_digest(ctx) == 1
        await app.outbox.send_due(sender)
        await app.police.amend(user, staff, month, [Signal("offence", "begging", None, LATER)])
    finally:
        await sender.session.close()
        await app.close()


def letter_in(call: Any) -> Any:
    upload = call.params["document"]
    assert isinstance(upload, UploadedFile) and upload.filename.endswith(".docx")
    return Document(io.BytesIO(upload.data))


async def test_the_police_liaison_gets_a_past_month_again_with_the_amendment_marked(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    await enrol(bot.settings, server)
    month = previous_month(kyiv_today())
    await _file_and_send_digest(bot, server, month)

    liaison = Person(server, LIAISON)
    digest = next(m for m in server.bot_messages(LIAISON) if m.get("document"))
    months = await liaison.press("Інші місяці", digest)
    assert "минулих 12 місяців" in text_of(months)
    offered = [m for m in liaison.labels(months) if m[-4:].isdigit()]
    assert offered == [label(m) for m in recent_months(kyiv_today(), 13)[1:]]  # the 12 before this one

    mark = len(server.calls)
    again = await liaison.press(label(month), months)
    call = next(c for c in server.calls[mark:] if c.method == "sendDocument")
    assert "Центр соціальних служб: 2" in call.params["caption"]
    table = signals_table(letter_in(call))
    assert table is not None
    summaries = [row.cells[-1].text for row in table.rows[1:]]
    assert summaries == [SIGNAL, f"{LATER} (уточнення)"]
    assert "Отримано" in " ".join(liaison.labels(again))  # acknowledged from the copy too


async def test_nobody_else_gets_the_digest_and_no_month_beyond_the_twelve(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    await enrol(bot.settings, server)
    month = previous_month(kyiv_today())
    coordinator, liaison = Person(server, COORD), Person(server, LIAISON)
    menu = await coordinator.say("/staff")
    too_old = recent_months(kyiv_today(), 14)[-1]
    for person, data in (
        (coordinator, f"pr:digest:kharkiv|{month}"),
        (coordinator, "pr:digests:kharkiv"),
        (liaison, f"pr:digest:zhytomyr|{month}"),  # not their oblast
        (liaison, f"pr:digest:kharkiv|{too_old}"),
    ):
        mark = len(server.calls)
        answer = await person.press_data(data, menu["message_id"])
        assert answer.params.get("show_alert"), data
        assert not any(c.method == "sendDocument" for c in server.calls[mark:]), data
    app = await build_app(bot.settings)
    try:
        async with app.sessionmaker() as session:
            denied = list(
                await session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("denied.%")))
            )
    finally:
        await app.close()
    assert denied.count("denied.police_digest.again") == 3 and "denied.police_digest.month" in denied


async def test_an_admin_replaces_the_template_by_sending_a_docx(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    server.add_user(ADMIN_ID)
    admin = Person(server, ADMIN_ID)
    step = await admin.press("Шаблон листа до поліції", await admin.say("/admin"))
    step = await admin.press("Харківська область", step)
    assert "типовий шаблон бота" in text_of(step)
    mark = len(server.calls)
    await admin.press("Чинний шаблон файлом", step)
    current = next(c for c in server.calls[mark:] if c.method == "sendDocument").params["document"]
    assert current.data == default_template(SHIPPED_DATA, "kharkiv")

    def send(name: str, content: bytes, mime: str = DOCX) -> Any:
        return admin.reply_to(
            lambda: server.send_document(ADMIN_ID, filename=name, content=content, mime_type=mime)
        )

    refused = await send("notes.txt", b"not a letter", "text/plain")
    assert "Шаблон не прийнято" in text_of(refused) and "не є документом Word" in text_of(refused)
    refused = await send("empty.docx", bare_docx())
    assert "Шаблон не прийнято" in text_of(refused)
    assert "таблиці сигналів" in text_of(refused) and "nil_reports" in text_of(refused)
    typed = await admin.say("ось шаблон")
    assert "файлом DOCX" in text_of(typed)

    own = edited(current.data, lambda xml: xml.replace("[НАЙМЕНУВАННЯ УСТАНОВИ-ВІДПРАВНИКА]", "ЦЕНТР ЗРАЗКА"))
    # A bad network day: Telegram cannot give the file. Said so, nothing kept, the same file again works.
    server.fail_next("getFile", status=400, description="Bad Request: file is temporarily unavailable")
    refused = await send("letter.docx", own)
    assert "не вдалося отримати від Telegram" in text_of(refused) and "ще раз" in text_of(refused)
    saved = await send("letter.docx", own)
    assert "збережено" in text_of(saved)

    app = await build_app(bot.settings)
    try:
        assert await app.police.letters.current("kharkiv") == own
        assert await app.police.letters.current("zhytomyr") == default_template(SHIPPED_DATA, "zhytomyr")
    finally:
        await app.close()
    step = await admin.press(
        "Харківська область", await admin.press("Шаблон листа до поліції", await admin.say("/admin"))
    )
    assert "шаблон, надісланий" in text_of(step)


async def test_a_coordinator_has_no_template_button_and_cannot_send_one(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    await enrol(bot.settings, server)
    coordinator = Person(server, COORD)
    menu = await coordinator.say("/admin")
    assert not any("Шаблон листа" in label for label in coordinator.labels(menu))
    answer = await coordinator.press_data("adl:kharkiv:0", menu["message_id"])
    assert answer.params.get("text")  # refused, as every admin-only button is
    mark = len(server.calls)
    await coordinator.reply_to(
        lambda: server.send_document(COORD, filename="x.docx", content=bare_docx(), mime_type=DOCX)
    )
    assert not any("збережено" in str(c.params.get("text")) for c in server.calls[mark:])


async def test_the_monthly_digest_is_made_from_the_template_an_admin_sent(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    await enrol(bot.settings, server)
    own = edited(
        default_template(SHIPPED_DATA, "kharkiv"),
        lambda xml: xml.replace("[НАЙМЕНУВАННЯ УСТАНОВИ-ВІДПРАВНИКА]", "ЦЕНТР ЗРАЗКА"),
    )
    app = await build_app(bot.settings)
    try:
        async with app.sessionmaker() as session:
            admin = await session.scalar(select(User.id).where(User.telegram_id == COORD))
        assert admin is not None  # the roles are what the service checks: an admin's
        await app.police.letters.replace(admin, [StaffRole(Role.ADMIN, None, None, None)], "kharkiv", own)
    finally:
        await app.close()
    month = previous_month(kyiv_today())
    await _file_and_send_digest(bot, server, month)
    call = next(c for c in server.calls_to("sendDocument") if str(c.params.get("chat_id")) == str(LIAISON))
    paragraphs = [p.text for p in letter_in(call).paragraphs]
    assert "ЦЕНТР ЗРАЗКА" in paragraphs and "[НАЙМЕНУВАННЯ УСТАНОВИ-ВІДПРАВНИКА]" not in paragraphs
