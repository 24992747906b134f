"""The quarterly reconciliation end to end, through the fake Telegram server: the police liaison enters
the police figures; the regional coordinator's first figures contradict themselves and are refused
with the reason, the second differ from the police in one figure; confirming with a discrepancy is
refused; the coordinator corrects it; both confirm; the quarter is reconciled and in the history."""

from __future__ import annotations

from bot.clock import today as kyiv_today
from bot.services.reconciliation import FIELDS, reconciliation_due
from bot.services.wording import quarter_name
from bot.settings import Settings
from bot.telegram_emulator.server import FakeTelegramServer
from db.engine import create_engine, create_sessionmaker
from db.models import User, UserRole
from tests.conftest import Person, RunningBot
from tests.test_citizen_e2e import text_of

REGION, POLICE, DISTRICT = 2001, 4001, 2002
POLICE_FIGURES = (10, 6, 4, 8, 2, 5, 4, 1, 3, 2, 9)


async def enrol(settings: Settings, server: FakeTelegramServer) -> None:
    engine = create_engine(settings.database_url)
    async with create_sessionmaker(engine)() as session, session.begin():
        for telegram_id, role, district in (
            (REGION, "coordinator", None),
            (POLICE, "police", None),
            (DISTRICT, "coordinator", "kharkivskyi"),
        ):
            server.add_user(telegram_id)
            user = User(telegram_id=telegram_id, roles=[])
            session.add(user)
            await session.flush()
            session.add(UserRole(user_id=user.id, role=role, oblast="kharkiv", district=district))
    await engine.dispose()


async def type_figures(person: Person, figures: tuple[int, ...], step: dict) -> dict:
    for value in figures:
        assert "Введіть число" in text_of(step)
        step = await person.say(str(value))
    return step


async def open_reconciliation(person: Person) -> dict:
    return await person.press("Квартальна звірка", await person.say("/staff"))


async def test_a_discrepancy_is_corrected_then_both_confirm(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    await enrol(bot.settings, server)
    quarter = reconciliation_due(kyiv_today()).quarter
    label = quarter_name(quarter, "uk")  # "IV квартал 2026"

    police = Person(server, POLICE)
    screen = await open_reconciliation(police)
    assert label in text_of(screen) and "Ваших даних ще немає" in text_of(screen)
    step = await police.press("Внести свої дані", screen)
    # Bad input on the way: words, a photo, an absurd number. Each is refused and asked again.
    assert "ціле число" in text_of(await police.say("десять"))
    assert "Тут потрібен текст" in text_of(await police.send("photo"))
    assert "ціле число" in text_of(await police.say("99999999"))
    review = await type_figures(police, POLICE_FIGURES, step)
    assert "Зберегти" in police.labels(review)
    saved = await police.press("Зберегти", review)
    assert "Дані збережено" in text_of(saved) and "Чекаємо на дані ОДА" in text_of(saved)

    region = Person(server, REGION)
    told = await server.wait_until(
        lambda: next((m for m in server.bot_messages(REGION) if "ГУНП внесло дані" in text_of(m)), None),
        what="the region told of the police figures",
    )
    assert label in text_of(told)
    screen = await open_reconciliation(region)
    step = await region.press("Внести свої дані", screen)
    # Women + men do not add up to the total: refused with the reason, nothing saved.
    review = await type_figures(region, (10, 5, 4, 8, 2, 5, 4, 1, 3, 2, 9), step)
    assert "жінки + чоловіки" in text_of(review) and "Зберегти" not in region.labels(review)
    step = await region.press("Ввести заново", review)
    review = await type_figures(region, (10, 6, 4, 8, 2, 5, 4, 1, 3, 3, 9), step)  # statuses: 3, not 2
    screen = await region.press("Зберегти", review)
    text = text_of(screen)
    assert "⚠️ Встановлено статус постраждалої особи: 2 | 3" in text  # the police figure first
    assert "Розбіжностей: 1" in text

    # Confirming with a discrepancy standing and no explanation is refused.
    refused = await region.press("Підтвердити", screen)
    assert "спершу виправте" in text_of(refused)

    # The coordinator corrects: keeps every figure but the statuses.
    step = await region.press("Виправити свої дані", await open_reconciliation(region))
    for index, name in enumerate(FIELDS):
        if name == "statuses_granted":
            step = await region.say("2")
        else:
            assert f"Залишити {POLICE_FIGURES[index]}" in region.labels(step)
            old_keep = region.button_data("Залишити", step)
            step = await region.press("Залишити", step)
    # An old "keep" pressed again once every figure is in: a stale button, not an error.
    stale = await region.reply_to(lambda: server.press_button(REGION, step["message_id"], old_keep))
    assert "кнопка" in text_of(stale).lower() and "Щось пішло не так" not in text_of(stale)
    screen = await region.press("Зберегти", step)
    assert "⚠️" not in text_of(screen) and "підтвердіть" in text_of(screen)

    screen = await police.press("Підтвердити", await open_reconciliation(police))
    assert "чекаємо на підтвердження ОДА" in text_of(screen)
    screen = await region.press("Підтвердити", await open_reconciliation(region))
    assert "Звірено: обидві сторони підтвердили" in text_of(screen)
    assert "Внести свої дані" not in " ".join(region.labels(screen))  # a reconciled quarter is closed

    await region.press("Історія звірок", screen)
    # The screen is edited in place; a notice from the outbox may arrive in between, so look for it.
    history = await server.wait_until(
        lambda: next(
            (m for m in server.bot_messages(REGION) if "Історія квартальних звірок" in text_of(m)), None
        ),
        what="the history screen",
    )
    assert f"{label}: ✅ Звірено" in text_of(history)
    await server.wait_until(
        lambda: next((m for m in server.bot_messages(POLICE) if "ОДА підтвердила" in text_of(m)), None),
        what="the police told of the confirmation",
    )


async def test_only_the_police_liaison_and_the_regional_coordinator_reconcile(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    await enrol(bot.settings, server)
    # A district coordinator has the workspace button too, but the reconciliation is not theirs.
    district = Person(server, DISTRICT)
    workspace = await district.say("/staff")
    refused = await district.press_data(
        district.button_data("Квартальна звірка", workspace), workspace["message_id"]
    )
    assert refused.params.get("text") == "Ця дія вам недоступна."
    # A forged quarter does not parse: the press gets the stale-button answer, nothing else happens.
    police = Person(server, POLICE)
    screen = await open_reconciliation(police)
    stale = await police.press_data("rc:enter:2026-Q9", screen["message_id"])
    assert stale.params.get("text") and "Введіть число" not in text_of(server.bot_messages(POLICE)[-1])
    # A step button of a dialog that is over (the figures were never started) is stale too.
    stale = await police.press_data("rc:save:2026-Q3", screen["message_id"])
    assert stale.params.get("text")
