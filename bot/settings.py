"""Settings from the environment and `.env` (pydantic-settings).

A missing or malformed value stops start-up with one sentence that says what to set and how:
`load_settings()` turns pydantic's error into a `SettingsError` with that sentence.
"""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

OFFICIAL_BOT_API = "https://api.telegram.org"
SUPPORTED_LANGUAGES = ("uk", "en")
TOKEN_RE = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{1,100}$")
# Telegram's characters and upper bound for setWebhook's secret_token; Telegram takes one character,
# but the secret is all that keeps forged updates out, so at least 16 (secrets.token_urlsafe gives 43).
WEBHOOK_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{16,256}$")
WEBHOOK_PORTS = (443, 80, 88, 8443)  # the ports Telegram itself posts to
HEALTH_PATH = "/health"

# One sentence per setting, shown when its value is missing or malformed.
HOW_TO_SET = {
    "BOT_TOKEN": (
        "Set BOT_TOKEN to the token @BotFather gave you when you created the bot (it looks like "
        "123456:ABC-def...), in the environment or in a .env file; to try Dovira without a token or "
        "internet, run `python -m bot emulate` instead."
    ),
    "BOT_API_BASE": (
        "Set BOT_API_BASE to the base URL of a Bot API server, e.g. https://api.telegram.org "
        "(the default) or http://127.0.0.1:8081 for a local one."
    ),
    "DATABASE_URL": (
        "Set DATABASE_URL to an SQLAlchemy async URL, e.g. sqlite+aiosqlite:///./dovira.db (the default) "
        "or postgresql+asyncpg://user@host:5432/dbname."
    ),
    "REDIS_URL": (
        "Set REDIS_URL to a Redis URL, e.g. redis://127.0.0.1:6379/0, to share dialogs and the sending "
        "rate between replicas, or leave it unset for one process (dialogs are kept in the database)."
    ),
    "ADMIN_IDS": "Set ADMIN_IDS to Telegram user ids separated by commas, e.g. ADMIN_IDS=12345,67890.",
    "DEFAULT_LANGUAGE": "Set DEFAULT_LANGUAGE to uk or en (uk is the default).",
    "TIMEZONE": "Set TIMEZONE to an IANA time zone name, e.g. Europe/Kyiv (the default).",
    "CASE_ACCEPT_HOURS": "Set CASE_ACCEPT_HOURS to the hours a new case may wait (default 4).",
    "REFERRAL_ANSWER_HOURS": "Set REFERRAL_ANSWER_HOURS to the hours an organisation has (default 48).",
    "CASE_RETENTION_DAYS": "Set CASE_RETENTION_DAYS to the days closed cases are kept (default 180).",
    "POLICE_REPORT_DAY": "Set POLICE_REPORT_DAY to the day of the next month (1-28) the digest is due.",
    "COUNCIL_MEETINGS": (
        "Set COUNCIL_MEETINGS to the coordination council's meeting dates as MM-DD separated by commas "
        "(day 1-28), e.g. 03-15,06-15,09-15,12-15."
    ),
    "SEND_RATE_PER_S": (
        "Set SEND_RATE_PER_S to the messages per second the bot may send on its own, above 0 and at most "
        "1000 (default 25; Telegram allows about 30 a second unless paid broadcasts are enabled)."
    ),
    "ENCRYPTION_KEY": (
        "Set ENCRYPTION_KEY to a Fernet key (44 characters of url-safe base64), e.g. the output of "
        '`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`, '
        "or leave it unset to let Dovira keep a key file of its own."
    ),
    "WEBHOOK_URL": (
        "Set WEBHOOK_URL to the https URL Telegram posts updates to, e.g. https://bot.example.org/telegram "
        "(port 443, 80, 88 or 8443; http and any port only with a local BOT_API_BASE; not /health), "
        "or leave it unset to poll (the default)."
    ),
    "WEBHOOK_SECRET": (
        "Set WEBHOOK_SECRET (required with WEBHOOK_URL) to 16-256 characters of A-Z, a-z, 0-9, _ and -, "
        'e.g. the output of `python -c "import secrets; print(secrets.token_urlsafe(32))"`; '
        "Telegram sends it back with every update and requests without it are refused."
    ),
    "WEBHOOK_HOST": (
        "Set WEBHOOK_HOST to the address the webhook server listens on: 127.0.0.1 (the default, behind a "
        "proxy on the same machine) or 0.0.0.0 to take requests from a load balancer on another machine."
    ),
    "WEBHOOK_PORT": "Set WEBHOOK_PORT to the TCP port the webhook server listens on, 1-65535 (default 8080).",
}


class SettingsError(Exception):
    """A setting is missing or malformed; str(error) is the one sentence to show."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: str | None = Field(default=None, alias="BOT_TOKEN")
    bot_api_base: str = Field(default=OFFICIAL_BOT_API, alias="BOT_API_BASE")
    database_url: str = Field(default="sqlite+aiosqlite:///./dovira.db", alias="DATABASE_URL")
    redis_url: str | None = Field(default=None, alias="REDIS_URL")
    admin_ids: Annotated[frozenset[int], NoDecode] = Field(default=frozenset(), alias="ADMIN_IDS")
    default_language: str = Field(default="uk", alias="DEFAULT_LANGUAGE")
    timezone: str = Field(default="Europe/Kyiv", alias="TIMEZONE")
    encryption_key: str | None = Field(default=None, alias="ENCRYPTION_KEY")
    case_accept_hours: float = Field(default=4, gt=0, le=24 * 30, alias="CASE_ACCEPT_HOURS")
    referral_answer_hours: float = Field(default=48, gt=0, le=24 * 90, alias="REFERRAL_ANSWER_HOURS")
    case_retention_days: int = Field(default=180, ge=1, le=3650, alias="CASE_RETENTION_DAYS")
    police_report_day: int = Field(default=5, ge=1, le=28, alias="POLICE_REPORT_DAY")
    send_rate_per_s: float = Field(default=25, gt=0, le=1000, alias="SEND_RATE_PER_S")
    # After a hard crash, a message claimed for sending is sent again once its claim is this old. Below
    # aiogram's 60 s request timeout a slow request may be repeated (a duplicate, never a loss).
    outbox_lease_s: float = Field(default=120, ge=1, le=3600, alias="OUTBOX_LEASE_S")
    key_file: Path = Field(default=Path("dovira.key"), alias="KEY_FILE")
    data_dir: Path = Field(default=Path(__file__).resolve().parent.parent / "data", alias="DATA_DIR")
    # Coordination council meetings (quarterly in both programmes): month-day dates, reminded a week
    # and a day ahead. The default is a placeholder for the council's own plan.
    council_meetings: Annotated[tuple[tuple[int, int], ...], NoDecode] = Field(
        default=((3, 15), (6, 15), (9, 15), (12, 15)), alias="COUNCIL_MEETINGS"
    )
    # Webhook mode (polling when WEBHOOK_URL is unset). Declared after BOT_API_BASE: their checks read it.
    webhook_url: str | None = Field(default=None, alias="WEBHOOK_URL")
    webhook_secret: str | None = Field(default=None, alias="WEBHOOK_SECRET", validate_default=True)
    # Loopback by default: the server speaks plain HTTP and TLS ends at a proxy; a load balancer on
    # another machine needs WEBHOOK_HOST=0.0.0.0 (or the private interface's address) on purpose.
    webhook_host: str = Field(default="127.0.0.1", min_length=1, alias="WEBHOOK_HOST")
    webhook_port: int = Field(default=8080, ge=1, le=65535, alias="WEBHOOK_PORT")

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        value = value.strip()
        if not TOKEN_RE.match(value):
            raise ValueError("malformed token")
        return value

    @field_validator("bot_api_base")
    @classmethod
    def _base_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("not an http(s) URL")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        value = value.strip()
        if not (value.startswith("sqlite+aiosqlite://") or value.startswith("postgresql+asyncpg://")):
            raise ValueError("unsupported database URL")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        value = value.strip()
        if not re.match(r"^(redis|rediss|unix)://\S+$", value):
            raise ValueError("not a Redis URL")
        return value

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            if not all(re.fullmatch(r"\d{1,20}", p) for p in parts):
                raise ValueError("not a list of numeric ids")
            return frozenset(int(p) for p in parts)
        if isinstance(value, int):
            return frozenset({value})
        return value

    @field_validator("default_language")
    @classmethod
    def _language(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in SUPPORTED_LANGUAGES:
            raise ValueError("unsupported language")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value.strip())
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("unknown time zone") from exc
        return value.strip()

    @field_validator("encryption_key")
    @classmethod
    def _fernet_key(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        try:
            raw = base64.urlsafe_b64decode(value.strip().encode())
        except (binascii.Error, ValueError) as exc:
            raise ValueError("not base64") from exc
        if len(raw) != 32:
            raise ValueError("wrong key length")
        return value.strip()

    @field_validator("council_meetings", mode="before")
    @classmethod
    def _meetings(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        dates = []
        for part in (p.strip() for p in value.split(",") if p.strip()):
            match = re.fullmatch(r"(\d{2})-(\d{2})", part)
            if not match:
                raise ValueError("not MM-DD")
            month, day = int(match[1]), int(match[2])
            if not (1 <= month <= 12 and 1 <= day <= 28):
                raise ValueError("not a date every year has")
            dates.append((month, day))
        return tuple(sorted(set(dates)))

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or value.strip() == "":
            return None
        parsed = urlsplit(value.strip())
        official = info.data.get("bot_api_base", OFFICIAL_BOT_API) == OFFICIAL_BOT_API
        try:
            port = parsed.port
        except ValueError as exc:
            raise ValueError("bad port") from exc
        if parsed.scheme not in ("https", "http") or not parsed.hostname or parsed.query or parsed.fragment:
            raise ValueError("not an http(s) URL")
        if official and (parsed.scheme != "https" or (port is not None and port not in WEBHOOK_PORTS)):
            raise ValueError("Telegram posts only to https on ports 443, 80, 88 and 8443")
        if (parsed.path or "/").rstrip("/") == HEALTH_PATH:
            raise ValueError("the health endpoint's path")
        return value.strip()

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and value.strip() != "":
            if not WEBHOOK_SECRET_RE.match(value.strip()):
                raise ValueError("not 16-256 characters of A-Z a-z 0-9 _ -")
            return value.strip()
        if info.data.get("webhook_url"):
            raise ValueError("required with WEBHOOK_URL")
        return None

    @property
    def webhook_path(self) -> str:
        """The path the webhook server answers on: WEBHOOK_URL's own (a proxy passes it through)."""
        return urlsplit(self.webhook_url or "").path or "/"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def uses_official_api(self) -> bool:
        return self.bot_api_base == OFFICIAL_BOT_API

    def require_token(self) -> str:
        """The token, or SettingsError with the sentence that says where a token comes from."""
        if self.bot_token is None:
            raise SettingsError(f"BOT_TOKEN is not set. {HOW_TO_SET['BOT_TOKEN']}")
        return self.bot_token


def load_settings(**overrides: object) -> Settings:
    """Read settings; on a bad value raise SettingsError naming the first setting at fault."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first.get("loc") else "settings"
        name = name.upper()
        hint = HOW_TO_SET.get(name, "")
        raise SettingsError(f"{name} has a value Dovira cannot use. {hint}".strip()) from None
