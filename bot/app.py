"""The bot process: the services (bot/composition.py), the dispatcher that hands them to the handlers,
and what runs beside the updates (the command menu, the directory checks' reload, the leader's
scheduler and outbox sender); poll or serve a webhook until stopped.

`python -m bot`, the emulator and the end-to-end tests all run `run()`, so tests exercise the same
start-up code a deployment does.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.types import BotCommand, BotCommandScopeDefault
from aiogram.utils.i18n import I18n

from bot.composition import Services, open_services
from bot.i18n import UserLocaleMiddleware
from bot.middlewares import DangerWords, HandlerName, PersonMiddleware, UpdateGuard, sqlite_dir
from bot.session import DoviraSession
from bot.settings import Settings
from bot.startup import reach_bot_api, until_done
from handlers import build_routers
from handlers.staff_guard import StaffDialogGuard
from scheduler.jobs import JOBS, JobContext, create_scheduler
from scheduler.leader import Leadership
from scheduler.runs import JobRuns

log = logging.getLogger("dovira")

COMMANDS = ("start", "sos", "help", "language", "cancel", "forget")


@dataclass
class Background:
    """What a running bot does beside answering updates: started by `App.start`, ended by `App.stop`."""

    helpers: list[asyncio.Task[None]] = field(default_factory=list)  # cancelled at the stop
    leader: asyncio.Task[None] | None = None
    leader_stop: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(frozen=True)
class App(Services):
    """One bot process: its services, and the dispatcher wired to them. Built by `build_app`."""

    dispatcher: Dispatcher
    guard: UpdateGuard
    background: Background

    def job_context(self, bot: Bot) -> JobContext:
        """What the scheduler's jobs get; the tests run the jobs with exactly this."""
        return JobContext(self, bot, clock=lambda: datetime.now(UTC))

    async def start(self, bot: Bot) -> None:
        """The dispatcher's start-up, before the first update."""
        # The checks made in the bot are laid over the data files.
        await self.directory_checks.load()
        # The command menu is a convenience: a Bot API that refuses it now must not stop the bot.
        commands = until_done("setting the command menu", lambda: register_commands(bot, self.i18n))
        self.background.helpers[:] = [
            asyncio.create_task(commands),
            asyncio.create_task(self.directory_checks.keep_fresh()),
        ]
        # The scheduler and the outbox sender run in one replica only: the elected leader (on SQLite,
        # the one process, at once). APScheduler needs the running loop: it is started in there.
        stop = self.background.leader_stop = asyncio.Event()
        leadership = Leadership(self.engine)
        self.background.leader = asyncio.create_task(
            leadership.run(lambda until: lead(self, bot, until), stop)
        )

    async def stop(self) -> None:
        """The dispatcher's shutdown: the helpers end, the leader hands over."""
        for task in self.background.helpers:
            task.cancel()
        for task in self.background.helpers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.background.helpers.clear()
        leader, self.background.leader = self.background.leader, None
        if leader is not None:
            self.background.leader_stop.set()
            await asyncio.wait_for(leader, 20)

    async def close(self) -> None:
        await self.guard.drain()
        await super().close()


def create_bot(settings: Settings, token: str) -> Bot:
    session = DoviraSession()
    if not settings.uses_official_api:
        session.api = TelegramAPIServer.from_base(settings.bot_api_base)
    return Bot(token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))


async def build_app(settings: Settings) -> App:
    """The services (the database migrated to the latest revision) and the dispatcher wired to them."""
    services = await open_services(settings)
    guard = UpdateGuard(services.i18n, sqlite_dir(settings.database_url))
    # One update at a time per chat: a double tap on "send" must not file a request twice.
    dp = Dispatcher(storage=services.storage, events_isolation=SimpleEventIsolation())
    dp.update.outer_middleware(guard)
    dp.update.outer_middleware(PersonMiddleware(services.users))
    UserLocaleMiddleware(services.i18n).setup(dp)
    dialog_guard = StaffDialogGuard()  # after the locale: it may answer
    dp.message.outer_middleware(dialog_guard)
    dp.callback_query.outer_middleware(dialog_guard)
    dp.message.outer_middleware(DangerWords())  # after the locale and the FSM: it answers in either
    for name, observer in dp.observers.items():  # which handler an update reached, for the error line
        if name not in ("update", "error"):
            observer.middleware(HandlerName())
    dp.include_routers(*build_routers())
    dp.workflow_data.update(services.handler_data())
    app = App(**services.parts(), dispatcher=dp, guard=guard, background=Background())

    async def on_startup(bot: Bot) -> None:
        await app.start(bot)

    async def on_shutdown() -> None:
        await app.stop()

    dp.startup.register(on_startup)
    dp.shutdown.register(on_shutdown)
    return app


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
