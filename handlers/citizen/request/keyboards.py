"""The buttons of the help request dialog. Under every step: Back (to the previous step, answers kept)
and Cancel (drop it all); the answer already given is marked, so going back shows what was chosen."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.callbacks import RequestAction, RequestStep
from bot.keyboards import NEED_CODES, button, markup, pairs
from bot.services.cases import AGE_GROUPS, SEXES, Situation
from bot.services.directory import Directory, Oblast
from bot.services.places import OUTSIDE

CONSENTS = ("all", "orgs", "none")  # to organisations and the police / organisations only / nobody yet
REVIEW_ANSWERS = ("situation", "place", "urgency", "contact", "consent")
REVIEW_ADDITIONS = ("needs", "description", "sex", "age")


def nav_row() -> list[InlineKeyboardButton]:
    """Under every step of the request: back to the previous step (answers kept), or drop it all."""
    return [
        button(_("request.back"), RequestStep(step=RequestAction.BACK)),
        button(_("request.cancel"), RequestStep(step=RequestAction.CANCEL)),
    ]


def _mark(label: str, current: bool) -> str:
    """The answer already given is marked, so that going back shows what was chosen."""
    return "✓ " + label if current else label


def _choice(label: str, current: bool, step: RequestAction, value: str) -> InlineKeyboardButton:
    return button(_mark(label, current), RequestStep(step=step, value=value))


# Answers are kept in the dialog's data; `current` is the one given so far (None: not answered yet).
def situations(current: str | None) -> InlineKeyboardMarkup:
    return markup(
        *[
            [_choice(_(f"situation.{s.value}"), s.value == current, RequestAction.SITUATION, s.value)]
            for s in Situation
        ],
        nav_row(),
    )


def _outside_rows(current: str | None) -> list[list[InlineKeyboardButton]]:
    """Another oblast, abroad, rather not say: stored as the oblast (bot/services/places.py)."""
    return [
        [_choice(_(f"place.button.{code}"), code == current, RequestAction.OBLAST, code)] for code in OUTSIDE
    ]


def oblasts(oblast_list: tuple[Oblast, ...], lang: str, current: str | None) -> InlineKeyboardMarkup:
    rows = [[_choice(o.name.get(lang), o.id == current, RequestAction.OBLAST, o.id)] for o in oblast_list]
    return markup(*rows, *_outside_rows(current), nav_row())


def districts(
    oblast: Oblast, lang: str, current: str | None, *, outside: str | None = None, with_outside: bool = False
) -> InlineKeyboardMarkup:
    """`with_outside`: the oblast step is skipped (one oblast in the directory), so its other choices
    are offered here."""
    items = [
        _choice(d.name.get(lang), d.id == current, RequestAction.DISTRICT, d.id) for d in oblast.districts
    ]
    unknown = [_choice(_("request.district_unknown"), current == "*", RequestAction.DISTRICT, "*")]
    extra = _outside_rows(outside) if with_outside else []
    return markup(*pairs(items), unknown, *extra, nav_row())


def communities(
    directory: Directory, district_id: str, lang: str, current: str | None
) -> InlineKeyboardMarkup:
    district = directory.district(district_id)
    assert district is not None
    items = [
        _choice(c.name.get(lang), c.id == current, RequestAction.COMMUNITY, str(i))
        for i, c in enumerate(district.communities)
    ]
    whole = [_choice(_("where.whole_district"), current == "*", RequestAction.COMMUNITY, "*")]
    return markup(*pairs(items), whole, nav_row())


def urgency(current: bool | None) -> InlineKeyboardMarkup:
    return markup(
        [_choice(_("request.urgent_yes"), current is True, RequestAction.URGENCY, "1")],
        [_choice(_("request.urgent_no"), current is False, RequestAction.URGENCY, "0")],
        nav_row(),
    )


def contact(current: str | None) -> InlineKeyboardMarkup:
    return markup(
        [_choice(_("request.contact_bot"), current == "bot", RequestAction.CONTACT, "bot")],
        [_choice(_("request.contact_phone"), current == "phone", RequestAction.CONTACT, "phone")],
        nav_row(),
    )


def phone(kept: str | None) -> InlineKeyboardMarkup:
    """While a number is typed; one already given can be kept in one tap."""
    keep = (
        [
            button(
                "✓ " + _("request.keep_phone").format(phone=kept), RequestStep(step=RequestAction.PHONE_KEEP)
            )
        ]
        if kept
        else []
    )
    return markup(keep, nav_row())


def consent(current: str | None) -> InlineKeyboardMarkup:
    return markup(
        *[[_choice(_(f"request.consent.{c}"), c == current, RequestAction.CONSENT, c)] for c in CONSENTS],
        nav_row(),
    )


def review(data: dict[str, object]) -> InlineKeyboardMarkup:
    """Send; change any answer in one tap; the optional additions (➕ until given, then ✏️)."""
    answers = [
        button("✏️ " + _(f"request.change.{a}"), RequestStep(step=RequestAction.EDIT, value=a))
        for a in REVIEW_ANSWERS
    ]
    given = {
        "needs": bool(data.get("needs")),
        "description": bool(data.get("description")),
        "sex": data.get("sex") is not None,
        "age": data.get("age_group") is not None,
    }
    additions = [
        button(
            ("✏️ " if given[a] else "➕ ") + _(f"request.change.{a}"),
            RequestStep(step=RequestAction.EDIT, value=a),
        )
        for a in REVIEW_ADDITIONS
    ]
    return markup(
        [button(_("request.send"), RequestStep(step=RequestAction.SEND))],
        *pairs(answers),
        *pairs(additions),
        nav_row(),
    )


def needs(chosen: list[str]) -> InlineKeyboardMarkup:
    items = [
        button(
            ("✅ " if need.value in chosen else "") + _(f"need.{need.value}"),
            RequestStep(step=RequestAction.NEED, value=code),
        )
        for need, code in NEED_CODES.items()
    ]
    done = [button(_("request.needs_done"), RequestStep(step=RequestAction.NEEDS_DONE))]
    return markup(*pairs(items), done, nav_row())


def description(has: bool) -> InlineKeyboardMarkup:
    clear = (
        [button(_("request.description_clear"), RequestStep(step=RequestAction.DESCRIPTION_CLEAR))]
        if has
        else []
    )
    return markup(clear, nav_row())


def sex(current: str | None) -> InlineKeyboardMarkup:
    return markup(
        [_choice(_(f"sex.{s}"), s == current, RequestAction.SEX, s) for s in SEXES],
        [_choice(_("request.prefer_not"), current == "-", RequestAction.SEX, "-")],
        nav_row(),
    )


def age(current: str | None) -> InlineKeyboardMarkup:
    return markup(
        [_choice(a, a == current, RequestAction.AGE, a) for a in AGE_GROUPS],
        [_choice(_("request.prefer_not"), current == "-", RequestAction.AGE, "-")],
        nav_row(),
    )
