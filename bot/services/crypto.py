"""Encryption at rest for case content (Fernet) and keyed hashes for look-ups without clear ids.

The key comes from ENCRYPTION_KEY; without one, the embedded default keeps a key file of its own
(created readable by its owner only). Losing the key makes stored case content unreadable.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

log = logging.getLogger("dovira")

KEY_FILE = Path("dovira.key")


class Cipher:
    def __init__(self, key: str) -> None:
        self._fernet = Fernet(key.encode())
        # A separate key for look-up hashes, derived so that one setting is enough.
        self._hash_key = hashlib.sha256(b"dovira-lookup:" + key.encode()).digest()

    def encrypt(self, text: str | None) -> bytes | None:
        return None if text is None else self._fernet.encrypt(text.encode("utf-8"))

    def decrypt(self, token: bytes | None) -> str | None:
        if token is None:
            return None
        try:
            return self._fernet.decrypt(token).decode("utf-8")
        except InvalidToken:
            log.error("stored content could not be decrypted with the current key")
            return None

    def encrypt_bytes(self, data: bytes) -> bytes:
        return self._fernet.encrypt(data)

    def decrypt_bytes(self, token: bytes) -> bytes | None:
        try:
            return self._fernet.decrypt(token)
        except InvalidToken:
            log.error("stored content could not be decrypted with the current key")
            return None

    def lookup_key(self, value: int | str) -> str:
        """A keyed hash: the same input gives the same key, which reveals nothing without the key."""
        # hmac.digest: the one-shot C path, the same value as hmac.new(...).hexdigest() at a fifth of the cost
        # (a hash per person per update on the hot path).
        return hmac.digest(self._hash_key, str(value).encode(), "sha256").hex()


def key_in(key_file: Path) -> tuple[str, bool]:
    """The key kept in `key_file`, and whether it was created just now (mode 0600, never overwritten)."""
    if key_file.exists():
        return key_file.read_text("ascii").strip(), False
    key = Fernet.generate_key().decode("ascii")
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fp:
        fp.write(key + "\n")
    return key, True


def load_or_create_key(configured: str | None, key_file: Path = KEY_FILE) -> str:
    """ENCRYPTION_KEY if set; else the key file, created (mode 0600) on first start, said once."""
    if configured:
        return configured
    key, created = key_in(key_file)
    if not created:
        return key
    log.warning(
        "ENCRYPTION_KEY is not set: created the key file %s (readable by its owner only). "
        "Back it up: without it stored case content cannot be read.",
        key_file.resolve(),
    )
    return key
