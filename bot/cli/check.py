"""`python -m bot check`: does this deployment have what start-up needs (README, "Checking a deployment")."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.settings import Settings, SettingsError, load_settings

CHECK_TIMEOUT = 5.0


def check() -> int:
    """`python -m bot check`: one line per check, OK or FAIL with the reason; exit 0 only if all pass
    (2 when the settings themselves are wrong). Prints no secret: the token and passwords are masked."""
    try:
        settings = load_settings()
        token = settings.require_token()
    except SettingsError as exc:
        _line(False, "settings", str(exc))
        return 2
    mode = f"webhook {settings.webhook_url}" if settings.webhook_url else "polling"
    _line(True, "settings", f"{mode}; BOT_TOKEN {_mask_token(token)}; BOT_API_BASE {settings.bot_api_base}")
    results = asyncio.run(_checks(settings, token))
    for ok, name, detail in results:
        _line(ok, name, detail.replace(token, _mask_token(token)))
    return 0 if all(ok for ok, _, _ in results) else 1


def _line(ok: bool, name: str, detail: str) -> None:
    print(f"{'OK' if ok else 'FAIL':<4} {name}: {detail}", flush=True)


def _mask_token(token: str) -> str:
    bot_id, _, _secret = token.partition(":")
    return f"{bot_id}:****"


def _mask_url(url: str) -> str:
    """The URL without its password (user@host stays: it says which account)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))


def _reason(exc: BaseException) -> str:
    """The error's class and first line, without the SQL or parameters SQLAlchemy appends."""
    orig = getattr(exc, "orig", None)
    error = orig if isinstance(orig, BaseException) else exc
    first = (str(error).strip().splitlines() or [""])[0][:200]
    if isinstance(error, TimeoutError):
        first = f"no answer in {CHECK_TIMEOUT:g} s"
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


async def _checks(settings: Settings, token: str) -> list[tuple[bool, str, str]]:
    results = [await _check_database(settings.database_url)]
    redis_url: str | None = getattr(settings, "redis_url", None)
    results.append(await _check_redis(redis_url) if redis_url else (True, "redis", "not set (one process)"))
    results.extend(await _check_bot_api(settings, token))
    return results


async def _check_database(url: str) -> tuple[bool, str, str]:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import text
    from sqlalchemy.engine import Connection, make_url

    from db.engine import create_engine, is_sqlite
    from db.migrate import alembic_config

    shown = make_url(url).render_as_string(hide_password=True)
    if is_sqlite(url):
        missing = _sqlite_file_missing(make_url(url).database or "")
        if missing is not None:
            return missing[0], "database", f"{shown}: {missing[1]}"

    def current_revision(conn: Connection) -> str | None:
        return MigrationContext.configure(conn).get_current_revision()

    engine = create_engine(url)
    try:
        async with asyncio.timeout(CHECK_TIMEOUT), engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            current = await conn.run_sync(current_revision)
    except Exception as exc:
        return False, "database", f"{shown}: {_reason(exc)}"
    finally:
        await engine.dispose()
    scripts = ScriptDirectory.from_config(alembic_config())
    head = scripts.get_current_head()
    if current == head:
        return True, "database", f"{shown}: answers; schema at the latest revision {head}"
    if current is None:
        return True, "database", f"{shown}: answers; empty, `python -m bot` migrates it to {head} at start"
    if current in {s.revision for s in scripts.walk_revisions()}:
        return True, "database", f"{shown}: answers; schema at {current}, migrated to {head} at next start"
    return False, "database", f"{shown}: schema at {current}, a revision this code does not know (newer?)"


def _sqlite_file_missing(database: str) -> tuple[bool, str] | None:
    """Connecting would create the file: say what start-up will do instead (None: the file is there)."""
    path = Path(database)
    if not database or database == ":memory:" or path.exists():
        return None
    if not path.parent.is_dir():
        return False, f"the folder {path.parent} does not exist"
    return True, "no file yet; `python -m bot` creates and migrates it"


async def _check_redis(url: str) -> tuple[bool, str, str]:
    from redis.asyncio import Redis

    client = Redis.from_url(url, socket_connect_timeout=CHECK_TIMEOUT, socket_timeout=CHECK_TIMEOUT)
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            await client.ping()
    except Exception as exc:
        return False, "redis", f"{_mask_url(url)}: {_reason(exc)}"
    finally:
        await client.aclose()
    return True, "redis", f"{_mask_url(url)}: answers PING"


async def _check_bot_api(settings: Settings, token: str) -> list[tuple[bool, str, str]]:
    """getMe with the token, asked and read exactly as the bot asks it at start (bot/startup.py), so
    that OK here means the bot will accept the answer; in webhook mode, what Telegram knows of it."""
    from bot.app import create_bot
    from bot.startup import TokenRefused, ask_me, cause

    base = settings.bot_api_base
    bot = create_bot(settings, token)
    results: list[tuple[bool, str, str]] = []
    try:
        try:
            me = await ask_me(bot, base, CHECK_TIMEOUT)
        except TokenRefused as exc:
            return [(False, "bot api", str(exc))]
        results.append((True, "bot api", f"{base}: getMe answers @{me.username} (id {me.id})"))
        if settings.webhook_url:
            info = await bot.get_webhook_info(request_timeout=int(CHECK_TIMEOUT))
            where = info.url or "nowhere yet (set at start)"
            detail = f"Telegram posts to {where}; {info.pending_update_count} update(s) pending"
            error = info.last_error_message
            results.append((True, "webhook", detail + (f"; last error: {error}" if error else "")))
    except Exception as exc:  # what the world does: one line, the cause, no traceback
        return [*results, (False, "bot api", f"{base}: {cause(exc)}")]
    finally:
        await bot.session.close()
    return results
