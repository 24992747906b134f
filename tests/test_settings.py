"""Start-up refuses a missing or malformed setting with one sentence that says what to set."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import OFFICIAL_BOT_API, SettingsError, load_settings

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_are_the_embedded_ones() -> None:
    s = load_settings(_env_file=None)
    assert s.database_url == "sqlite+aiosqlite:///./dovira.db"
    assert s.bot_api_base == OFFICIAL_BOT_API and s.uses_official_api
    assert s.default_language == "uk" and s.timezone == "Europe/Kyiv"
    assert s.admin_ids == frozenset()


def test_admin_ids_are_comma_separated() -> None:
    assert load_settings(_env_file=None, ADMIN_IDS="12, 34,56").admin_ids == {12, 34, 56}


def test_another_api_base_is_used() -> None:
    s = load_settings(_env_file=None, BOT_API_BASE="http://127.0.0.1:8081/")
    assert s.bot_api_base == "http://127.0.0.1:8081" and not s.uses_official_api


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BOT_TOKEN", "not-a-token"),
        ("ADMIN_IDS", "12,abc"),
        ("DEFAULT_LANGUAGE", "fr"),
        ("TIMEZONE", "Mars/Olympus"),
        ("DATABASE_URL", "mysql://x"),
        ("BOT_API_BASE", "ftp://x"),
        ("ENCRYPTION_KEY", "short"),
    ],
)
def test_a_malformed_value_names_the_setting_and_how_to_set_it(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(_env_file=None, **{name: value})
    message = str(err.value)
    assert message.startswith(name) and "Set " + name in message
    assert value not in message or name == "DEFAULT_LANGUAGE"  # never echo a (possibly secret) value


def test_missing_token_says_where_tokens_come_from_and_offers_the_emulator() -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(_env_file=None).require_token()
    assert "@BotFather" in str(err.value) and "python -m bot emulate" in str(err.value)


def test_python_m_bot_without_a_token_stops_with_one_clear_line(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "bot"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "BOT_TOKEN" in lines[0] and "@BotFather" in lines[0]
