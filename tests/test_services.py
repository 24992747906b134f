"""Domain services without Telegram: directory, self-check, clear-chat ranges."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.services import selfcheck
from bot.services.directory import Community, Directory, Entry, Localized, Need, Regions, load_directory
from bot.services.privacy import BACK, DELETE_BATCH, ids_to_clear

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture(scope="module")
def directory() -> Directory:
    return load_directory(DATA)


def test_both_seed_oblasts_ship_with_their_districts(directory: Directory) -> None:
    ids = {o.id: len(o.districts) for o in directory.oblasts}
    assert ids == {"kharkiv": 7, "zhytomyr": 4}


def test_every_phone_and_address_names_its_source(directory: Directory) -> None:
    for entry in directory.entries:
        if entry.phones or entry.address:
            assert entry.source.strip() and entry.checked_on <= date(2026, 12, 31), entry.id


def test_hotlines_are_national_and_1547_comes_first(directory: Directory) -> None:
    hotlines = directory.hotlines()
    assert hotlines[0].phones == ("1547",)
    assert all(e.scope == "national" for e in hotlines)
    assert {"102", "112"} <= {p for e in directory.emergency() for p in e.phones}


def test_regional_entries_carry_no_invented_contacts(directory: Directory) -> None:
    """The seeds publish no regional phone or address: any that appears must come with a new source,
    a public page with the page's own date (data/directory/README.md)."""
    page = re.compile(r"https?://\S+ \(page dated \d{4}-\d{2}-\d{2}\)")
    for entry in directory.entries:
        if entry.scope != "national" and (entry.phones or entry.address):
            assert page.search(entry.source), entry.id


def _entry(eid: str, scope: str, needs: tuple[Need, ...], **place: str) -> Entry:
    return Entry(
        id=eid,
        kind="service",
        scope=scope,
        name=Localized(uk=eid, en=eid),  # type: ignore[arg-type]
        description=Localized(uk="-", en="-"),
        needs=needs,
        source="test",
        checked_on=date(2026, 1, 1),
        **place,
    )


def test_find_puts_the_nearest_first_and_skips_other_places(directory: Directory) -> None:
    regions: Regions = directory.regions
    kh = regions.oblasts[0]
    d0, d1 = kh.districts[0].id, kh.districts[1].id
    entries = [
        _entry("national", "national", (Need.SHELTER,)),
        _entry("oblast", "oblast", (Need.SHELTER,), oblast=kh.id),
        _entry("here", "district", (Need.SHELTER,), oblast=kh.id, district=d0),
        _entry("there", "district", (Need.SHELTER,), oblast=kh.id, district=d1),
        _entry("other-need", "district", (Need.MEDICAL,), oblast=kh.id, district=d0),
        _entry("other-oblast", "oblast", (Need.SHELTER,), oblast="zhytomyr"),
    ]
    found = Directory(regions, entries).find(oblast_id=kh.id, district_id=d0, need=Need.SHELTER)
    assert [e.id for e in found] == ["here", "oblast", "national"]


def test_find_orders_by_what_people_can_call_nearest_first(directory: Directory) -> None:
    """Issue 17 item 4: local with a phone, local without, oblast-wide with a phone, without, then the
    national lines, the one made for the need first; lines for people abroad are not among them."""
    kh = directory.regions.oblasts[0]
    home = kh.districts[0].model_copy(
        update={"communities": (Community(id="home", name=Localized(uk="h", en="h")),)}
    )
    regions = directory.regions.model_copy(
        update={"oblasts": (kh.model_copy(update={"districts": (home, *kh.districts[1:])}),)}
    )
    legal, d0 = (Need.LEGAL_AID,), home.id

    def entry(eid: str, scope: str, phone: bool, **place: str) -> Entry:
        made = _entry(eid, scope, legal, **place)
        return made.model_copy(update={"phones": ("0 800 000 000",) if phone else ()})

    entries = [
        entry("national-other", "national", True),
        entry("hotline-free-legal-aid", "national", True),
        entry("abroad", "national", True).model_copy(update={"abroad": True}),
        entry("oblast-none", "oblast", False, oblast=kh.id),
        entry("oblast-phone", "oblast", True, oblast=kh.id),
        entry("district-none", "district", False, oblast=kh.id, district=d0),
        entry("community-none", "community", False, oblast=kh.id, district=d0, community="home"),
        entry("district-phone", "district", True, oblast=kh.id, district=d0),
        entry("community-phone", "community", True, oblast=kh.id, district=d0, community="home"),
    ]
    found = Directory(regions, entries).find(
        oblast_id=kh.id, district_id=d0, community_id="home", need=Need.LEGAL_AID
    )
    assert [e.id for e in found] == [
        "community-phone",
        "district-phone",
        "community-none",
        "district-none",
        "oblast-phone",
        "oblast-none",
        "hotline-free-legal-aid",
        "national-other",
    ]


def test_the_national_line_made_for_the_need_leads_the_national_lines(directory: Directory) -> None:
    def national(need: Need) -> list[str]:
        found = directory.find(oblast_id="kharkiv", district_id="kharkiv-izium", need=need)
        return [e.id for e in found if e.scope == "national"]

    assert national(Need.LEGAL_AID)[0] == "hotline-free-legal-aid"
    assert national(Need.EMPLOYMENT)[0] == "hotline-527"
    assert national(Need.CHILD_PROTECTION)[0] == "hotline-116111"
    assert "abroad-consulate" not in national(Need.LEGAL_AID)


def test_a_result_shows_the_date_of_its_source_page(directory: Directory) -> None:
    from bot.i18n import create_i18n
    from bot.render import entry_card

    dated = directory.entry("kharkiv-hotline-1552")
    assert dated is not None and dated.page_date == date(2025, 9, 28)
    assert "(page dated 2025-09-28)" in dated.source
    i18n = create_i18n("uk")
    with i18n.context(), i18n.use_locale("uk"):
        card = entry_card(dated, "uk")
    checked = dated.checked_on.strftime("%d.%m.%Y")
    assert f"Перевірено {checked} · джерело від 28.09.2025" in card
    undated = directory.entry("hotline-1547")
    assert undated is not None and undated.page_date is None
    typo = undated.model_copy(update={"source": "https://x.gov.ua (page dated 2024-02-30)"})
    assert typo.page_date is None  # a correction typed in the bot may name no real day


def test_withdrawn_entries_are_never_shown(directory: Directory) -> None:
    kh = directory.regions.oblasts[0]
    gone = _entry("gone", "oblast", (Need.SHELTER,), oblast=kh.id).model_copy(update={"withdrawn": True})
    assert Directory(directory.regions, [gone]).find(oblast_id=kh.id, need=Need.SHELTER) == []


def test_shelter_address_is_never_shown() -> None:
    shelter = _entry("s", "national", (Need.SHELTER,)).model_copy(
        update={"address": "x", "address_private": True}
    )
    assert shelter.shown_address is None


def test_selfcheck_levels() -> None:
    assert selfcheck.assess({}).risk is selfcheck.Risk.LOW
    assert selfcheck.assess({"too_good": True}).risk is selfcheck.Risk.MEDIUM
    assert selfcheck.assess({"documents": True}).risk is selfcheck.Risk.HIGH
    assert selfcheck.assess({"visa": True, "secrecy": True}).risk is selfcheck.Risk.HIGH
    verdict = selfcheck.assess({"secrecy": True, "documents": True})
    assert verdict.flagged == ("documents", "secrecy")  # in question order


@given(st.integers(min_value=0, max_value=2 ** len(selfcheck.QUESTIONS) - 1))
def test_mask_round_trip(mask: int) -> None:
    answers = selfcheck.answers_from_mask(mask)
    assert sum(answers.values()) == bin(mask).count("1")


@given(st.integers(-5, 10), st.integers(-(2**31), 2**31))
def test_forged_progress_is_refused(index: int, mask: int) -> None:
    ok = selfcheck.valid_progress(index, mask)
    assert ok == (0 <= index < len(selfcheck.QUESTIONS) and 0 <= mask < 2**index)


@given(st.integers(1, 10**6))
def test_clear_chat_batches(last: int) -> None:
    batches = ids_to_clear(last)
    flat = [i for b in batches for i in b]
    assert all(1 <= len(b) <= DELETE_BATCH for b in batches)
    assert len(flat) == len(set(flat)) and all(i >= 1 for i in flat)
    assert last in flat  # the message the button was on goes
    assert set(range(max(1, last - BACK), last + 1)) <= set(flat)  # two days of a conversation go
    assert len(batches) <= 15  # one press, a bounded number of calls
