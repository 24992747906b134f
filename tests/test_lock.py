"""The lock files (.ci/lock writes them) against pyproject.toml and the README's set-up commands.

The README's commands install the locked versions and then Dovira itself with --no-deps: a dependency
added to pyproject but not locked would install nothing and fail only at import, somewhere."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

pytestmark = pytest.mark.same_on_every_backend  # its own SQLite file, or none

ROOT = Path(__file__).resolve().parent.parent
RELOCK = "run .ci/lock (it keeps the other pins), then the README's test command, and commit both lock files"


def pins(name: str) -> dict[str, set[str]]:
    """Each locked package's versions (two when they differ by Python version), and checks every
    entry is an exact version with at least one hash."""
    text = (ROOT / name).read_text()
    found: dict[str, set[str]] = {}
    for entry in re.split(r"\n(?=[A-Za-z0-9])", text):
        if entry.startswith("#") or not entry.strip():
            continue
        requirement = Requirement(entry.split(" \\", 1)[0].split("\n", 1)[0])
        exact = [s.version for s in requirement.specifier if s.operator == "=="]
        assert exact, f"{name}: {requirement} is not an exact version"
        assert "--hash=sha256:" in entry, f"{name}: {requirement.name} has no hash"
        found.setdefault(canonicalize_name(requirement.name), set()).update(exact)
    return found


def declared(extra: str | None = None) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    listed = project["dependencies"] if extra is None else project["optional-dependencies"][extra]
    return [Requirement(item) for item in listed]


@pytest.mark.parametrize(("lock", "extra"), [("requirements.lock", None), ("requirements-test.lock", "test")])
def test_every_dependency_in_pyproject_is_locked_at_a_version_it_allows(lock: str, extra: str | None) -> None:
    locked = pins(lock)
    for requirement in declared(extra):
        versions = locked.get(canonicalize_name(requirement.name))
        assert versions, f"{requirement.name} is in pyproject.toml but not in {lock}: {RELOCK}"
        allowed = [v for v in versions if requirement.specifier.contains(v, prereleases=True)]
        assert sorted(allowed) == sorted(versions), (
            f"{lock} has {requirement.name} {', '.join(sorted(versions))}, which pyproject.toml's "
            f"{requirement} does not allow: {RELOCK}"
        )


def test_the_tests_run_on_exactly_the_versions_a_deployment_installs() -> None:
    bot, tests = pins("requirements.lock"), pins("requirements-test.lock")
    differ = {
        name: (versions, tests.get(name)) for name, versions in bot.items() if tests.get(name) != versions
    }
    assert not differ, f"requirements-test.lock differs from requirements.lock: {differ}; {RELOCK}"


def setup_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Set up on a fresh machine", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section)


def test_the_readme_sets_up_from_the_locks_in_two_commands_and_ci_runs_the_second() -> None:
    run_bot, run_tests = setup_commands()  # exactly two
    assert "--require-hashes -r requirements.lock" in run_bot and run_bot.endswith("python -m bot")
    assert "--require-hashes -r requirements-test.lock" in run_tests
    assert run_tests.endswith("python -m pytest")
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert run_tests in ci, ".ci/run must run the README's test command word for word"
