"""Participation, attacked as a head who watches it: an open round's is shown to heads in bands counted once a day
(never an exact count, never a change within the day, never that nobody or everybody in a small team answered),
and a closed round's under the group size it closed with, whatever the setting says later. HR keeps exact, live
counts, and the API (HR's tokens) agrees with HR's pages."""

from __future__ import annotations

import html
import itertools
import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient
from sqlalchemy import update
from sqlmodel import select

from conftest import BASE_URL, start_round
from helpers import log_in
from survey.accounts.api_tokens import create_api_token
from survey.analysis.anonymity import TOTAL, hidden_counts, participation_bands
from survey.db.models import Invitation, Round, RoundStatus, Unit
from survey.organisation import pages as unit_pages
from survey.rounds.scheduler import take_step
from survey.web.app import create_app

# --- The rule, attacked by brute force over small organisations ---------------------------------------------------


@st.composite
def answered_organisations(draw):
    """Up to 2 regions (one may sit in the other), up to 4 teams of 2 to 8 invitees, some directly at the top,
    each with some of them answered."""
    regions = draw(st.integers(0, 2))
    parents: dict = {}
    for r in range(regions):
        parents[f"R{r}"] = draw(st.sampled_from([None] + [f"R{q}" for q in range(r)]))
    counts = {}
    for t in range(draw(st.integers(1, 4))):
        parents[f"T{t}"] = draw(st.sampled_from([None] + [f"R{r}" for r in range(regions)]))
        invited = draw(st.integers(2, 8))
        counts[f"T{t}"] = (invited, draw(st.integers(0, invited)))
    return parents, counts


def _members(parents, teams) -> dict:
    members: dict = {}
    for team in teams:
        node = team
        while node is not None:
            members.setdefault(node, set()).add(team)
            node = parents.get(node)
    return members


@settings(max_examples=300, deadline=None)
@given(answered_organisations(), st.integers(3, 6))
def test_no_band_shown_pins_a_count_nor_says_nobody_or_everybody(organisation, k):
    """Every way of filling in the teams' answered counts that agrees with every band shown is tried: each team's
    and each group's count must still have at least two possible values, so none is told exactly (0 of a team,
    all of it, or any other number)."""
    parents, counts = organisation
    hidden = hidden_counts(parents, {t: invited for t, (invited, _) in counts.items()}, k)
    shown = participation_bands(parents, counts, hidden)
    assert TOTAL not in shown
    members = _members(parents, counts)
    invited = {node: sum(counts[t][0] for t in teams) for node, teams in members.items()}
    for band in shown.values():
        if band is not None:
            assert not re.search(r"(?<!\d)(0|100)%", band.label), band.label
            assert band.fewest < band.most
    teams = sorted(counts)
    possible: dict = {node: set() for node in members}
    for guess in itertools.product(*(range(counts[t][0] + 1) for t in teams)):
        answered = dict(zip(teams, guess, strict=True))
        sums = {node: sum(answered[t] for t in group) for node, group in members.items()}
        if all(band is None or band.fewest <= sums[n] <= band.most for n, band in shown.items()):
            for node, value in sums.items():
                possible[node].add(value)
    for node, values in possible.items():
        assert len(values) >= 2, (node, values, invited[node], shown)


def test_a_group_band_that_would_pin_its_other_team_at_nobody_is_hidden():
    """A group of 13: its "20 to 39%" (3 to 5 answered) less its 7-person team's "60% or more" (5 to 7) leaves
    its 6-person team at exactly 0. The group's band is hidden instead."""
    parents = {"A": "G", "B": "G", "G": None}
    bands = participation_bands(parents, {"A": (6, 0), "B": (7, 5)}, set())
    assert bands["G"] is None and bands["A"] is not None and bands["B"] is not None
    assert bands["A"].label == "fewer than 20%" and bands["B"].label == "60% or more"


# --- Heads' unit pages ----------------------------------------------------------------------------------------------


def _answered_cell(page: str, round_name: str) -> str:
    """What the page says in the Answered column of the round's row, as text."""
    row = next(r for r in re.findall(r"<tr>.*?</tr>", page, re.S) if f"<td>{round_name}</td>" in r)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", cells[3])).split())


def _unit_id(db, code: str) -> int:
    with db.session() as session:
        return session.exec(select(Unit.id).where(Unit.code == code)).one()


def _answer(db, round_id: int, team_id: int, how_many: int) -> None:
    """`how_many` more of the team's invitees have answered (as the survey marks them)."""
    with db.write_session() as session:
        waiting = session.exec(
            select(Invitation.id).where(
                Invitation.round_id == round_id, Invitation.team_id == team_id, ~Invitation.answered
            )
        ).all()[:how_many]
        assert len(waiting) == how_many
        session.exec(update(Invitation).where(Invitation.id.in_(waiting)).values(answered=True))


@pytest.fixture
def head(client, people):
    assert log_in(client, people.head_region).status_code in (302, 303)
    return client


def test_a_head_looking_twice_in_a_day_around_one_more_answer_sees_the_same(db, head, monkeypatch):
    """Attack: the head reads the team's page, asks Ana whether she has answered, and reads again. Today's page
    shows what was counted at the day's first look; the new answer shows from the next day only."""
    a_round = start_round(db)
    team = _unit_id(db, "FL1")
    _answer(db, a_round.id, team, 1)
    morning = datetime.now(UTC).replace(hour=8, minute=0)
    monkeypatch.setattr(unit_pages, "now", lambda: morning)
    first = _answered_cell(head.get(f"/units/{team}").text, a_round.name)
    _answer(db, a_round.id, team, 1)  # Ana answers
    monkeypatch.setattr(unit_pages, "now", lambda: morning + timedelta(hours=2))
    again = head.get(f"/units/{team}").text
    assert _answered_cell(again, a_round.name) == first
    assert first.startswith("fewer than 20%") and "as counted on" in first
    monkeypatch.setattr(unit_pages, "now", lambda: morning + timedelta(days=1))
    next_day = _answered_cell(head.get(f"/units/{team}").text, a_round.name)
    assert next_day.startswith("20 to 59%")  # 2 of 6, counted the next day


@pytest.mark.parametrize("answered", [0, 1, 3, 5, 6])
def test_a_head_never_sees_an_exact_count_nor_nobody_nor_everybody_of_an_open_round(
    db, head, people, answered
):
    a_round = start_round(db)
    team = _unit_id(db, "FL1")
    _answer(db, a_round.id, team, answered)
    for unit in (team, _unit_id(db, "R1")):
        cell = _answered_cell(head.get(f"/units/{unit}").text, a_round.name)
        label = cell.split(" as counted on")[0]
        assert not re.search(r"(?<!\d)(0|100)%", label), cell
        assert not re.search(rf"(?<![\d ]){answered}(?![\d%])", label), cell  # no bare count
        assert re.fullmatch(r"(fewer than \d+%|\d+ to \d+%|\d+% or more|hidden)( below 60%)?", label), cell


def test_hr_and_the_api_see_an_open_rounds_counts_exact_and_live_and_agree(db, client, people):
    a_round = start_round(db)
    team = _unit_id(db, "FL1")
    with db.session() as session:
        _, token = create_api_token(session, "rates", ["rounds:read"], None, datetime.now(UTC))
    log_in(client, people.hr)
    for more, answered in ((2, 2), (1, 3)):  # counts move as answers come in
        _answer(db, a_round.id, team, more)
        rates = client.get(
            f"/api/rounds/{a_round.id}/response-rates", headers={"Authorization": f"Bearer {token}"}
        ).json()
        fl1 = next(t for t in rates["teams"] if t["team_code"] == "FL1")
        assert fl1["answered"] == answered
        page = client.get(f"/admin/rounds/{a_round.id}").text
        row = next(r for r in re.findall(r"<tr>.*?</tr>", page, re.S) if "(FL1)" in r)
        assert re.findall(r'<td class="num">(\d+)</td>', row)[1] == str(answered)


# --- A closed round's participation under the group size it closed with ----------------------------------------------


def test_a_closed_rounds_participation_stays_as_released_when_the_group_size_is_raised(
    db, settings, client, people
):
    """Teams of 6 under k=5 show their counts; raising SURVEY_MIN_GROUP_SIZE to 7 afterwards hid them (a second
    pattern of the same round). The round keeps k=5: HR's page, a head's page and the API show the same."""
    a_round = start_round(db)
    team = _unit_id(db, "FL1")
    _answer(db, a_round.id, team, 4)
    take_step(db, settings, a_round.id, "close")
    with db.session() as session:
        assert session.get(Round, a_round.id).min_group_size == settings.min_group_size == 5
        _, token = create_api_token(session, "rates", ["rounds:read"], None, datetime.now(UTC))
    stricter = settings.with_(min_group_size=7)
    with TestClient(create_app(stricter), base_url=BASE_URL) as later:
        rates = later.get(
            f"/api/rounds/{a_round.id}/response-rates", headers={"Authorization": f"Bearer {token}"}
        ).json()
        assert rates["minimum_group_size"] == 5
        assert next(t for t in rates["teams"] if t["team_code"] == "FL1")["answered"] == 4
        log_in(later, people.head_fl1)
        assert _answered_cell(later.get(f"/units/{team}").text, a_round.name).startswith("4 (67%)")
    with TestClient(create_app(stricter), base_url=BASE_URL) as hr:
        log_in(hr, people.hr)
        page = hr.get(f"/admin/rounds/{a_round.id}").text
        row = next(r for r in re.findall(r"<tr>.*?</tr>", page, re.S) if "(FL1)" in r)
        assert re.findall(r'<td class="num">(\d+)</td>', row)[1] == "4"
    # A round closing after the change keeps the new size.
    second = start_round(db, "2027 Q1")
    take_step(db, stricter, second.id, "close")
    with db.session() as session:
        assert session.get(Round, second.id).min_group_size == 7
        assert session.get(Round, second.id).status == RoundStatus.CLOSED
