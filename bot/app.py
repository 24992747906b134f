"""The bot process: migrate the database, build the dispatcher, poll until stopped.

`python -m bot`, the emulator and the end-to-end tests all run `run()`, so tests exercise the same
start-up code a deployment does.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from dataclasses import dataclass
from datetime import timedelta

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.types import BotCommand, BotCommandScopeDefault
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.i18n import UserLocaleMiddleware, create_i18n
from bot.middlewares import DangerWords, HandlerName, PersonMiddleware, UpdateGuard, sqlite_dir
from bot.notices.outbox import SAFE_LEASE_S, Outbox
from bot.notices.shared_rate import SharedRate
from bot.redis_storage import EncryptedRedisStorage, redis_client
from bot.services.cases import CaseService
from bot.services.catalogue import Programme, load_catalogue
from bot.services.crypto import Cipher, load_or_create_key
from bot.services.directory import Directory, DirectoryChecks, load_directory
from bot.services.events import EventService, sync_catalogue
from bot.services.police_reports import PoliceReportService
from bot.services.reconciliation import ReconciliationService
from bot.services.staff import StaffService
from bot.services.throttle import Throttles
from bot.services.users import UserService
from bot.session import DoviraSession
from bot.settings import Settings
from bot.startup import reach_bot_api, until_done
from bot.storage import SQLStorage
from db.engine import create_engine, create_sessionmaker, is_sqlite
from db.migrate import one_replica_at_a_time, upgrade_to_head
from handlers import build_routers
from handlers.staff_guard import StaffDialogGuard
from scheduler.jobs import JOBS, JobContext, create_scheduler
from scheduler.leader import Leadership
from scheduler.runs import JobRuns

log = logging.getLogger("dovira")

COMMANDS = ("start", "sos", "help", "language", "cancel", "forget")


@dataclass
class App:
    """Everything one bot process holds; built by `build_app`, closed by `close`."""

    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    i18n: I18n
    directory: Directory
    users: UserService
    storage: SQLStorage | EncryptedRedisStorage
    cases: CaseService
    staff: StaffService
    events: EventService
    outbox: Outbox
    police: PoliceReportService
    reconciliation: ReconciliationService
    programmes: tuple[Programme, ...]
    directory_checks: DirectoryChecks
    shared_rate: SharedRate | None
    dispatcher: Dispatcher
    guard: UpdateGuard

    def job_context(self, bot: Bot) -> JobContext:
        """What the scheduler's jobs need; the tests run the jobs with exactly this."""
        from bot.services.reports import for_app

        return JobContext(
            bot=bot,
            outbox=self.outbox,
            cases=self.cases,
            users=self.users,
            i18n=self.i18n,
            directory=self.directory,
            admin_ids=self.settings.admin_ids,
            retention_days=self.settings.case_retention_days,
            police=self.police,
            staff=self.staff,
            police_report_day=self.settings.police_report_day,
            timezone=self.settings.timezone,
            reconciliation=self.reconciliation,
            programmes=self.programmes,
            council_meetings=self.settings.council_meetings,
            directory_checks=self.directory_checks,
            dialogs=self.storage if isinstance(self.storage, SQLStorage) else None,
            annual_report=lambda programme, year, lang: for_app(self).annual_information(
                programme, year, lang
            ),
        )

    async def close(self) -> None:
        await self.guard.drain()
        await self.storage.close()
        if self.shared_rate is not None:
            await self.shared_rate.close()
        await self.engine.dispose()


def create_bot(settings: Settings, token: str) -> Bot:
    session = DoviraSession()
    if not settings.uses_official_api:
        session.api = TelegramAPIServer.from_base(settings.bot_api_base)
    return Bot(token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))


async def build_app(settings: Settings) -> App:
    """Migrate the database to the latest revision and wire the dispatcher."""
    # Data files first: a bad file stops start-up before the database is touched.
    directory = load_directory(settings.data_dir)
    programmes = load_catalogue(settings.data_dir, {o.id for o in directory.oblasts})
    engine = create_engine(settings.database_url)
    cipher = Cipher(load_or_create_key(settings.encryption_key, settings.key_file))
    await upgrade_to_head(engine, cipher, settings.admin_ids)
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker() as session, session.begin():
        await one_replica_at_a_time(session)
        await sync_catalogue(session, programmes)
    i18n = create_i18n(settings.default_language)
    users = UserService(sessionmaker, cipher, settings.admin_ids)
    # Reads are cached only when this process is the database's sole user (the SQLite default).
    # Dialog data can hold what a person typed (a description, a phone): it is encrypted too.
    storage: SQLStorage | EncryptedRedisStorage
    if settings.redis_url:  # several replicas: dialogs shared through Redis
        storage = EncryptedRedisStorage.from_url(settings.redis_url, cipher)
    else:
        storage = SQLStorage(sessionmaker, cipher, cache=is_sqlite(settings.database_url))
        await storage.preload()
    cases = CaseService(
        sessionmaker,
        cipher,
        accept_hours=settings.case_accept_hours,
        referral_hours=settings.referral_answer_hours,
    )
    staff = StaffService(sessionmaker)
    events = EventService(sessionmaker, timezone=settings.timezone)
    # With Redis (several replicas) the global sending rate and the per-person limits are counted
    # there, across replicas (one client, closed with the shared rate).
    shared_redis = redis_client(settings.redis_url) if settings.redis_url else None
    shared_rate = None
    if shared_redis is not None:
        shared_rate = SharedRate(shared_redis, settings.send_rate_per_s)
    if settings.outbox_lease_s < SAFE_LEASE_S:
        log.warning(
            "OUTBOX_LEASE_S=%s is below %s s: a slow send may be repeated while it is still under way",
            settings.outbox_lease_s,
            SAFE_LEASE_S,
        )
    outbox = Outbox(
        sessionmaker,
        cipher=cipher,
        rate=settings.send_rate_per_s,
        shared=shared_rate,
        lease=timedelta(seconds=settings.outbox_lease_s),
    )
    police = PoliceReportService(sessionmaker, cipher, timezone=settings.timezone)
    reconciliation = ReconciliationService(sessionmaker, timezone=settings.timezone)
    # Checks of directory entries made in the bot, laid over the data files at start-up.
    directory_checks = DirectoryChecks(
        sessionmaker, directory, timezone=settings.timezone, shared=not is_sqlite(settings.database_url)
    )
    guard = UpdateGuard(i18n, sqlite_dir(settings.database_url))

    # One update at a time per chat: a double tap on "send" must not file a request twice.
    dp = Dispatcher(storage=storage, events_isolation=SimpleEventIsolation())
    dp.update.outer_middleware(guard)
    dp.update.outer_middleware(PersonMiddleware(users))
    UserLocaleMiddleware(i18n).setup(dp)
    dialog_guard = StaffDialogGuard()  # after the locale: it may answer
    dp.message.outer_middleware(dialog_guard)
    dp.callback_query.outer_middleware(dialog_guard)
    dp.message.outer_middleware(DangerWords())  # after the locale and the FSM: it answers in either
    for name, observer in dp.observers.items():  # which handler an update reached, for the error line
        if name not in ("update", "error"):
            observer.middleware(HandlerName())
    dp.include_routers(*build_routers())
    dp["settings"] = settings
    dp["directory"] = directory
    dp["users"] = users
    dp["fsm_storage"] = storage
    dp["cases"] = cases
    dp["staff"] = staff
    dp["events"] = events
    dp["outbox"] = outbox
    dp["police"] = police
    dp["reconciliation"] = reconciliation
    dp["directory_checks"] = directory_checks
    dp["throttles"] = Throttles.create(shared_redis, cipher.lookup_key)
    dp.startup.register(_on_startup)
    dp.shutdown.register(_on_shutdown)
    app = App(
        settings=settings,
        engine=engine,
        sessionmaker=sessionmaker,
        i18n=i18n,
        directory=directory,
        users=users,
        storage=storage,
        cases=cases,
        staff=staff,
        events=events,
        outbox=outbox,
        police=police,
        reconciliation=reconciliation,
        programmes=tuple(programmes),
        directory_checks=directory_checks,
        shared_rate=shared_rate,
        dispatcher=dp,
        guard=guard,
    )
    dp["app"] = app
    return app


async def _on_startup(bot: Bot, dispatcher: Dispatcher, app: App) -> None:
    # The checks made in the bot are laid over the data files before the first update.
    await app.directory_checks.load()
    dispatcher["directory_checks_refresh"] = asyncio.create_task(app.directory_checks.keep_fresh())
    # The command menu is a convenience: a Bot API that refuses it now must not stop the bot.
    dispatcher["commands_task"] = asyncio.create_task(
        until_done("setting the command menu", lambda: register_commands(bot, app.i18n))
    )
    # The scheduler and the outbox sender run in one replica only: the elected leader (on SQLite,
    # the one process, at once). APScheduler needs the running loop: it is started in there.
    stop = asyncio.Event()
    leadership = Leadership(app.engine)
    dispatcher["leadership"] = leadership
    dispatcher["leader_stop"] = stop
    dispatcher["leader_task"] = asyncio.create_task(leadership.run(lambda until: lead(app, bot, until), stop))


async def lead(app: App, bot: Bot, until: asyncio.Event) -> None:
    """The leader's duties, until `until` is set: the scheduler's jobs and the outbox sender."""
    ctx = app.job_context(bot)
    runs = JobRuns(app.sessionmaker)
    last_runs = await runs.start(list(JOBS), ctx.clock())
    scheduler = create_scheduler(ctx, app.settings.timezone, runs=runs, last_runs=last_runs)
    scheduler.start()
    outbox_stop = asyncio.Event()
    sender = asyncio.create_task(app.outbox.run(bot, outbox_stop))
    try:
        await until.wait()
    finally:
        scheduler.shutdown(wait=False)
        outbox_stop.set()
        app.outbox.wake()
        await asyncio.wait_for(sender, 15)


async def _on_shutdown(dispatcher: Dispatcher) -> None:
    for name in ("commands_task", "directory_checks_refresh"):
        task = dispatcher.workflow_data.pop(name, None)
        if task is not None:
            task.cancel()
    stop, task = (
        dispatcher.workflow_data.pop("leader_stop", None),
        dispatcher.workflow_data.pop("leader_task", None),
    )
    if stop is not None and task is not None:
        stop.set()
        await asyncio.wait_for(task, 20)


async def register_commands(bot: Bot, i18n: I18n) -> None:
    """The command list in the client's menu: Ukrainian by default, English for English clients."""
    for language in ("uk", "en"):
        with i18n.use_locale(language):
            commands = [BotCommand(command=c, description=i18n.gettext(f"command.{c}")) for c in COMMANDS]
        await bot.set_my_commands(
            commands,
            scope=BotCommandScopeDefault(),
            language_code=None if language == i18n.default_locale else language,
        )


async def run(settings: Settings, *, token: str, stop: asyncio.Event | None = None) -> None:
    """Run the bot until Ctrl-C or SIGTERM (or until `stop` is set, in tests and the emulator):
    with long polling, or as a webhook server when WEBHOOK_URL is set."""
    app = await build_app(settings)
    if stop is None:  # the process's own run (tests build many apps in one process: not there)
        # What start-up built (the catalogue, the directory, the compiled translations, the models'
        # schemas) lives as long as the process: kept out of the garbage collector's full passes, which
        # otherwise walk all of it again and again under a burst of updates (benchmarks/updates.py).
        gc.freeze()
    bot = create_bot(settings, token)
    api = "Telegram" if settings.uses_official_api else settings.bot_api_base
    if settings.webhook_url is not None:
        from bot.webhook import serve

        try:
            if await reach_bot_api(bot, api, delete_webhook=False, stop=stop) is None:
                return
            await serve(app, bot, stop or asyncio.Event(), handle_signals=stop is None)
        finally:
            await app.close()
            await bot.session.close()
            log.info("Dovira stopped")
        return
    stopper: asyncio.Task[None] | None = None
    if stop is not None:

        async def _stop_when_asked() -> None:
            await stop.wait()
            while True:
                try:
                    await app.dispatcher.stop_polling()
                    return
                except RuntimeError:  # asked before polling began (start-up still reaching the Bot API)
                    await asyncio.sleep(0.05)

        stopper = asyncio.create_task(_stop_when_asked())
    try:
        if await reach_bot_api(bot, api, delete_webhook=True, stop=stop) is None or (stop and stop.is_set()):
            return
        log.info("Dovira is polling %s", api)
        await app.dispatcher.start_polling(
            bot,
            handle_signals=stop is None,
            close_bot_session=False,
            i18n=app.i18n,
            polling_timeout=10 if stop is None else 1,
        )
    finally:
        if stopper is not None:
            stopper.cancel()
        await app.close()
        await bot.session.close()
        log.info("Dovira stopped")
