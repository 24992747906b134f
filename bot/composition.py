"""The composition root: every service of a Dovira process, built once, in one place.

`open_services` is the one start-up: the data files, the key, the migrations, the catalogue, then each
service wired to what it needs. The bot (bot/app.py), its scheduled jobs (scheduler/jobs.py) and the
command line (bot/cli/) all run on what it returns, so a service is named, built and handed over once;
a missing one is a TypeError at start, not a feature that silently stops.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from datetime import timedelta
from typing import Any

from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.i18n import create_i18n
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
from bot.services.reports import ReportService
from bot.services.staff import StaffService
from bot.services.throttle import Throttles
from bot.services.users import UserService
from bot.settings import Settings
from bot.storage import SQLStorage
from db.engine import create_engine, create_sessionmaker, is_sqlite
from db.migrate import one_replica_at_a_time, upgrade_to_head

log = logging.getLogger("dovira")

# Handles on the database and the key: for the process itself, kept out of the handlers' reach.
_NOT_FOR_HANDLERS = frozenset({"engine", "sessionmaker", "cipher"})


@dataclass(frozen=True)
class Services:
    """Everything a Dovira process holds, each required: built by `open_services`, closed by `close`."""

    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    cipher: Cipher
    i18n: I18n
    directory: Directory
    programmes: tuple[Programme, ...]
    users: UserService
    storage: SQLStorage | EncryptedRedisStorage  # the dialogs
    cases: CaseService
    staff: StaffService
    events: EventService
    police: PoliceReportService
    reconciliation: ReconciliationService
    directory_checks: DirectoryChecks
    reports: ReportService
    outbox: Outbox
    throttles: Throttles

    def parts(self) -> dict[str, Any]:
        """The fields, as keyword arguments for a process object made of these services (bot/app.py)."""
        return {f.name: getattr(self, f.name) for f in fields(Services)}

    def handler_data(self) -> dict[str, Any]:
        """What handlers receive by parameter name (the dispatcher's workflow data): every service."""
        return {name: value for name, value in self.parts().items() if name not in _NOT_FOR_HANDLERS}

    async def close(self) -> None:
        await self.storage.close()
        await self.outbox.close()  # its shared rate's Redis client, which the per-person limits share
        await self.engine.dispose()


async def open_services(settings: Settings) -> Services:
    """Migrate the database to the latest revision, load the catalogue into it, and build every service."""
    # Data files first: a bad file stops start-up before the database is touched.
    directory = load_directory(settings.data_dir)
    programmes = tuple(load_catalogue(settings.data_dir, {o.id for o in directory.oblasts}))
    engine = create_engine(settings.database_url)
    cipher = Cipher(load_or_create_key(settings.encryption_key, settings.key_file))
    await upgrade_to_head(engine, cipher, settings.admin_ids)
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker() as session, session.begin():
        await one_replica_at_a_time(session)
        await sync_catalogue(session, programmes)
    # This process is the database's only user (the SQLite default): reads may be cached, and nobody
    # else changes the directory checks.
    alone = is_sqlite(settings.database_url)
    # Dialog data can hold what a person typed (a description, a phone): it is encrypted too.
    storage: SQLStorage | EncryptedRedisStorage
    if settings.redis_url:  # several replicas: dialogs shared through Redis
        storage = EncryptedRedisStorage.from_url(settings.redis_url, cipher)
    else:
        storage = SQLStorage(sessionmaker, cipher, cache=alone)
        await storage.preload()
    # With Redis (several replicas) the global sending rate and the per-person limits are counted
    # there, across replicas (one client, closed with the shared rate).
    shared_redis = redis_client(settings.redis_url) if settings.redis_url else None
    if settings.outbox_lease_s < SAFE_LEASE_S:
        log.warning(
            "OUTBOX_LEASE_S=%s is below %s s: a slow send may be repeated while it is still under way",
            settings.outbox_lease_s,
            SAFE_LEASE_S,
        )
    events = EventService(sessionmaker, timezone=settings.timezone)
    return Services(
        settings=settings,
        engine=engine,
        sessionmaker=sessionmaker,
        cipher=cipher,
        i18n=create_i18n(settings.default_language),
        directory=directory,
        programmes=programmes,
        users=UserService(sessionmaker, cipher, settings.admin_ids),
        storage=storage,
        cases=CaseService(
            sessionmaker,
            cipher,
            accept_hours=settings.case_accept_hours,
            referral_hours=settings.referral_answer_hours,
        ),
        staff=StaffService(sessionmaker),
        events=events,
        police=PoliceReportService(
            sessionmaker, cipher, timezone=settings.timezone, data_dir=settings.data_dir
        ),
        reconciliation=ReconciliationService(sessionmaker, timezone=settings.timezone),
        # Checks of directory entries made in the bot, laid over the data files at start-up.
        directory_checks=DirectoryChecks(
            sessionmaker, directory, timezone=settings.timezone, shared=not alone
        ),
        reports=ReportService(
            sessionmaker, programmes, directory, clock=events.clock, events=events, timezone=settings.timezone
        ),
        outbox=Outbox(
            sessionmaker,
            cipher=cipher,
            rate=settings.send_rate_per_s,
            shared=SharedRate(shared_redis, settings.send_rate_per_s) if shared_redis is not None else None,
            lease=timedelta(seconds=settings.outbox_lease_s),
        ),
        throttles=Throttles.create(shared_redis, cipher.lookup_key),
    )
