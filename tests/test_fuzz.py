"""Fuzzing through the real dispatcher (issue 7).

A hypothesis state machine where each step is one update from one person, fed to the real
dispatcher (middlewares, routers, FSM storage, SQLite) with the Bot talking to the fake Bot API
server, which refuses whatever Telegram would refuse. Citizens, a coordinator, specialists, the
police liaison, the admin and strangers type any Unicode, commands with junk, press the buttons
they see, press stale buttons (their own and other people's, a citizen pressing a staff button),
forged callback data, send media, edit old messages, write from groups and channels.

Every dialog state is reached in every default run (asserted): besides the junk, people walk the
dialogs as users would (the state-aware walk types what each prompt asks and presses the button
pressed least so far; ROUTES take staff into the long dialogs), and each run starts from a stage
earlier runs may have undone (roles an admin removed, a withdrawn case, answered directory checks).

After every update: no handler let an exception out (the UpdateGuard logs each one at ERROR),
every call the bot made was accepted by the server, and nothing sent to a non-staff chat holds
staff data (planted markers: another citizen's case description and messages, organisation and
staff names). At the end of each run: database invariants (nothing half-written).

Default: 10,000+ updates from a fixed seed (the same updates every run). Environment:
  DOVIRA_FUZZ_UPDATES=N   how many updates in all (default 10,000)
  DOVIRA_FUZZ_SEED=S      the seed (default 20261201); a failure prints the one to replay it with
  DOVIRA_FUZZ_SHRINK=1    let hypothesis shrink a failure (slow: each attempt replays a run)
  DOVIRA_FUZZ_HTTP=1      the bot talks to the fake server over HTTP (default: in process, faster)
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import random
import sys
import time
import types
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import hypothesis.core
import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.enums import ParseMode
from aiogram.fsm.state import StatesGroup
from aiogram.types import Update
from hypothesis import HealthCheck, Phase, Verbosity, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test
from sqlalchemy import select

from bot.app import App, build_app, create_bot
from bot.notices import keyboards as notice_keyboards
from bot.notices import outbox as outbox_module
from bot.notices.outgoing import Outgoing
from bot.services.cases import Status
from bot.services.directory import Directory
from bot.services.directory_exchange import to_csv as exchange_csv
from bot.services.staff import Role, StaffRole
from bot.settings import load_settings
from bot.telegram_emulator.server import Call, FakeTelegramServer
from db.models import Case, Organisation, Referral, User, UserRole
from scheduler.freshness import REPEAT_DAYS, directory_freshness
from scheduler.jobs import JOBS, run_job
from tests import fuzz_support as fz
from tests.test_case_rules import draft

TOKEN = "42:TEST"
ADMIN = 900
COORDINATOR, DISTRICT_COORDINATOR, SPECIALIST, POLICE = 2001, 2002, 2003, 2004
STAFF = (ADMIN, COORDINATOR, DISTRICT_COORDINATOR, SPECIALIST, POLICE)
CITIZENS = (1001, 1002, 1003)
OTHER_CITIZEN = 5000  # filed the planted case; never fuzzed
STEPS_PER_RUN = 500
RUNS_PER_BATCH = 10
MEAN_UPDATES_PER_RUN = 250  # a guess for the first batch (hypothesis decides how many steps a run has)

# The scheduled jobs run once at this instant: 10:30 in Kyiv on Friday 31 March 2028, the last working
# day of a quarter (its reconciliation opens), with every directory entry more than a year old.
JOBS_AT = datetime(2028, 3, 31, 7, 30, tzinfo=UTC)

UPDATES = int(os.environ.get("DOVIRA_FUZZ_UPDATES", "10000"))
SEED = int(os.environ.get("DOVIRA_FUZZ_SEED", "20261201"))

# Calls the server may refuse without it being a bug, and why. Everything else must be accepted.
# handlers/ui.py `show` edits the screen a button was on and, when Telegram says it is unchanged (the
# same button pressed twice) or can no longer be edited, leaves it or sends a new message instead.
EDIT_FALLBACKS = ("message is not modified", "message can't be edited", "message to edit not found")
ALLOWED_REFUSALS: dict[str, tuple[str, ...]] = {"editMessageText": EDIT_FALLBACKS}


class World:
    """One fresh database and app; the fake server, bot and event loop are shared by all runs."""

    def __init__(self, app: App, bot: Bot, server: FakeTelegramServer, errors: fz.ErrorLog) -> None:
        self.app = app
        self.bot = bot
        self.server = server
        self.errors = errors
        self.callbacks: list[str] = []  # callback data seen on the bot's buttons, for stale presses
        self.seen_callbacks: set[str] = set()
        self.checked = len(server.calls)
        self.fed = 0
        self.busy = 0.0  # seconds spent feeding updates (the rest: generating them)
        self.states: set[str] = set()
        self.current: dict[int, str | None] = {}  # each chat's dialog state, as the bot last set it
        self.pressed: dict[str, int] = {}  # how often each callback data was pressed by a guide
        self.codes: list[str] = []  # case codes the citizens were given (typed at "my case")

    async def feed(self, make_update: Any) -> None:
        """`make_update()` queues an update on the fake server (as a client would); it is taken
        from there and fed to the dispatcher directly (no polling)."""
        self.server.take_updates()
        make_update()
        updates = self.server.take_updates()
        for raw in updates:
            if raw.get("my_chat_member"):
                continue
            update = Update.model_validate(raw, context={"bot": self.bot})
            await self.app.dispatcher.feed_update(self.bot, update, i18n=self.app.i18n)
            self.fed += 1
            self.check(raw)

    async def flush_outbox(self) -> None:
        """Notifications (to coordinators, replies to citizens) go through the outbox: send them."""
        await self.app.outbox.send_due(self.bot)
        self.check({"outbox": True})

    def check(self, update: dict[str, Any]) -> None:
        if self.errors.records:
            record = self.errors.records[0]
            raise AssertionError(f"unhandled exception: {record.getMessage()} on update {str(update)[:600]}")
        calls = self.server.calls[self.checked :]
        self.checked = len(self.server.calls)
        for call in calls:
            self._check_call(call, update)

    def _check_call(self, call: Call, update: dict[str, Any]) -> None:
        if not call.ok:
            allowed = ALLOWED_REFUSALS.get(call.method, ())
            if not any(reason in (call.error or "") for reason in allowed):
                raise AssertionError(
                    f"Telegram would refuse {call.method}: {call.error}; params "
                    f"{str(call.params)[:400]}; on update {str(update)[:600]}"
                )
            return
        params = call.params
        if call.method == "answerCallbackQuery":
            assert len(str(params.get("text") or "")) <= fz.CALLBACK_ANSWER_LIMIT
        for data in _callback_data(params.get("reply_markup")):
            if data not in self.seen_callbacks:
                self.seen_callbacks.add(data)
                self.callbacks.append(data)
        chat = _as_int(params.get("chat_id"))
        if chat is None and call.method == "answerCallbackQuery":
            chat = _as_int((update.get("callback_query") or {}).get("from", {}).get("id"))
        if chat is None or chat in STAFF:
            return
        shown = fz.visible_text(params)
        leaks = [m for m in (fz.SECRET_CASE, fz.SECRET_ORG, fz.SECRET_STAFF) if m in shown]
        leaks += [
            f"{fz.SECRET_CITIZEN}{other}"
            for other in CITIZENS
            if other != chat and f"{fz.SECRET_CITIZEN}{other}" in shown
        ]
        if leaks:
            raise AssertionError(
                f"staff data {leaks} in {call.method} to non-staff chat {chat}: {shown[:500]!r}; "
                f"on update {str(update)[:600]}"
            )


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _callback_data(markup: Any) -> list[str]:
    if isinstance(markup, str):
        import json

        try:
            markup = json.loads(markup)
        except ValueError:
            return []
    if not isinstance(markup, dict):
        return []
    return [
        b["callback_data"]
        for row in markup.get("inline_keyboard") or []
        for b in row
        if isinstance(b, dict) and b.get("callback_data")
    ]


def all_dialog_states() -> set[str]:
    import handlers

    found: set[str] = set()
    for module in vars(handlers).values():
        for value in vars(module).values() if isinstance(module, types.ModuleType) else ():
            if isinstance(value, type) and issubclass(value, StatesGroup) and value is not StatesGroup:
                found.update(value.__all_states_names__)
    return found


def states_the_data_cannot_reach(directory: Directory) -> set[str]:
    """The help request asks for the community only in a district data/regions.yaml gives communities."""
    if any(d.communities for o in directory.oblasts for d in o.districts):
        return set()
    return {"RequestForm:community"}


async def _grant_staff_roles(app: App) -> dict[int, int]:
    """Each member of staff with their role (again, when a run's admin removed it: each run starts
    with the whole team). Returns their user ids."""
    user_ids: dict[int, int] = {}
    async with app.sessionmaker() as session, session.begin():
        # The planted organisations (the first of each kind), not one an admin added since: the staged
        # referral goes to the planted social services.
        orgs: dict[str, int] = {}
        for org in await session.scalars(select(Organisation).order_by(Organisation.id)):
            orgs.setdefault(org.kind, org.id)
        for telegram_id, role, kind, district in (
            (COORDINATOR, "coordinator", None, None),
            (DISTRICT_COORDINATOR, "coordinator", None, "kharkiv-bohodukhiv"),
            (SPECIALIST, "specialist", "social_services", None),
            (POLICE, "police", "police", None),
        ):
            user = await session.scalar(select(User).where(User.telegram_id == telegram_id))
            if user is None:
                user = User(telegram_id=telegram_id, roles=[])
                session.add(user)
                await session.flush()
            user_ids[telegram_id] = user.id
            held = await session.scalar(
                select(UserRole).where(UserRole.user_id == user.id, UserRole.role == role)
            )
            if held is None:
                session.add(
                    UserRole(
                        user_id=user.id,
                        role=role,
                        oblast="kharkiv",
                        district=district,
                        organisation_id=orgs[kind] if kind else None,
                    )
                )
            app.users.invalidate(telegram_id)
    return user_ids


async def _plant(app: App, server: FakeTelegramServer) -> list[str]:
    """Staff with their organisations, and a case filed by another citizen: the secrets. Returns
    its code (a citizen who types it at "my case" must learn its status and nothing else)."""
    for telegram_id in STAFF:
        server.add_user(telegram_id, first_name=f"{fz.SECRET_STAFF}{telegram_id}")
    for telegram_id in (*CITIZENS, OTHER_CITIZEN):
        server.add_user(telegram_id)
    async with app.sessionmaker() as session, session.begin():
        for kind in ("social_services", "police"):
            session.add(
                Organisation(name=f"{fz.SECRET_ORG} {kind}", kind=kind, oblast="kharkiv", district=None)
            )
    await _grant_staff_roles(app)
    secret_case = draft(
        urgent=True, consent_police=True, description=f"{fz.SECRET_CASE} my employer took my passport"
    )
    secret = await app.cases.create(secret_case, citizen_chat_id=OTHER_CITIZEN)
    return [secret.code]


async def _stage_referral(world: World, user_ids: dict[int, int], run: int) -> None:
    """A referral the planted social services accepted, and, each run, the two notices whose buttons
    open writing on it (routes press them; a run may have cleared the chat): the coordinator's (the
    organisation's answer) and the specialist's (a message from the coordinator). Filed by the citizen
    who is never fuzzed, so that nobody withdraws it; staged again once the case is closed or has
    left the coordinator."""
    app = world.app
    async with app.sessionmaker() as session:
        centre = await session.scalar(
            select(Organisation).where(Organisation.kind == "social_services").order_by(Organisation.id)
        )
        referral = await session.scalar(
            select(Referral.id)
            .join(Case)
            .where(
                Referral.organisation_id == (centre.id if centre else None),
                Referral.status == "accepted",
                Case.status != "closed",
                Case.owner_id == user_ids[COORDINATOR],
            )
            .order_by(Referral.id.desc())
        )
    if centre is None or not centre.active:
        return
    if referral is None:
        regional = StaffRole(Role.COORDINATOR, None, "kharkiv", None)
        case = await app.cases.create(draft(description=f"{fz.SECRET_CASE} referred"), OTHER_CITIZEN)
        await app.cases.accept(user_ids[COORDINATOR], [regional], case.id)
        await app.cases.refer(user_ids[COORDINATOR], [regional], case.id, centre.id)
        async with app.sessionmaker() as session:
            referral = await session.scalar(select(Referral.id).where(Referral.case_id == case.id))
        assert referral is not None
        specialist = StaffRole(Role.SPECIALIST, centre.id, "kharkiv", None)
        await app.cases.answer_referral(user_ids[SPECIALIST], [specialist], referral, True)
    async with app.sessionmaker() as session:
        case_id = await session.scalar(select(Referral.case_id).where(Referral.id == referral))
    assert case_id is not None
    with app.i18n.context(), app.i18n.use_locale("uk"):
        purpose = f"stage:{referral}:{run}"
        await app.outbox.enqueue(
            [
                Outgoing(
                    COORDINATOR, purpose, "answered", notice_keyboards.referral_answered(case_id, referral)
                ),
                Outgoing(
                    SPECIALIST,
                    purpose,
                    "from the coordinator",
                    notice_keyboards.reply_to_coordinator(referral),
                ),
            ]
        )


async def _set_the_stage(world: World, run: int) -> None:
    """At the start of each run, what earlier runs may have undone: the whole team holds its roles
    (an admin may have removed them), the first citizen has a case a coordinator took (they may have
    withdrawn it), a referral to the specialist's organisation, and directory entries are due
    for a check again (a later day: earlier notices were answered)."""
    app = world.app
    user_ids = await _grant_staff_roles(app)
    own = [c for c in await app.cases.of_citizen(CITIZENS[0]) if c.status != Status.CLOSED]
    if not own:
        own_case = draft(description=f"{fz.SECRET_CITIZEN}{CITIZENS[0]} робота без договору")
        case = await app.cases.create(own_case, citizen_chat_id=CITIZENS[0])
        regional = StaffRole(Role.COORDINATOR, None, "kharkiv", None)
        await app.cases.accept(user_ids[COORDINATOR], [regional], case.id)  # the citizen can write
        world.codes.append(case.code)
    await _stage_referral(world, user_ids, run)
    day = JOBS_AT + timedelta(days=(REPEAT_DAYS + 1) * run)
    await directory_freshness(dataclasses.replace(app.job_context(world.bot), clock=lambda: day))
    await app.outbox.send_due(world.bot)
    world.check({"stage": run})


private_users = st.one_of(
    st.sampled_from(CITIZENS),
    st.sampled_from(STAFF),
    st.integers(10_000, 10**12),  # a stranger (a new user each time)
)
known_users = st.sampled_from((*CITIZENS, *STAFF))
# A button pressed on a message that is not there (deleted, or never was): an InaccessibleMessage.
# (Telegram never sends a button press on a person's own message, so existing ids are not drawn.)
missing_message_ids = st.integers(10**8, 2**31 - 1)


# The ways into (and through) the longer dialogs: who takes them, and the steps on the way: a
# command, "T:" and what is typed, or a button by its callback data prefix. The fuzzer's other rules
# go on from wherever these lead, so every dialog state is reached in every run.
TO_WORKSPACE = ("/start", "m:staff")
EVENT_TO_EXTRAS = ("/event", "ev:kind", "ev:measure", "ev:date:0", "ev:district", "T:25")
SIGNAL_TO_DESCRIPTION = (
    *TO_WORKSPACE,
    "pr:start",
    "pr:month",
    "pr:signal",
    "pr:kind",
    "pr:expl",
    "pr:district",
)
POLICE_FIGURES = ("T:4", "T:2", "T:2", "T:3", "T:1", "T:2", "T:1", "T:1", "T:1", "T:1", "T:2")
REGION_FIGURES = ("T:4", "T:2", "T:2", "T:3", "T:1", "T:2", "T:1", "T:1", "T:2", "T:1", "T:2")  # 1 differs
RECONCILE = (*TO_WORKSPACE, "rc:view", "rc:enter")
ROUTES: tuple[tuple[int, tuple[str, ...]], ...] = (
    (CITIZENS[0], ("/start", "m:mycase", "cz:view", "cz:write")),  # to the coordinator of their case
    (
        CITIZENS[1],
        (
            "/start",
            "m:request",
            "rq:sit",
            "rq:obl",
            "rq:dis",
            "rq:urg",
            "rq:contact",
            "rq:consent",
            "rq:edit",
        ),
    ),
    (SPECIALIST, ("/event", "ev:kind", "ev:search")),
    (SPECIALIST, ("/event", "ev:kind", "ev:measure", "ev:date:other")),
    (SPECIALIST, (*EVENT_TO_EXTRAS, "ev:breakdown")),
    (SPECIALIST, (*EVENT_TO_EXTRAS, "ev:cost", "T:1500")),
    (SPECIALIST, (*EVENT_TO_EXTRAS, "ev:attach")),
    (SPECIALIST, (*EVENT_TO_EXTRAS, "ev:save")),
    (SPECIALIST, SIGNAL_TO_DESCRIPTION),  # the monthly police notification
    (POLICE, (*RECONCILE, *POLICE_FIGURES, "rc:save")),
    (COORDINATOR, (*RECONCILE, *REGION_FIGURES, "rc:save", "rc:explain")),
    (COORDINATOR, (*TO_WORKSPACE, "cs:list", "cs:open", "cs:write")),
    (COORDINATOR, (*TO_WORKSPACE, "cs:list", "cs:open", "cs:bg")),  # break-glass: asks for a reason
    # Writing on a referral, from the buttons of the staged notices (and of the organisation's answers).
    (COORDINATOR, ("rm:org", "T:Чи є новини щодо справи?")),
    (SPECIALIST, ("rm:coord",)),
    # A directory entry due for a check (the scheduler's notices): corrected.
    (COORDINATOR, ("dc:fix", "T:+380571234567", "T:м. Харків, вул. Сумська, 1", "T:лист ОДА від 01.03.2028")),
    (DISTRICT_COORDINATOR, ("dc:fix", "dc:keep", "dc:keep")),
    (ADMIN, ("/admin", "ad:org", "T:Центр соціальних служб громади")),
    # A directory import: the CSV of the entries as they are (a dry run with nothing to change), then yes.
    (COORDINATOR, ("/admin", "dim:start", "F:directory.csv", "dim:yes")),
)


def directory_csv(directory: Directory) -> bytes:
    """The kharkiv entries in the import's CSV (bot/services/directory_exchange.py)."""
    return exchange_csv([e for e in directory.entries if e.oblast == "kharkiv"])


def citizen_text(user: int, text: str, marked: bool) -> str:
    """Citizens sometimes sign what they type, so that it can be traced if it reaches another citizen."""
    if marked and user in CITIZENS:
        return f"{fz.SECRET_CITIZEN}{user} {text}"
    return text


async def _build_world(base: Path, server: FakeTelegramServer, errors: fz.ErrorLog) -> World:
    app_settings = load_settings(
        _env_file=None,
        REDIS_URL="",
        BOT_API_BASE=server.base_url,
        DATABASE_URL=f"sqlite+aiosqlite:///{base / 'fuzz.db'}",
        ADMIN_IDS=str(ADMIN),
        KEY_FILE=str(base / "dovira.key"),
        SEND_RATE_PER_S=1000,
    )
    app = await build_app(app_settings)
    codes = await _plant(app, server)
    if os.environ.get("DOVIRA_FUZZ_HTTP"):
        bot = create_bot(app_settings, TOKEN)
    else:  # as create_bot makes it, with the session handing requests to the server in process
        bot = Bot(
            TOKEN,
            session=fz.InProcessSession(server),
            default=DefaultBotProperties(parse_mode=ParseMode.HTML),
        )
    world = World(app, bot, server, errors)
    world.codes = codes
    # Every scheduled job once, on a day when each has something to say (a quarter's reconciliation
    # open, directory entries more than a year old, a case past its deadline): staff get the notices
    # and buttons the scheduler sends, and the fuzzer presses them like any other.
    jobs_context = dataclasses.replace(app.job_context(bot), clock=lambda: JOBS_AT)
    for name in JOBS:
        await run_job(name, jobs_context)
    await app.outbox.send_due(bot)
    world.checked = len(server.calls)
    # Which dialog states the fuzzer reached, and each chat's current one (for the walk); the storage
    # is otherwise untouched.
    set_state = app.storage.set_state

    async def recording_set_state(key: Any, state: Any = None) -> None:
        name = getattr(state, "state", state)
        if name:
            world.states.add(str(name))
        world.current[key.chat_id] = str(name) if name else None
        await set_state(key, state)

    app.storage.set_state = recording_set_state  # type: ignore[method-assign]
    return world


def make_machine(runner: asyncio.Runner, world: World, shared: dict[str, Any]) -> type[RuleBasedStateMachine]:
    """Every run (hypothesis example) goes on in the same app and database, so that dialogs, cases
    and events pile up and later runs start in the states earlier ones left."""

    class DispatcherFuzz(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            shared["runs"] += 1
            self.world = world
            runner.run(_set_the_stage(world, shared["runs"]))
            self.steps = 0
            self.fed_before = world.fed
            self.last_user: int | None = None

        def _step(self, make_update: Any, user: int | None = None) -> None:
            if self.world.fed >= UPDATES:
                return  # enough: the rest of this run's steps (hypothesis decides how many) are void
            if user is not None and (user in CITIZENS or user in STAFF):
                self.last_user = user
            self.steps += 1
            rule_name = sys._getframe(1).f_code.co_name
            shared["rules"][rule_name] = shared["rules"].get(rule_name, 0) + 1
            began = time.perf_counter()
            runner.run(self.world.feed(make_update))
            if self.steps % 25 == 0:
                runner.run(self.world.flush_outbox())
            self.world.busy += time.perf_counter() - began

        # ------------------------------------------------------------------ what people send

        # Someone going through a dialog: the person of the previous step (or a citizen) answers
        # the bot's newest message as a person would, by pressing one of its buttons (mostly the one
        # pressed least so far, to get everywhere) or typing what the prompt asks for; several
        # rules, so that runs get deep into the dialogs (hypothesis picks rules evenly) between the
        # junk of the others. One of them follows a member of staff: their dialogs are longer.
        @rule(pick=st.integers(0, 10**6), answer=fz.plausible_answers(), marked=st.booleans())
        def goes_on_with_a_dialog(self, pick: int, answer: str, marked: bool) -> None:
            self._walk(None, pick, answer, marked)

        @rule(pick=st.integers(0, 10**6), answer=fz.plausible_answers(), marked=st.booleans())
        def goes_on_with_a_dialog_again(self, pick: int, answer: str, marked: bool) -> None:
            self._walk(None, pick, answer, marked)

        @rule(user=st.sampled_from(STAFF), pick=st.integers(0, 10**6), answer=fz.plausible_answers())
        def staff_goes_on_with_a_dialog(self, user: int, pick: int, answer: str) -> None:
            self._walk(user, pick, answer, False, longest=12)

        def _walk(self, user: int | None, pick: int, answer: str, marked: bool, longest: int = 6) -> None:
            """A few steps in a row (1 to `longest`, chosen by `pick`) of one person's walk through
            the dialogs."""
            steps = random.Random(pick)
            for _ in range(1 + pick % longest):
                if user is None:
                    user = self.last_user if self.last_user is not None else CITIZENS[pick % len(CITIZENS)]
                self._go_on(user, pick, answer, marked)
                pick = steps.randrange(10**6)

        def _go_on(self, user: int, pick: int, answer: str, marked: bool) -> None:
            server = self.world.server
            state = self.world.current.get(user)
            expected = self.world.codes if state == "MyCase:code" else fz.STATE_INPUTS.get(state or "", ())
            if expected and pick % 4:
                typed = expected[pick % len(expected)]
                self._step(lambda: server.send_text(user, citizen_text(user, typed, marked)), user)
                return
            if state == "EventForm:attachment" and pick % 2:
                self._step(lambda: server.send_photo(user, caption=None), user)
                return
            if state is None and user in (ADMIN, COORDINATOR) and pick % 10 == 0:
                self._step(lambda: server.send_text(user, "/admin"), user)  # reached by command only
                return
            newest = fz.dialog_screen(server, user, state) or fz.newest_bot_message(server, user)
            message_id, data = newest if newest is not None else (0, [])
            # Forward, mostly: a prompt for typed input usually has only a way back on it.
            forward = [d for d in data if not fz.is_way_back(d)]
            if forward and pick % 5:
                chosen = self._least_pressed(forward, pick) if pick % 5 < 4 else forward[pick % len(forward)]
            elif data and pick % (5 if forward else 8) == 0:
                chosen = data[pick % len(data)]
            elif state is None and not data and user in STAFF:
                self._step(lambda: server.send_text(user, "/start"), user)  # back to the menu
                return
            else:
                self._step(lambda: server.send_text(user, citizen_text(user, answer, marked)), user)
                return
            self.world.pressed[chosen] = self.world.pressed.get(chosen, 0) + 1
            self._step(lambda: server.press_button(user, message_id, chosen), user)

        def _least_pressed(self, choices: list[str], pick: int) -> str:
            fewest = min(self.world.pressed.get(d, 0) for d in choices)
            least = [d for d in choices if self.world.pressed.get(d, 0) == fewest]
            return least[pick % len(least)]

        @rule(route=st.sampled_from(ROUTES), pick=st.integers(0, 10**6))
        def starts_a_dialog(self, route: tuple[int, tuple[str, ...]], pick: int) -> None:
            """The way into one of the longer dialogs, as its user would take it (a command, then
            buttons); it stops where a button is not there (nothing to reconcile, no case yet)."""
            user, steps = route
            server = self.world.server
            for step in steps:
                if step.startswith("F:"):  # a file: the directory as the bot would export it
                    name, csv_file = step[2:], directory_csv(self.world.app.directory)
                    self._step(
                        lambda name=name, content=csv_file: server.send_document(
                            user, filename=name, content=content, mime_type="text/csv"
                        ),
                        user,
                    )
                    continue
                if step.startswith(("/", "T:")):
                    typed = step.removeprefix("T:")
                    self._step(lambda typed=typed: server.send_text(user, typed), user)
                    continue
                # A notice's buttons (a route's first step) may be far back in the chat.
                recent = 10**6 if step == steps[0] else 20
                found = [
                    (message_id, d)
                    for message_id, data in reversed(fz.keyboards(server, user, recent=recent))
                    for d in data
                    if d.startswith(step)
                ]
                if not found:
                    return
                message_id, chosen = found[pick % min(len(found), 3)]  # one of the newest
                self._step(lambda m=message_id, d=chosen: server.press_button(user, m, d), user)

        @rule(user=private_users, text=fz.texts(), marked=st.booleans())
        def types_text(self, user: int, text: str, marked: bool) -> None:
            server = self.world.server
            self._step(lambda: server.send_text(user, citizen_text(user, text, marked)), user)

        @rule(user=known_users, text=fz.command_texts())
        def types_command(self, user: int, text: str) -> None:
            server = self.world.server
            self._step(lambda: server.send_text(user, text), user)

        @rule(user=known_users, pick=st.integers(0, 10**6))
        def presses_a_visible_button(self, user: int, pick: int) -> None:
            self._press_visible(user, pick, newest=True)

        @rule(user=known_users, pick=st.integers(0, 10**6))
        def presses_the_newest_button(self, user: int, pick: int) -> None:
            self._press_visible(user, pick, newest=True)

        @rule(user=known_users, pick=st.integers(0, 10**6))
        def presses_an_older_button(self, user: int, pick: int) -> None:
            self._press_visible(user, pick, newest=False)

        def _press_visible(self, user: int, pick: int, *, newest: bool) -> None:
            server = self.world.server
            messages = fz.keyboards(server, user)
            if not messages:
                self._step(lambda: server.send_text(user, "/start"))
                return
            message_id, data = messages[-1] if newest else messages[pick % len(messages)]
            chosen = data[pick % len(data)]
            self._step(lambda: server.press_button(user, message_id, chosen), user)

        @rule(user=private_users, pick=st.integers(0, 10**6), message_id=missing_message_ids)
        def presses_a_stale_button(self, user: int, pick: int, message_id: int) -> None:
            """Callback data the bot once sent to anyone, pressed by anyone, on any message."""
            server = self.world.server
            recorded = self.world.callbacks
            data = recorded[pick % len(recorded)] if recorded else "m:main"
            own = fz.bot_message_ids(server, user) if user in CITIZENS or user in STAFF else []
            target = own[pick % len(own)] if own and pick % 3 else message_id
            self._step(lambda: server.press_button(user, target, data))

        @rule(
            user=private_users,
            drawn=fz.forged_callback_data(),
            message_id=missing_message_ids,
            on_own=st.booleans(),
        )
        def presses_forged_data(
            self, user: int, drawn: tuple[int, str, int, str], message_id: int, on_own: bool
        ) -> None:
            server = self.world.server
            forged = fz.forge(self.world.callbacks, drawn)
            own = fz.bot_message_ids(server, user) if on_own else []
            target = own[-1] if own else message_id
            self._step(lambda: server.press_button(user, target, forged))

        @rule(
            user=private_users,
            kind=st.sampled_from(
                ("photo", "sticker", "voice", "document", "location", "contact", "video_note")
            ),
            caption=st.one_of(st.none(), fz.texts().map(lambda s: s[:1024])),
        )
        def sends_media(self, user: int, kind: str, caption: str | None) -> None:
            server = self.world.server

            def send() -> None:
                if kind == "photo":
                    server.send_photo(user, caption=caption)
                elif kind == "sticker":
                    server.send_sticker(user)
                elif kind == "voice":
                    server.send_voice(user)
                elif kind == "document":
                    server.send_document(user, caption=caption, filename=(caption or "a.txt")[:60] or "a")
                elif kind == "location":
                    server.send_message_update(user, location={"latitude": 50.0, "longitude": 36.2})
                elif kind == "contact":
                    server.send_message_update(
                        user, contact={"phone_number": "+380671234567", "first_name": "X", "user_id": user}
                    )
                else:
                    server.send_message_update(
                        user,
                        video_note={"file_id": "VN1", "file_unique_id": "vn1", "length": 240, "duration": 2},
                    )

            self._step(send, user)

        @rule(user=known_users, text=fz.texts(), pick=st.integers(0, 10**6))
        def edits_an_old_message(self, user: int, text: str, pick: int) -> None:
            server = self.world.server
            own = fz.own_text_message_ids(server, user)
            if not own:
                self._step(lambda: server.send_text(user, text), user)
                return
            message_id = own[pick % len(own)]
            self._step(lambda: server.edited_message(user, message_id, text), user)

        @rule(
            chat_id=st.integers(-(10**13), -1),
            user=st.one_of(known_users, st.integers(10_000, 10**12)),
            text=st.one_of(fz.texts(), fz.command_texts()),
            kind=st.sampled_from(("group", "supergroup", "channel", "group_button")),
            drawn=fz.forged_callback_data(),
        )
        def writes_from_a_group_or_channel(
            self, chat_id: int, user: int, text: str, kind: str, drawn: tuple[int, str, int, str]
        ) -> None:
            server = self.world.server
            if kind == "channel":
                post = {
                    "message_id": 1,
                    "date": int(time.time()),
                    "chat": {"id": chat_id, "type": "channel", "title": "Канал"},
                    "text": text,
                }
                self._step(lambda: server.send_raw_update({"channel_post": post}))
            elif kind == "group_button":
                forged = fz.forge(self.world.callbacks, drawn)
                self._step(lambda: server.press_button(user, 10**9, forged, chat_id=chat_id))
            else:
                self._step(lambda: server.send_group_text(chat_id, user, text, chat_type=kind))

        def teardown(self) -> None:
            runner.run(self.world.flush_outbox())

            async def invariants() -> list[str]:
                async with self.world.app.sessionmaker() as session:
                    return await fz.broken_invariants(session)

            broken = runner.run(invariants())
            assert not broken, f"half-written state: {broken}"
            if os.environ.get("DOVIRA_FUZZ_VERBOSE"):
                print(f"run {shared['runs']}: {self.steps} steps, {self.world.fed - self.fed_before} updates")

    return DispatcherFuzz


# The fuzz run uses an SQLite file of its own: CI's second pass (TEST_DATABASE_URL set, for the
# PostgreSQL suite) would only repeat it, so it runs once per CI run unless asked for explicitly.
@pytest.mark.skipif(
    bool(os.environ.get("TEST_DATABASE_URL")) and not os.environ.get("DOVIRA_FUZZ_UPDATES"),
    reason="runs in the SQLite pass; set DOVIRA_FUZZ_UPDATES to run it here too",
)
def test_fuzz_through_the_real_dispatcher(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outbox_module, "CHAT_INTERVAL", 0.0)
    errors = fz.ErrorLog()
    loggers = [logging.getLogger("dovira"), logging.getLogger("aiogram")]
    for logger in loggers:
        logger.addHandler(errors)
    phases = [Phase.explicit, Phase.reuse, Phase.generate]
    if os.environ.get("DOVIRA_FUZZ_SHRINK"):
        phases.append(Phase.shrink)
    fuzz_settings = settings(
        max_examples=RUNS_PER_BATCH,  # replaced for each batch
        stateful_step_count=STEPS_PER_RUN,
        deadline=None,
        derandomize=False,
        database=None,
        phases=phases,
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.normal,
    )
    shared: dict[str, Any] = {"runs": 0, "rules": {}}
    started = time.monotonic()
    batch = 0
    with asyncio.Runner() as runner:
        server = runner.run(FakeTelegramServer(token=TOKEN).__aenter__())
        world = runner.run(_build_world(tmp_path, server, errors))
        machine = make_machine(runner, world, shared)
        try:
            # Batches of runs until enough updates: batch i draws from seed SEED + i, so the whole
            # sequence is fixed by SEED (hypothesis decides how many steps each run takes).
            while world.fed < UPDATES:
                monkeypatch.setattr(hypothesis.core, "global_force_seed", SEED + batch)
                # As many runs as the updates still wanted take at the rate so far: a run that
                # starts past the number only draws void steps, which costs as much as real ones.
                per_run = world.fed / shared["runs"] if shared["runs"] else MEAN_UPDATES_PER_RUN
                runs = max(1, min(RUNS_PER_BATCH, round((UPDATES - world.fed) / max(per_run, 1.0))))
                run_state_machine_as_test(machine, settings=settings(fuzz_settings, max_examples=runs))
                batch += 1
        except BaseException:
            print(
                f"\nfuzz failed in batch {batch} (seed {SEED + batch}), run {shared['runs']}, after "
                f"{world.fed} updates; replay: DOVIRA_FUZZ_SEED={SEED} DOVIRA_FUZZ_UPDATES={UPDATES} "
                ".venv/bin/python -m pytest tests/test_fuzz.py"
            )
            raise
        finally:
            for logger in loggers:
                logger.removeHandler(errors)
            runner.run(world.app.close())
            runner.run(world.bot.session.close())
            runner.run(server.__aexit__(None, None, None))
    elapsed = time.monotonic() - started
    missing = sorted(all_dialog_states() - world.states - states_the_data_cannot_reach(world.app.directory))
    print(f"\nfuzz: dialog states reached {len(world.states)}, never reached: {missing}")
    print(
        f"\nfuzz: {world.fed} updates in {shared['runs']} runs ({batch} batches from seed {SEED}), "
        f"{elapsed:.1f} s ({world.busy:.1f} s in the bot); steps by rule {shared['rules']}"
    )
    assert world.fed >= UPDATES
    if UPDATES >= 10_000:  # a shorter replay need not get everywhere
        assert not missing, f"the fuzzer no longer reaches {missing}: a route in ROUTES needs mending"
