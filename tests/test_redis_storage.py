"""Dialogs in Redis (REDIS_URL, several replicas): encrypted, keyed with the bot id, erased by /forget.
Runs when TEST_REDIS_URL is set (CI sets it)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from aiogram.fsm.storage.base import StorageKey
from cryptography.fernet import Fernet

from bot.redis_storage import EncryptedRedisStorage
from bot.services.crypto import Cipher
from tests.conftest import Person, RunningBot, person_key
from tests.test_request_bad_input_e2e import _to_description

pytestmark = pytest.mark.skipif(not os.environ.get("TEST_REDIS_URL"), reason="TEST_REDIS_URL is not set")

DESCRIPTION = "Мені обіцяли роботу в Польщі, а платять удвічі менше"


@pytest.fixture
async def storage(redis_url: str | None) -> AsyncIterator[EncryptedRedisStorage]:
    assert redis_url
    store = EncryptedRedisStorage.from_url(redis_url, CIPHER)
    yield store
    await store.close()


CIPHER = Cipher(Fernet.generate_key().decode())


def key(user: int, bot_id: int = 42) -> StorageKey:
    return StorageKey(bot_id=bot_id, chat_id=user, user_id=user)


async def test_dialog_data_is_ciphertext_in_redis_and_keyed_by_bot(storage: EncryptedRedisStorage) -> None:
    await storage.set_state(key(7), "Request:description")
    await storage.set_data(key(7), {"description": DESCRIPTION})
    assert await storage.get_data(key(7)) == {"description": DESCRIPTION}
    raw = [(k, await storage.redis.get(k)) for k in await storage.redis.keys("fsm:*")]
    hashed = CIPHER.lookup_key(7)  # the chat and the person by keyed hash: a key names nobody
    assert raw and all(k.startswith(f"fsm:42:{hashed}:{hashed}:".encode()) for k, _ in raw)
    assert not any(DESCRIPTION.encode() in (v or b"") or "паспорт".encode() in (v or b"") for _, v in raw)
    assert await storage.get_data(key(7, bot_id=43)) == {}  # another bot shares nothing


async def test_forget_erases_only_that_persons_dialogs(storage: EncryptedRedisStorage) -> None:
    for user in (7, 8):
        await storage.set_state(key(user), "Request:description")
        await storage.set_data(key(user), {"description": DESCRIPTION})
    await storage.forget(7)
    assert await storage.get_state(key(7)) is None and await storage.get_data(key(7)) == {}
    assert await storage.get_data(key(8)) == {"description": DESCRIPTION}


async def test_forget_in_the_bot_leaves_no_dialog_in_redis(bot: RunningBot, person: Person) -> None:
    await _to_description(person)
    await person.say(DESCRIPTION)  # a help request under way: what was typed is in the dialog
    await person.say("/forget")
    assert bot.settings.redis_url
    from redis.asyncio import Redis

    client = Redis.from_url(bot.settings.redis_url)
    hashed = person_key(bot.settings, person.id)
    try:
        assert await client.keys(f"fsm:*:*:{hashed}:*") != []
        assert await client.keys(f"*{person.id}*") == []  # never the clear id
        await person.press("Так, стерти")
        assert await client.keys(f"fsm:*:*:{hashed}:*") == []
    finally:
        await client.aclose()


async def test_two_replicas_share_one_sending_rate_in_redis(redis_url: str | None) -> None:
    """Replicas counting in one Redis start at most `rate` requests in any wall-clock second, together."""
    from redis.asyncio import Redis

    from bot.notices.shared_rate import SharedRate

    assert redis_url
    now = [1_800_000_000.25]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(round(seconds, 2))
        now[0] += seconds

    replicas = [SharedRate(Redis.from_url(redis_url), 5, clock=lambda: now[0]) for _ in range(2)]
    try:
        for i in range(5):  # five starts in this second, alternating between the replicas
            await replicas[i % 2].wait_turn(sleep)
        assert waits == []
        await replicas[1].wait_turn(sleep)  # the sixth waits for the next second, whoever asks
        assert waits == [0.75] and int(now[0]) == 1_800_000_001
        await replicas[0].wait_turn(sleep)
        assert waits == [0.75]
    finally:
        for replica in replicas:
            await replica.close()
