"""Running at scale, as README "Running at scale" describes: two `python -m bot` replicas in webhook mode
on loopback ports, on PostgreSQL and Redis, behind a round-robin reverse proxy; the fake Bot API server
posts each update to the proxy. A citizen's help request hops between the replicas step by step (the
dialog lives in Redis); one replica leads; when the leader dies the other takes over and the citizen
goes on. Runs when TEST_DATABASE_URL and TEST_REDIS_URL are set (CI sets them)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from cryptography.fernet import Fernet

from bot.telegram_emulator.server import FakeTelegramServer
from tests.conftest import TOKEN, Person
from tests.test_citizen_e2e import text_of
from tests.test_failover import Replica, start_replica
from tests.test_request_bad_input_e2e import _to_description

pytestmark = pytest.mark.skipif(
    not (os.environ.get("TEST_DATABASE_URL") and os.environ.get("TEST_REDIS_URL")),
    reason="TEST_DATABASE_URL and TEST_REDIS_URL are not both set",
)

SECRET = "scale-test-secret"
LEADS = "this replica runs the scheduler"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


LEADER_RETRY = 5  # seconds between a follower's tries (scheduler/leader.py)


async def leader_of(replicas: list[Replica]) -> Replica:
    """The replica that says it leads (one of them does within a try or two)."""
    for _ in range(60):
        for replica in replicas:
            with contextlib.suppress(AssertionError, TimeoutError):
                await replica.read_until(LEADS, 0.25)
                return replica
    raise AssertionError("no replica leads")


class RoundRobin:
    """The load balancer: each post to the next replica; a replica that does not answer is skipped."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.served: list[int] = []
        self._next = itertools.cycle(range(len(ports)))

    async def forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        async with aiohttp.ClientSession() as client:
            for _ in self.ports:
                port = self.ports[next(self._next)]
                try:
                    async with client.post(
                        f"http://127.0.0.1:{port}{request.path}", data=body, headers=request.headers
                    ) as answer:
                        self.served.append(port)
                        return web.Response(status=answer.status, body=await answer.read())
                except aiohttp.ClientConnectionError:
                    continue
        return web.Response(status=502)


@pytest.fixture
async def proxy() -> AsyncIterator[tuple[RoundRobin, str]]:
    balancer = RoundRobin([free_port(), free_port()])
    app = web.Application()
    app.router.add_post("/{tail:.*}", balancer.forward)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield balancer, f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_two_webhook_replicas_share_dialogs_and_one_leads(
    database_url: str, redis_url: str | None, tmp_path: Path, proxy: tuple[RoundRobin, str]
) -> None:
    balancer, proxy_url = proxy
    key = Fernet.generate_key().decode()
    async with FakeTelegramServer(token=TOKEN, webhook_proxy=proxy_url) as server:
        replicas: list[Replica] = []
        try:
            # Both start at once, as after a deploy: they migrate one after the other.
            for name, port in zip("ab", balancer.ports, strict=True):
                replica = await start_replica(
                    server,
                    database_url,
                    key,
                    tmp_path / name,
                    REDIS_URL=redis_url or "",
                    WEBHOOK_URL="https://bot.example.org/telegram",
                    WEBHOOK_SECRET=SECRET,
                    WEBHOOK_HOST="127.0.0.1",
                    WEBHOOK_PORT=str(port),
                )
                replicas.append(replica)
            for replica in replicas:
                await replica.read_until("Dovira is serving the webhook", 60)
            async with aiohttp.ClientSession() as client:
                for port in balancer.ports:
                    async with client.get(f"http://127.0.0.1:{port}/health") as health:
                        assert health.status == 200

            # A help request, step by step: the steps land on both replicas in turn.
            citizen = Person(server, 1001)
            step = await _to_description(citizen)
            step = await citizen.say("Опис, який пройшов через дві репліки")
            step = await citizen.press("Стать", step)
            assert set(balancer.served) == set(balancer.ports)  # both replicas served this dialog

            leader = await leader_of(replicas)
            await asyncio.sleep(LEADER_RETRY + 1)  # a follower's next try finds the lock taken
            for replica in replicas:
                await replica.read_for(0.2)
            assert [r for r in replicas if LEADS in r.log] == [leader], "exactly one replica leads"
            follower = replicas[1 - replicas.index(leader)]

            leader.proc.send_signal(signal.SIGKILL)
            await leader.proc.wait()
            await follower.read_until(LEADS, 30)  # takes over

            # The citizen goes on where they were; only the live replica answers now.
            step = await citizen.press("Не вказувати", step)
            assert "Опис, який пройшов через дві репліки" in text_of(step)
            sent = await citizen.press("Надіслати", step)
            assert "Код запиту" in text_of(sent)
            assert "Traceback" not in follower.log
        finally:
            for replica in replicas:
                await replica.stop()
