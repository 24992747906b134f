"""Updates per second through the webhook: one replica, then two behind a round-robin, in one run.

Each replica is `python -m bot` as deployed (a subprocess, WEBHOOK_URL set) on PostgreSQL and Redis.
The benchmark is Telegram: it POSTs citizen /start updates straight to the replicas' webhook ports
(`--concurrency` at once, with the secret header; two replicas take turns, a trivial load balancer)
and its fake Bot API server (BOT_API_BASE) counts the replies. A rate is updates / seconds from the
first POST until every reply has reached the fake server: the full /start path (user record in
PostgreSQL, dialog state in Redis, i18n, the menu keyboard, the sendMessage round trip).

Baseline, measured in the same run: (a) an "echo replica", a bare aiohttp server that answers the
POST and sends one sendMessage per update with no bot behind it. It is the ceiling of this harness
(the load, the fake server and the replica's HTTP on the same machine).

Everything shares the machine's cores (2 here): the benchmark process (load and fake Bot API server),
the replicas, PostgreSQL and Redis. A second replica cannot bring a second machine's worth of CPU, so
its ratio says how much the first replica left unused, not how replicas scale across machines.

The database is a fresh `dovira_bench` created next to DATABASE_URL's (via the `postgres`
maintenance database) and dropped at the end: the `test` database belongs to the CI suite.

    python benchmarks/webhook.py [--updates 3000] [--users 1000] [--concurrency 100]
    DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379/0
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot.settings import Settings  # noqa: E402
from bot.telegram_emulator.server import Call, FakeTelegramServer  # noqa: E402
from bot.webhook import SECRET_HEADER  # noqa: E402

TOKEN = "7777:BENCH"
SECRET = "bench-secret-0123456789"
PATH = "/telegram"
BENCH_DB = "dovira_bench"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_update(update_id: int, user: int) -> dict[str, Any]:
    person = {"id": user, "is_bot": False, "first_name": "B", "language_code": "uk"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": user, "type": "private", "first_name": "B"},
            "from": person,
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


class Replies:
    """Counts the fake server's successful sendMessage calls; wakes a waiter at a target."""

    def __init__(self) -> None:
        self.count = 0
        self.failed = 0
        self._target = 0
        self._reached = asyncio.Event()

    def on_call(self, call: Call) -> None:
        if call.method.lower() != "sendmessage":
            return
        if not call.ok:
            self.failed += 1
            return
        self.count += 1
        if self._target and self.count >= self._target:
            self._reached.set()

    async def wait_for(self, target: int, timeout: float) -> None:  # noqa: ASYNC109
        self._target = target
        self._reached.clear()
        if self.count >= target:
            return
        await asyncio.wait_for(self._reached.wait(), timeout)


class Replica:
    def __init__(self, name: str, args: list[str], env: dict[str, str], port: int, log: Path) -> None:
        self.name, self.args, self.env, self.port, self.log = name, args, env, port, log
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, *self.args, cwd=self.log.parent, env=self.env, stdout=out, stderr=out
            )
        deadline = time.monotonic() + 90
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if self.proc.returncode is not None:
                    tail = "\n".join(self.log.read_text(errors="replace").splitlines()[-20:])
                    raise SystemExit(f"{self.name} exited ({self.proc.returncode}):\n{tail}")
                try:
                    async with http.get(f"http://127.0.0.1:{self.port}/health") as answer:
                        if answer.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
        raise SystemExit(f"{self.name} did not answer /health in 90 s; see {self.log}")

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), 30)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()


async def post_all(
    ports: list[int], updates: list[dict[str, Any]], concurrency: int, secret: str
) -> tuple[int, int]:
    """POST every update (round-robin over `ports`), `concurrency` at once; (accepted, refused)."""
    queue = iter(enumerate(updates))
    accepted = refused = 0
    headers = {SECRET_HEADER: secret, "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=concurrency)

    async def worker(http: aiohttp.ClientSession) -> None:
        nonlocal accepted, refused
        for index, update in queue:
            url = f"http://127.0.0.1:{ports[index % len(ports)]}{PATH}"
            body = json.dumps(update).encode()
            for _attempt in range(50):  # Telegram retries what was not answered 2xx
                try:
                    async with http.post(url, data=body, headers=headers) as answer:
                        await answer.read()
                        if answer.status == 200:
                            accepted += 1
                            break
                        refused += 1
                except aiohttp.ClientError:
                    refused += 1
                await asyncio.sleep(0.05)

    async with aiohttp.ClientSession(connector=connector) as http:
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
    return accepted, refused


async def measure(
    ports: list[int],
    replies: Replies,
    updates: list[dict[str, Any]],
    replies_per_update: int,
    concurrency: int,
) -> tuple[float, int]:
    target = replies.count + len(updates) * replies_per_update
    started = time.perf_counter()
    _accepted, refused = await post_all(ports, updates, concurrency, SECRET)
    try:
        await replies.wait_for(target, timeout=120)
    except TimeoutError:
        raise SystemExit(
            f"replies stopped at {replies.count} of {target} ({replies.failed} failed)"
        ) from None
    return len(updates) / (time.perf_counter() - started), refused


def cpu_seconds(replica: Replica) -> float:
    """User + system CPU seconds of a replica process so far (Linux /proc)."""
    if replica.proc is None:
        return 0.0
    fields = Path(f"/proc/{replica.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def make_updates(ids: Callable[[], int], count: int, users: int, first_user: int) -> list[dict[str, Any]]:
    return [start_update(ids(), first_user + (i % users)) for i in range(count)]


# ------------------------------------------------------------------------- the echo replica (baseline)


def echo_replica(port: int, base: str) -> None:
    """A bare webhook: 200 at once, then one sendMessage per update (no database, no dispatcher)."""

    async def main() -> None:
        http = aiohttp.ClientSession()
        tasks: set[asyncio.Task[None]] = set()

        async def reply(chat_id: int) -> None:
            data = {"chat_id": chat_id, "text": "echo"}
            async with http.post(f"{base}/bot{TOKEN}/sendMessage", data=data) as answer:
                await answer.read()

        async def hook(request: web.Request) -> web.Response:
            if request.headers.get(SECRET_HEADER) != SECRET:
                return web.Response(status=403)
            update = await request.json()
            task = asyncio.create_task(reply(update["message"]["chat"]["id"]))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            return web.json_response({"ok": True})

        async def health(request: web.Request) -> web.Response:
            return web.json_response({"status": "ok"})

        app = web.Application()
        app.router.add_post(PATH, hook)
        app.router.add_get("/health", health)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        await runner.cleanup()
        await http.close()

    asyncio.run(main())


# ------------------------------------------------------------------------- databases


async def create_bench_database(url: str) -> str:
    """A fresh `dovira_bench` on the server of `url`; its URL."""
    import asyncpg

    parsed = make_url(url)
    maintenance = parsed.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    conn = await asyncpg.connect(maintenance)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    finally:
        await conn.close()
    return parsed.set(database=BENCH_DB).render_as_string(hide_password=False)


async def drop_bench_database(url: str) -> None:
    import asyncpg

    maintenance = make_url(url).set(drivername="postgresql", database="postgres")
    conn = await asyncpg.connect(maintenance.render_as_string(hide_password=False))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    finally:
        await conn.close()


async def forget_bench_keys(redis_url: str) -> int:
    """The replicas' dialog keys (they carry the bench bot's id), and nothing else."""
    from redis.asyncio import Redis

    client = Redis.from_url(redis_url)
    deleted = 0
    try:
        async for key in client.scan_iter(match=f"fsm:{TOKEN.split(':')[0]}:*", count=1000):
            deleted += await client.delete(key)
    finally:
        await client.aclose()
    return deleted


# ------------------------------------------------------------------------- main


async def main(count: int, users: int, concurrency: int) -> None:
    base_url = os.environ.get("DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    redis_url: str | None = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    if "redis_url" not in Settings.model_fields:
        print("REDIS_URL is not implemented in this checkout: replicas keep dialogs in PostgreSQL")
        redis_url = None
    database_url = await create_bench_database(base_url)
    replies = Replies()
    ids = itertools.count(1).__next__
    replicas: list[Replica] = []
    cores = os.cpu_count()
    print(f"{count} citizen /start updates from {users} users, {concurrency} POSTs at once, on {cores} cores")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average before the run: {load} (other work on this machine takes cores too)")
    print(
        f"database {make_url(database_url).render_as_string(hide_password=True)}, Redis {redis_url or 'off'}"
    )
    try:
        async with FakeTelegramServer(token=TOKEN, bot_user_id=7777, on_call=replies.on_call) as server:
            with tempfile.TemporaryDirectory() as tmp:
                env = {
                    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                    "PYTHONPATH": str(ROOT),
                    "HOME": tmp,
                    "BOT_TOKEN": TOKEN,
                    "BOT_API_BASE": server.base_url,
                    "DATABASE_URL": database_url,
                    "KEY_FILE": str(Path(tmp) / "dovira.key"),
                    "WEBHOOK_URL": f"https://bench.invalid{PATH}",
                    "WEBHOOK_SECRET": SECRET,
                    **({"REDIS_URL": redis_url} if redis_url else {}),
                }

                def replica(name: str, *, echo: bool = False) -> Replica:
                    port = free_port()
                    if echo:
                        args = [str(Path(__file__).resolve()), "--echo-replica", str(port), server.base_url]
                    else:
                        args = ["-m", "bot"]
                    return Replica(
                        name, args, {**env, "WEBHOOK_PORT": str(port)}, port, Path(tmp) / f"{name}.log"
                    )

                async def run_phase(
                    label: str, names: list[str], *, echo: bool = False, first_user: int
                ) -> float:
                    started = [replica(name, echo=echo) for name in names]
                    replicas.extend(started)
                    for r in started:  # one after another: the first one migrates the database
                        await r.start()
                    ports = [r.port for r in started]
                    for user in (
                        *range(first_user, first_user + 200),
                        *range(first_user + 1000, first_user + 1000 + users),
                    ):
                        server.add_user(user, first_name="B")  # Telegram knows whoever writes to the bot
                    warm = make_updates(ids, 200, 200, first_user)
                    try:
                        await measure(ports, replies, warm, 1, concurrency)
                        cpu_before = [cpu_seconds(r) for r in started], time.process_time()
                        wall = time.perf_counter()
                        rate, refused = await measure(
                            ports, replies, make_updates(ids, count, users, first_user + 1000), 1, concurrency
                        )
                    except SystemExit:
                        for r in started:
                            print(
                                f"--- {r.log.name}, last lines:\n"
                                + "\n".join(r.log.read_text().splitlines()[-15:])
                            )
                        raise
                    wall = time.perf_counter() - wall
                    busy = [
                        (cpu_seconds(r) - before) / wall
                        for r, before in zip(started, cpu_before[0], strict=True)
                    ]
                    harness = (time.process_time() - cpu_before[1]) / wall
                    note = f", {refused} POSTs retried" if refused else ""
                    cores_used = " + ".join(f"{b:.2f}" for b in busy)
                    busy_note = f"cores busy: replica {cores_used}, harness {harness:.2f}"
                    print(f"{label:<40} {rate:6.0f} updates/s  ({busy_note}){note}")
                    for r in started:
                        await r.stop()
                    return rate

                a = await run_phase(
                    "(a) echo replica (harness ceiling)", ["echo"], echo=True, first_user=100_000
                )
                b = await run_phase("(b) one Dovira replica", ["one"], first_user=200_000)
                c = await run_phase(
                    "(c) two Dovira replicas, round-robin", ["two-a", "two-b"], first_user=300_000
                )
                print(f"ratio c/b = {c / b:.2f} (two replicas over one)")
                print(f"ratio b/a = {b / a:.2f} (one replica over the harness ceiling)")
                if replies.failed:
                    print(f"{replies.failed} sendMessage calls failed")
                print(
                    "Note: the replicas, PostgreSQL, Redis and this process (the load and the fake Bot API) "
                    f"share {os.cpu_count()} cores; a second replica here only uses CPU the first left idle, "
                    "so c/b is a floor for replicas on machines of their own, not a scaling measurement."
                )
    finally:
        for r in replicas:
            await r.stop()
        if redis_url:
            await forget_bench_keys(redis_url)
        await drop_bench_database(base_url)


def _interrupt_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so the replicas stop and the bench database is dropped."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--updates", type=int, default=3000)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--echo-replica", nargs=2, metavar=("PORT", "BOT_API_BASE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.echo_replica:
        echo_replica(int(args.echo_replica[0]), args.echo_replica[1])
    else:
        _interrupt_on_sigterm()
        asyncio.run(main(args.updates, args.users, args.concurrency))
