"""The migrations themselves: every revision goes up, down and up again (the stairway), and the schema they
build is the one db.models describes. On SQLite always, and on PostgreSQL in the pass that sets
TEST_DATABASE_URL (these depend on the backend: no `same_on_every_backend` mark).

Each test starts from an empty database (the `database_url` one, emptied) and leaves it migrated to head,
as the other tests of the same worker expect it."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from sqlalchemy import Column, Constraint, Index, Table, inspect
from sqlalchemy import text as sql
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from db import models  # noqa: F401  (registers the tables on Base.metadata)
from db.base import Base
from db.engine import create_engine, is_sqlite, sqlite_file
from db.migrate import alembic_config, migrate_to, upgrade_to_head

# Revisions whose downgrade refuses on purpose, and why. The stairway checks that each still refuses
# cleanly (nothing changed, still at that revision) and covers the stretches below and above it; any
# other revision whose downgrade fails fails the test.
IRREVERSIBLE = {
    "0010": "identities hashed at rest cannot be turned back into clear Telegram ids",
}

Shape = dict[str, dict[str, Any]]


def scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def in_order() -> list[Script]:
    """Every revision, oldest first."""
    return list(reversed(list(scripts().walk_revisions())))


def named(script: Script) -> str:
    title = (script.doc or "").strip().splitlines()[0] if script.doc else ""
    return f"revision {script.revision} ({title})"


async def step(engine: AsyncEngine, how: str, revision: str, script: Script) -> None:
    try:
        await migrate_to(engine, how, revision)
    except Exception as exc:
        raise AssertionError(
            f"{named(script)}: {how} to {revision} failed: {type(exc).__name__}: {exc}"
        ) from exc


async def current(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())


async def shape(engine: AsyncEngine) -> Shape:
    """What the schema is, table by table, as the database reports it (alembic_version left out)."""

    def read(conn: Connection) -> Shape:
        found = inspect(conn)
        tables: Shape = {}
        for table in sorted(t for t in found.get_table_names() if t != "alembic_version"):
            columns = {
                c["name"]: (c["type"].compile(dialect=conn.dialect), c["nullable"], c.get("default"))
                for c in found.get_columns(table)
            }
            tables[table] = {
                "columns": columns,
                "primary key": found.get_pk_constraint(table).get("constrained_columns"),
                "foreign keys": sorted(
                    (
                        str(fk.get("name")),
                        tuple(fk["constrained_columns"]),
                        fk["referred_table"],
                        tuple(fk["referred_columns"]),
                        str(fk.get("options", {}).get("ondelete")),
                    )
                    for fk in found.get_foreign_keys(table)
                ),
                "indexes": sorted(
                    (str(i["name"]), tuple(str(c) for c in i["column_names"]), bool(i["unique"]))
                    for i in found.get_indexes(table)
                ),
                "unique constraints": sorted(
                    (str(u["name"]), tuple(u["column_names"])) for u in found.get_unique_constraints(table)
                ),
            }
        return tables

    async with engine.connect() as conn:
        return await conn.run_sync(read)


def differences(expected: Shape, found: Shape) -> str:
    lines = []
    for table in sorted(expected.keys() | found.keys()):
        if table not in found:
            lines.append(f"  table {table}: missing")
        elif table not in expected:
            lines.append(f"  table {table}: left over")
        else:
            for part, value in expected[table].items():
                now = found[table][part]
                if now == value:
                    continue
                if isinstance(value, dict):  # the columns: name the ones that differ
                    for column in sorted(value.keys() | now.keys()):
                        was, became = value.get(column), now.get(column)
                        if was != became:
                            lines.append(f"  {table}.{column}: expected {was!r}, found {became!r}")
                else:
                    lines.append(f"  {table} {part}: expected {value!r}, found {now!r}")
    return "\n".join(lines)


def same_shape(expected: Shape, found: Shape, what: str) -> None:
    assert found == expected, f"{what}, the schema is not what it was:\n{differences(expected, found)}"


async def emptied(database_url: str) -> AsyncEngine:
    """The test's database with nothing in it, and an engine on it with the bot's connection settings."""
    file = sqlite_file(database_url) if is_sqlite(database_url) else None
    if file is not None:
        for path in (file, file.with_name(file.name + "-wal"), file.with_name(file.name + "-shm")):
            path.unlink(missing_ok=True)
        return create_engine(database_url)
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.execute(sql("DROP SCHEMA public CASCADE"))
        await conn.execute(sql("CREATE SCHEMA public"))
    return engine


async def back_to_head(engine: AsyncEngine) -> None:
    """Leave the database as the other tests expect it (on PostgreSQL a worker's tests share it)."""
    try:
        if engine.dialect.name == "postgresql":
            async with engine.begin() as conn:
                await conn.execute(sql("DROP SCHEMA public CASCADE"))
                await conn.execute(sql("CREATE SCHEMA public"))
            await upgrade_to_head(engine)
    finally:
        await engine.dispose()


@pytest.mark.same_on_every_backend
def test_the_revisions_are_one_line() -> None:
    """One head, each revision after the one before: the stairway below walks that line."""
    found = scripts()
    assert len(found.get_heads()) == 1, f"more than one head: {found.get_heads()} (merge or renumber)"
    ordered = in_order()
    assert ordered[0].down_revision is None
    for before, after in itertools.pairwise(ordered):
        assert after.down_revision == before.revision, f"{named(after)} does not follow {named(before)}"
    assert set(IRREVERSIBLE) <= {s.revision for s in ordered}, "IRREVERSIBLE names a revision that is gone"


async def test_stairway_every_revision_up_down_and_up_again(database_url: str) -> None:
    engine = await emptied(database_url)
    try:
        ordered = in_order()
        shapes: dict[str | None, Shape] = {None: await shape(engine)}
        floor: str | None = None  # the lowest revision a downgrade from here can reach (None: base)

        async def round_trip(top: Script) -> None:
            """From `top` down to the floor in one go, and back up to `top`."""
            await step(engine, "downgrade", floor or "base", top)
            same_shape(shapes[floor], await shape(engine), f"down from {top.revision} to {floor or 'base'}")
            await step(engine, "upgrade", top.revision, top)
            same_shape(shapes[top.revision], await shape(engine), f"back up to {top.revision}")

        for number, script in enumerate(ordered):
            revision, down = script.revision, script.down_revision
            assert isinstance(down, str | None)
            if revision in IRREVERSIBLE and down != floor:
                await round_trip(ordered[number - 1])
            await step(engine, "upgrade", revision, script)
            shapes[revision] = await shape(engine)
            assert await current(engine) == revision

            if revision in IRREVERSIBLE:
                try:
                    await migrate_to(engine, "downgrade", down or "base")
                except NotImplementedError:
                    pass
                else:
                    pytest.fail(f"{named(script)} downgrades now: take it off IRREVERSIBLE")
                assert await current(engine) == revision, f"{named(script)}: a refused downgrade moved"
                same_shape(
                    shapes[revision], await shape(engine), f"after {named(script)} refused to downgrade"
                )
                floor = revision
                continue

            await step(engine, "downgrade", down or "base", script)
            assert await current(engine) == down, f"{named(script)}: downgraded to {await current(engine)}"
            same_shape(shapes[down], await shape(engine), f"after the downgrade of {named(script)}")
            await step(engine, "upgrade", revision, script)
            same_shape(shapes[revision], await shape(engine), f"after {named(script)} again")

        # The whole way down (as far as the migrations go) and up to head as the bot does it.
        head = ordered[-1]
        if floor != head.revision:
            await step(engine, "downgrade", floor or "base", head)
            same_shape(shapes[floor], await shape(engine), f"down from head to {floor or 'base'}")
        await upgrade_to_head(engine)
        assert await current(engine) == head.revision
        same_shape(shapes[head.revision], await shape(engine), "back up to head")
    finally:
        await back_to_head(engine)


def said(change: Any) -> str:
    """One difference autogenerate found, in words: ("modify_default", None, "invites", "keeps_roles",
    {...}, DefaultClause(false), None) -> "modify_default invites.keeps_roles: false -> None"."""
    if isinstance(change, list):  # the modify_* of one column come grouped
        return "; ".join(said(one) for one in change)

    def value(item: Any) -> str:
        arg = getattr(item, "arg", None)  # a server default
        if arg is not None:
            return str(getattr(arg, "text", arg))
        if isinstance(item, str):
            return item
        if isinstance(item, Table):
            return f"table {item.name}"
        if isinstance(item, Column):
            return f"column {item.table.name}.{item.name} {item.type}"
        if isinstance(item, Index | Constraint):
            table = getattr(item, "table", None)
            return f"{type(item).__name__} {item.name} on {getattr(table, 'name', '?')}"
        return repr(item)

    kind, *rest = change
    if kind.startswith("modify_"):
        _schema, table, column, _existing, old, new = rest
        return f"{kind} {table}.{column}: {value(old)} (in the database) -> {value(new)} (in db.models)"
    return f"{kind} " + ", ".join(value(item) for item in rest if item is not None)


async def test_models_match_the_migrations(database_url: str) -> None:
    """Autogenerate, run against a database the migrations built, has nothing to add: what db.models
    says (tables, columns and their types, nullability, server defaults, indexes, keys) is what is there."""
    engine = await emptied(database_url)
    try:
        await upgrade_to_head(engine)

        def compare(conn: Connection) -> list[Any]:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": True}
            )
            return list(compare_metadata(context, Base.metadata))

        async with engine.connect() as conn:
            drift = await conn.run_sync(compare)
        assert not drift, (
            "db.models and the migrations differ (write a migration: `alembic revision --autogenerate`):\n"
            + "\n".join(f"  {said(change)}" for change in drift)
        )
    finally:
        await back_to_head(engine)
