"""Both catalogues are complete: every key the code uses exists in uk and en, with the same placeholders."""

from __future__ import annotations

import re
import string
from html.parser import HTMLParser
from pathlib import Path

import pytest

from bot.app import COMMANDS
from bot.i18n import load_catalog
from bot.keyboards import ADVICE_TOPICS
from bot.services.cases import DECLINE_REASONS, SEXES, Outcome, Situation, Status
from bot.services.catalogue import EventType
from bot.services.directory import Need
from bot.services.events import BREAKDOWN_GROUPS, FUNDING_SOURCES, HUMANITARIAN_GROUPS
from bot.services.places import OUTSIDE
from bot.services.police_reports import EXPLOITATION_TYPES, SIGNAL_KINDS
from bot.services.reconciliation import FIELDS as RECONCILE_FIELDS
from bot.services.selfcheck import QUESTIONS, Risk
from handlers.citizen.request.keyboards import CONSENTS, REVIEW_ADDITIONS, REVIEW_ANSWERS
from scheduler.reminder_calendar import AWARENESS_DAYS

ROOT = Path(__file__).resolve().parent.parent
LITERAL_KEY = re.compile(r"""\b_\(\s*["']([a-z_]+(?:\.[a-z_0-9]+)+)["']\s*\)""")
DYNAMIC_KEY = re.compile(r"""\b_\(\s*f(?:"([^"]*\{[^"]*)"|'([^']*\{[^']*)')""")


def _catalog(language: str) -> dict[str, str]:
    return {str(m.id): str(m.string) for m in load_catalog(language) if m.id}


def _keys_in_code() -> set[str]:
    keys: set[str] = set()
    for folder in ("bot", "handlers"):
        for path in (ROOT / folder).rglob("*.py"):
            keys.update(LITERAL_KEY.findall(path.read_text("utf-8")))
    return keys


ERROR_KEY = re.compile(r"""(?:CaseError|InviteError|EventError|ReportError)\(\s*["']([a-z_.]+)["']""")
EVENT_KINDS = (
    "created",
    "consent",
    "accepted",
    "referred",
    "in_progress",
    "closed",
    "withdrawn",
    "conversation_closed",
    "referral_accepted",
    "referral_declined",
    "victim_status",
    "released",
    "break_glass",
    "reassigned",
)


def _dynamic_keys() -> set[str]:
    """Keys built at run time from domain values; the test below checks every f-string key matches one."""
    keys = {f"need.{n.value}" for n in Need}
    keys |= {f"status.{s.value}" for s in Status} | {f"status.citizen.{s.value}" for s in Status}
    keys |= {f"outcome.{o.value}" for o in Outcome} | {f"outcome.citizen.{o.value}" for o in Outcome}
    keys |= {f"situation.{s.value}" for s in Situation} | {f"sex.{s}" for s in SEXES}
    keys |= {"contact.bot", "contact.phone"} | {f"decline.{r}" for r in DECLINE_REASONS}
    keys |= {f"referrals.reason.{r}" for r in DECLINE_REASONS}
    keys |= {f"victim_status.{v}" for v in ("applied", "pending", "granted", "refused")}
    keys |= {f"referral.status.{v}" for v in ("pending", "accepted", "declined")}
    keys |= {f"filter.{v}" for v in ("open", "new", "closed")} | {f"event.{k}" for k in EVENT_KINDS}
    notices = ("case.new", "case.remind", "case.escalate", "case.released", "referral.remind")
    keys |= {f"notice.{k}" for k in notices}
    keys |= {f"event_type.{t.value}" for t in EventType} | {
        f"group.{g}" for g in (*BREAKDOWN_GROUPS, *HUMANITARIAN_GROUPS)
    }
    keys |= {f"funding.{f}" for f in FUNDING_SOURCES}
    keys |= {f"event_action.{a}" for a in ("logged", "corrected", "withdrawn")}
    keys |= {f"signal.{k}" for k in SIGNAL_KINDS} | {f"exploitation.{e}" for e in EXPLOITATION_TYPES}
    keys |= {f"police.state.{s}" for s in ("signals", "nil", "missing")}
    for path in (ROOT / "bot" / "services").glob("*.py"):  # errors a service raises are shown by key
        keys.update(ERROR_KEY.findall(path.read_text("utf-8")))
    keys |= {f"advice.button.{t}" for t in ADVICE_TOPICS}
    keys |= {f"advice.{t}.{part}" for t in ADVICE_TOPICS for part in ("title", "body")}
    keys |= {f"selfcheck.{kind}.{q}" for q in QUESTIONS for kind in ("q", "tip")}
    keys |= {f"selfcheck.result.{r.value}" for r in Risk}
    keys |= {f"command.{c}" for c in COMMANDS}
    # Quarterly reconciliation and the calendar reminders (scheduler/jobs.py).
    keys |= {f"reconcile.field.{f}" for f in RECONCILE_FIELDS} | {
        f"reconcile.note.{s}" for s in ("police", "region")
    }
    keys |= {f"reconcile.state.waiting_{s}" for s in ("police", "region")}
    keys |= {f"reconcile.state.waiting_confirm_{s}" for s in ("police", "region")}
    keys |= {
        f"reconcile.told.{e}.{s}" for e in ("entered", "explained", "confirmed") for s in ("police", "region")
    }
    keys |= {f"awareness.{key}" for _m, _d, key in AWARENESS_DAYS}
    # The help request's places outside the oblasts, its answers and consents (handlers/citizen/request/).
    keys |= {f"place.{c}" for c in OUTSIDE} | {f"place.button.{c}" for c in OUTSIDE}
    keys |= {f"where.outside.{c}" for c in OUTSIDE}
    keys |= {f"request.change.{a}" for a in (*REVIEW_ANSWERS, *REVIEW_ADDITIONS)}
    keys |= {f"request.consent.{c}" for c in CONSENTS} | {f"request.consent_given.{c}" for c in CONSENTS}
    return keys


def test_every_dynamic_key_pattern_is_enumerated() -> None:
    """An f-string key must match a key _dynamic_keys() lists, or its translations go unchecked."""
    dynamic = _dynamic_keys()
    for folder in ("bot", "handlers"):
        for path in (ROOT / folder).rglob("*.py"):
            for pair in DYNAMIC_KEY.findall(path.read_text("utf-8")):
                pattern = pair[0] or pair[1]
                shape = re.compile("^" + re.sub(r"\\\{[^}]*\\\}", "[a-z_0-9.+-]+", re.escape(pattern)) + "$")
                assert any(shape.match(k) for k in dynamic), (
                    f"{path.name}: add {pattern!r} to _dynamic_keys()"
                )


@pytest.mark.parametrize("language", ["uk", "en"])
def test_every_key_used_is_translated(language: str) -> None:
    catalog = _catalog(language)
    used = _keys_in_code() | _dynamic_keys()
    missing = sorted(k for k in used if not catalog.get(k, "").strip())
    assert not missing, f"{language} catalogue lacks: {missing}"


def test_a_key_defined_in_two_files_is_refused(tmp_path: Path) -> None:
    """The .po files of a language are merged: a key in two of them kept the first file's text, so a
    programme event's "already withdrawn" showed the case history's "withdrawn by the person"."""
    folder = tmp_path / "uk" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    for name, text in (("a.po", "перший"), ("b.po", "другий")):
        (folder / name).write_text(f'msgid ""\nmsgstr ""\n\nmsgid "event.withdrawn"\nmsgstr "{text}"\n')
    with pytest.raises(ValueError, match="defined twice"):
        load_catalog("uk", tmp_path)


def test_catalogues_have_the_same_keys_and_placeholders() -> None:
    uk, en = _catalog("uk"), _catalog("en")
    assert set(uk) == set(en), f"only in uk: {set(uk) - set(en)}; only in en: {set(en) - set(uk)}"
    fields = string.Formatter()
    for key in uk:
        uk_fields = {f for _, f, _, _ in fields.parse(uk[key]) if f}
        en_fields = {f for _, f, _, _ in fields.parse(en[key]) if f}
        assert uk_fields == en_fields, f"{key}: placeholders differ ({uk_fields} vs {en_fields})"


class _TagChecker(HTMLParser):
    ALLOWED = frozenset({"b", "i", "u", "s", "code", "pre", "a"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.ALLOWED:
            self.errors.append(f"tag <{tag}> is not one Telegram accepts")
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(f"</{tag}> closes nothing")


@pytest.mark.parametrize("language", ["uk", "en"])
def test_texts_are_valid_telegram_html_and_fit(language: str) -> None:
    for key, text in _catalog(language).items():
        checker = _TagChecker()
        checker.feed(text)
        assert not checker.errors and not checker.stack, (
            f"{language} {key}: {checker.errors or checker.stack}"
        )
        assert len(text) < 3500, f"{language} {key} is too long for one message with its buttons"
        if key.startswith("command."):
            assert 3 <= len(text) <= 256, f"{language} {key}: Telegram wants 3-256 characters"
        if key.startswith(
            (
                "menu.",
                "button.",
                "need.",
                "advice.button.",
                "privacy.forget_yes",
                "privacy.forget_no",
                "where.whole",
            )
        ):
            assert len(text) <= 40, f"{language} {key}: a button label this long is cut on a phone"
