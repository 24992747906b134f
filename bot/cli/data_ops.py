"""`python -m bot export-case` and `rotate-key`: the operator's data protection operations (SECURITY.md,
"Data protection operations") on the bot's own services; the operations themselves are in
bot/services/data_ops.py. Never prints a key or any case content."""

from __future__ import annotations

import getpass
import json
import os
import sys
from pathlib import Path

from bot.redis_storage import EncryptedRedisStorage
from bot.services.crypto import Cipher, key_in
from bot.services.data_ops import DataOpsError, export_case, rotate_key
from bot.settings import Settings

NEW_KEY_ENV = "NEW_ENCRYPTION_KEY"  # where `rotate-key` finds the new key (never on the command line)


def current_key(settings: Settings) -> str:
    """The key in use: ENCRYPTION_KEY, or the key file. Never creates one (that would be a wrong key)."""
    if settings.encryption_key:
        return settings.encryption_key
    if settings.key_file.exists():
        return settings.key_file.read_text("ascii").strip()
    raise DataOpsError(
        f"No key: ENCRYPTION_KEY is not set and there is no key file {settings.key_file} "
        "(nothing was stored yet?)."
    )


def _write_private(path: Path, text: str) -> None:
    """Write a file readable by its owner only (mode 0600, also when it already existed)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fp:
        os.fchmod(fp.fileno(), 0o600)
        fp.write(text)


async def export(settings: Settings, raw_code: str, out: Path | None) -> int:
    """`python -m bot export-case CODE [--out FILE]`: JSON to stdout or to FILE (mode 0600).
    Exit 1: no such case; 2: no key, or FILE cannot be written."""
    from bot.composition import open_services

    try:
        cipher = Cipher(current_key(settings))
    except DataOpsError as exc:
        print(exc, file=sys.stderr)
        return 2
    services = await open_services(settings)
    try:
        found = await export_case(services.sessionmaker, cipher, raw_code)
    except DataOpsError as exc:
        print(exc, file=sys.stderr)
        return 1
    finally:
        await services.close()
    text = json.dumps(found, ensure_ascii=False, indent=2) + "\n"
    if out is None:
        sys.stdout.write(text)
        return 0
    try:
        _write_private(out, text)
    except OSError as exc:
        print(f"Cannot write {out}: {exc.strerror}", file=sys.stderr)
        return 2
    print(f"{out}: case {found['code']} (readable by its owner only; the export is in the audit log)")
    return 0


def _staged_key_file(settings: Settings) -> Path:
    return settings.key_file.with_name(settings.key_file.name + ".new")


def _new_key(settings: Settings) -> str:
    """NEW_ENCRYPTION_KEY; with a key file, a key generated and kept next to it (KEY_FILE.new) until the
    rotation is done, so a run after a crash finds the same one; else asked for without echo."""
    given = os.environ.get(NEW_KEY_ENV, "").strip()
    if given:
        return given
    if not settings.encryption_key:
        return key_in(_staged_key_file(settings))[0]
    if not sys.stdin.isatty():
        raise DataOpsError(f"Set {NEW_KEY_ENV} to the new Fernet key (it is never printed).")
    return getpass.getpass("New ENCRYPTION_KEY (not shown): ").strip()


async def rotate(settings: Settings) -> int:
    """`python -m bot rotate-key`. Exit 0: done; 1: done, but some values opened with neither key
    (the key file keeps the old key); 2: refused, nothing changed."""
    from bot.composition import open_services

    try:
        old_key = current_key(settings)
        new_key = _new_key(settings)
        services = await open_services(settings)
        # The dialogs kept in Redis end too (with REDIS_URL): their keys are hashes under the old key.
        storage = services.storage
        redis = storage.redis if isinstance(storage, EncryptedRedisStorage) else None
        try:
            result = await rotate_key(services.sessionmaker, old_key, new_key, redis=redis)
        finally:
            await services.close()
    except DataOpsError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(
        f"Re-encrypted {result.rotated} stored value(s) ({result.unchanged} already on the new key); "
        f"recomputed {result.rehashed} look-up hash(es); ended {result.dialogs_ended} unfinished dialog(s) "
        "(people in the middle of one start it again)."
    )
    if result.unreadable:
        print(
            f"{result.unreadable} stored value(s) opened with neither key and were left as they were. "
            "Keep the old key until you know why; run again with the right current key.",
            file=sys.stderr,
        )
    if settings.encryption_key:
        print(f"Now set ENCRYPTION_KEY to the new key (the one in {NEW_KEY_ENV} or typed) and start the bot.")
    elif result.unreadable == 0:
        staged = _staged_key_file(settings)
        if staged.exists():
            os.replace(staged, settings.key_file)
        else:  # the new key came from NEW_ENCRYPTION_KEY
            _write_private(settings.key_file, new_key + "\n")
        print(f"The key file {settings.key_file} now holds the new key; start the bot.")
    else:
        print(f"The key file {settings.key_file} still holds the old key.")
    return 1 if result.unreadable else 0
