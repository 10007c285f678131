"""An attempt to recover suppressed cells from everything the API releases about a simulated organisation: the
scores, the linkage and the response rates of every round, read as an attacker with a full-scope token would read
them, and the linear algebra of `test_release_gate` run on every number found. The truth comes from the database
(`aggregation.round_sums` and the invitations)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

import numpy as np
import pytest
from sqlalchemy import delete, func, select

from helpers import compute_results
from survey.accounts.api_tokens import API_SCOPES, create_api_token
from survey.analysis.aggregation import round_sums
from survey.analysis.anonymity import TOTAL
from survey.db.models import InternalResponse, Invitation, Round, Unit
from survey.demo.build import simulate_into
from survey.demo.simulation import OrgShape
from survey.vocabulary import EXTERNAL_MEASURES, INTERNAL_MEASURES, OVERALL, SERVQUAL
from test_release_gate import Attacker, below

SHAPE = OrgShape(functions=3, teams=8, staff_per_team=6, customers_per_team=6, rounds=3, regions=2)
DIMENSIONS = tuple(d.value for d in SERVQUAL)


@pytest.fixture
def token_client(client, db):
    with db.session() as session:
        _, token = create_api_token(session, "attacker", API_SCOPES, None, datetime.now(UTC))
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def _round_ids(db) -> list[int]:
    with db.engine.connect() as connection:
        return list(connection.execute(select(Round.id).order_by(Round.opens_at)).scalars())


def _get(client, path: str) -> dict:
    response = client.get(path)
    assert response.status_code == 200, (path, response.text)
    return response.json()


class Truth:
    """What the database holds about a round, by unit code."""

    def __init__(self, db, round_id: int):
        with db.engine.connect() as connection:
            codes = dict(connection.execute(select(Unit.id, Unit.code)).all())
            sums = round_sums(connection, round_id)
            invitations = connection.execute(
                select(Invitation.team_id, func.count(), func.count().filter(Invitation.answered))
                .where(Invitation.round_id == round_id)
                .group_by(Invitation.team_id)
            ).all()
            self.respondents = connection.execute(
                select(func.count())
                .select_from(InternalResponse)
                .where(InternalResponse.round_id == round_id)
            ).scalar()
        self.invited = {codes[t]: int(n) for t, n, _ in invitations}
        self.answered = {codes[t]: int(a or 0) for t, _, a in invitations}
        self.used = defaultdict(int, {(codes[f], codes[t]): u for (f, t), (_, u) in sums.usage.items()})
        self.usage_answered = defaultdict(
            int, {(codes[f], codes[t]): a for (f, t), (a, _) in sums.usage.items()}
        )
        self.internal = {(codes[f], codes[t]): cell for (f, t), cell in sums.internal.items()}
        self.external = {codes[t]: cell for t, cell in sums.external.items()}
        self.scales = sums.scales

    def customers(self, measure: str, team: str) -> int:
        sums = self.external.get(team, {}).get(measure)
        return 0 if sums is None else sums.n


class Released:
    """Everything the API releases about one round, fetched as the attacker fetches it."""

    def __init__(self, client, round_id: int):
        self.scores = _get(client, f"/api/rounds/{round_id}/scores")
        self.linkage = _get(client, f"/api/rounds/{round_id}/linkage")
        self.rates = _get(client, f"/api/rounds/{round_id}/response-rates")
        self.teams = [row["team_code"] for row in self.rates["teams"]]
        self.functions = [f["code"] for f in self.scores["functions"]]
        support = {u["code"] for u in _get(client, "/api/units") if u["kind"] == "support"}
        self.round_functions = set(_get(client, f"/api/rounds/{round_id}")["unit_codes"]) & support

    def cells(self, function: str) -> dict:
        """Node code (None: the whole) -> the cell of one support function."""
        (entry,) = [f for f in self.scores["functions"] if f["code"] == function]
        return {cell["code"]: cell for cell in entry["cells"]}

    def customers(self) -> dict:
        return {cell["code"]: cell for cell in self.scores["customers"]}


def _node(code):
    return TOTAL if code is None else code


def attack(released: Released, parents: dict) -> Attacker:
    """Every number of the round as an equation over the teams' unknowns (see `test_release_gate`)."""
    teams = released.teams
    under = below(parents, teams)
    columns = {("a",): list(teams)}
    for f in released.functions:
        columns["u", f] = list(teams)
        columns["s", f] = [(m, t) for m in INTERNAL_MEASURES for t in teams]
    for m in EXTERNAL_MEASURES:
        columns["e", m] = list(teams)
    attacker = Attacker(columns)
    rates = released.rates
    if rates["answered"] is not None:
        attacker.knows(("a",), dict.fromkeys(teams, 1))
    for row in rates["groups"]:
        if row["answered"] is not None:
            attacker.knows(("a",), dict.fromkeys(under[row["group_code"]], 1))
    for row in rates["teams"]:
        if row["answered"] is not None:
            attacker.knows(("a",), {row["team_code"]: 1})
    for f in released.functions:
        cells = released.cells(f)
        for code, cell in cells.items():
            group = under[_node(code)]
            for m, number in cell["scores"].items():
                if number is not None:
                    attacker.knows(("s", f), {(m, t): 1 for t in group})
                    attacker.knows(("u", f), dict.fromkeys(group, 1))
            if cell["usage"] is not None:
                attacker.knows(("a",), dict.fromkeys(group, 1))
                attacker.knows(("u", f), dict.fromkeys(group, 1))
        for t in teams:
            attacker.knows(("s", f), {(OVERALL, t): len(DIMENSIONS), **{(d, t): -1 for d in DIMENSIONS}})
            if t not in cells:  # a team of the round missing from a function's cells: nobody used it
                attacker.knows(("u", f), {t: 1})
                for m in INTERNAL_MEASURES:
                    attacker.knows(("s", f), {(m, t): 1})
    customers = released.customers()
    for code, cell in customers.items():
        for m, number in cell["scores"].items():
            if number is not None:
                attacker.knows(("e", m), dict.fromkeys(under[_node(code)], 1))
    for t in teams:
        if t not in customers:
            for m in EXTERNAL_MEASURES:
                attacker.knows(("e", m), {t: 1})
    return attacker


def _parents(client) -> dict:
    return {u["code"]: u["parent_code"] for u in _get(client, "/api/units") if u["kind"] != "support"}


def check_round(released: Released, truth: Truth, parents: dict, k: int) -> dict:
    """Every number shown covers at least k people and matches the truth; nothing suppressed can be worked
    out. Returns counts of what was suppressed, so callers can tell the attack had something to attack."""
    teams = released.teams
    under = below(parents, teams)
    assert set(teams) == set(truth.invited)
    # Every function of the round, and every team of the round under each: a missing one would tell that
    # nobody answered, or that nobody in a team used a function.
    assert set(released.functions) == released.round_functions
    for f in released.functions:
        assert set(teams) <= set(released.cells(f)), f
    # The response rates: answered shown only for groups of at least k invitees, and true.
    rates = released.rates
    rows = [(TOTAL, rates["invited"], rates["answered"])]
    rows += [(r["group_code"], r["invited"], r["answered"]) for r in rates["groups"]]
    rows += [(r["team_code"], r["invited"], r["answered"]) for r in rates["teams"]]
    for node, invited, answered in rows:
        assert invited == sum(truth.invited[t] for t in under[node])
        if answered is not None:
            assert invited >= k, node
            assert answered == sum(truth.answered[t] for t in under[node])
    # The scores: every number shown covers at least k respondents, and is the truth.
    for f in released.functions:
        for code, cell in released.cells(f).items():
            group = under[_node(code)]
            for m, number in cell["scores"].items():
                if number is None:
                    continue
                parts = [truth.internal[f, t][m] for t in group if (f, t) in truth.internal]
                assert number["n"] >= k and number["n"] == sum(p.n for p in parts), (f, code, m)
                assert number["mean"] == pytest.approx(sum(p.total for p in parts) / number["n"], abs=1e-4)
            if cell["usage"] is not None:
                assert cell["usage"]["answered"] >= k, (f, code)
                assert cell["usage"]["answered"] == sum(truth.usage_answered[f, t] for t in group)
                assert cell["usage"]["used"] == sum(truth.used[f, t] for t in group)
    for code, cell in released.customers().items():
        for m, number in cell["scores"].items():
            if number is not None:
                assert number["n"] >= k and number["n"] == sum(
                    truth.customers(m, t) for t in under[_node(code)]
                )
    # Reliability is a number about every respondent of the round: at least k of them, distinct people.
    if released.scores["reliability"]:
        assert truth.respondents >= k, released.scores["reliability"]
    return check_nothing_hidden_can_be_derived(released, truth, parents, k)


def check_nothing_hidden_can_be_derived(released: Released, truth: Truth, parents: dict, k: int) -> dict:
    """An attacker who knows everything released works out no suppressed number, and no set of fewer than k
    people. Returns counts of what was suppressed."""
    teams = released.teams
    rates = released.rates
    attacker = attack(released, parents)
    derived, suppressed = [], defaultdict(int)
    rates_hidden = {r["team_code"] for r in rates["teams"] if r["answered"] is None}
    for t in teams:
        if t in rates_hidden:
            suppressed["answered"] += 1
            if attacker.determined(("a",), t):
                derived.append(f"answered of {t}: {truth.answered[t]} of {truth.invited[t]} invited")
    for f in released.functions:
        cells = released.cells(f)
        for t in teams:
            if truth.usage_answered[f, t] == 0:
                continue
            cell = cells.get(t)
            if cell is None or cell["usage"] is None:
                suppressed["used"] += 1
                if attacker.determined(("u", f), t):
                    derived.append(f"used of {f}/{t}: {truth.used[f, t]} of {truth.usage_answered[f, t]}")
            if truth.used[f, t] == 0:
                continue
            assert cell is not None, (f, t)
            for m in INTERNAL_MEASURES:
                if cell["scores"][m] is None:
                    suppressed["score"] += 1
                    if attacker.determined(("s", f), (m, t)):
                        truth_sum = truth.internal[f, t][m]
                        derived.append(f"{m} of {f}/{t}: mean {truth_sum.mean:.2f}, n = {truth_sum.n}")
    customers = released.customers()
    for t in teams:
        for m in EXTERNAL_MEASURES:
            if truth.customers(m, t) and customers[t]["scores"][m] is None:
                suppressed["customers"] += 1
                if attacker.determined(("e", m), t):
                    derived.append(f"customers' {m} of {t} (n = {truth.customers(m, t)})")
    assert derived == []
    small = {"answered": attacker.small_derivable_sets(("a",), teams, [truth.invited[t] for t in teams], k)}
    for f in released.functions:
        people = [truth.usage_answered[f, t] for t in teams]
        small[f"used {f}"] = attacker.small_derivable_sets(("u", f), teams, people, k)
        for m in INTERNAL_MEASURES:
            keys = [(m, t) for t in teams]
            small[f"{m} {f}"] = attacker.small_derivable_sets(
                ("s", f), keys, [truth.used[f, t] for t in teams], k
            )
    for m in EXTERNAL_MEASURES:
        people = [truth.customers(m, t) for t in teams]
        small[f"customers {m}"] = attacker.small_derivable_sets(("e", m), teams, people, k)
    assert {what: sets for what, sets in small.items() if sets} == {}
    return suppressed


def _check_team_figures(released: Released, function: str, measure: str, shift: dict, outcome: str) -> None:
    """A team's figures in a finding or hotspot are the numbers /scores shows this round (or null: not shown)."""
    team = shift["team"]["code"]
    score = released.cells(function)[team]["scores"][measure]
    if shift["score"] is None:
        assert score is None, shift
    else:
        assert (shift["score_n"], round(shift["score"], 4)) == (score["n"], score["mean"]), shift
    shown = released.customers()[team]["scores"][outcome]
    if shift["outcome"] is None:
        assert shown is None, shift
    else:
        assert (shift["outcome_n"], round(shift["outcome"], 4)) == (shown["n"], shown["mean"]), shift


def check_linkage(released: Released, previous: Released | None) -> dict:
    """Every team-level number of the linkage is a number /scores shows; shift tests flag only teams whose
    cell this round shows (their shortfall lasts until now) and an earlier round showed (their level before).
    Returns how many hotspots, findings' teams and flagged teams were checked."""
    checked = defaultdict(int)
    outcome = released.linkage["outcome"]["measure"]
    for hotspot in released.linkage["hotspots"]:
        assert hotspot["score"] is not None, hotspot  # a hotspot's rating is shown this round
        _check_team_figures(released, hotspot["function"]["code"], hotspot["measure"], hotspot, outcome)
        checked["hotspots"] += 1
    for finding in released.linkage["findings"]:
        for shift in finding["teams"]:
            _check_team_figures(released, finding["function"]["code"], finding["measure"], shift, outcome)
            checked["finding teams"] += 1
    for test in released.linkage["tests"]:
        if test["flagged"]:
            assert test["kind"] == "change" and previous is not None, test
            cells = released.cells(test["function"])
            for team in test["flagged"]:
                assert team in cells and cells[team]["scores"][test["measure"]] is not None, (team, test)
                checked["flagged"] += 1
    return checked


def _attack_every_round(db, client, settings):
    compute_results(db, settings)  # as the scheduler does once the rounds have closed
    parents = _parents(client)
    k = settings.min_group_size
    previous = None
    suppressed = defaultdict(int)
    for round_id in _round_ids(db):
        released = Released(client, round_id)
        for kind, count in check_round(released, Truth(db, round_id), parents, k).items():
            suppressed[kind] += count
        check_linkage(released, previous)
        previous = released
    return suppressed


@pytest.mark.parametrize("seed", [1, 2, 3, 5])
def test_nothing_suppressed_can_be_recovered_from_everything_the_api_releases(
    db, token_client, settings, seed
):
    simulate_into(db, SHAPE, seed=seed)
    suppressed = _attack_every_round(db, token_client, settings)
    # Many small cells: there was something to attack.
    assert suppressed["score"] > 20 and suppressed["used"] > 5, suppressed


@pytest.mark.parametrize("seed", [3, 5])
def test_uneven_teams_nothing_suppressed_can_be_recovered(db, token_client, settings, seed):
    """Teams of different sizes: some with fewer than k invitees (their response rates hidden) next to bigger
    ones, so the response rates and the usage counts hide different teams unless the gate ties them together.
    (Unanswered invitations of some teams are dropped after the fact: staff who had left.)"""
    shape = OrgShape(
        functions=3, teams=8, staff_per_team=7, customers_per_team=8, rounds=2, response_rate=0.6
    )
    simulate_into(db, shape, seed=seed)
    rng = np.random.default_rng(seed)
    with db.write() as connection:
        unanswered = connection.execute(
            select(Invitation.id, Invitation.round_id, Invitation.team_id).where(~Invitation.answered)
        ).all()
        by_team = defaultdict(list)
        for invitation, round_id, team in unanswered:
            by_team[round_id, team].append(invitation)
        dropped = [i for ids in by_team.values() for i in ids if rng.random() < 0.7]
        connection.execute(delete(Invitation).where(Invitation.id.in_(dropped)))
    suppressed = _attack_every_round(db, token_client, settings)
    assert suppressed["answered"] > 0, suppressed


def test_linkage_names_only_teams_whose_numbers_are_shown(db, token_client, settings):
    """The linkage on an organisation big enough for hotspots and change tests that flag teams, with many
    small cells still (8 staff per team): every team-level number it gives is one /scores shows."""
    shape = OrgShape(functions=4, teams=24, staff_per_team=8, customers_per_team=100, rounds=4, regions=3)
    # Seed 6: of seeds 1 to 24 on the short questionnaire, one of the three whose small organisation has a finding.
    simulate_into(db, shape, seed=6)
    compute_results(db, settings)
    previous, checked = None, defaultdict(int)
    for round_id in _round_ids(db):
        released = Released(token_client, round_id)
        for kind, count in check_linkage(released, previous).items():
            checked[kind] += count
        previous = released
    # there were some to check (a seed whose small organisation has a finding: most of 24 teams of 8 are too few)
    assert checked["hotspots"] > 0 and checked["finding teams"] > 0 and checked["flagged"] > 0, checked


def test_reliability_needs_k_distinct_respondents(db, token_client, settings):
    """Cronbach's alpha pools every review of a round: three people rating four functions are twelve reviews
    but three people, and no number about three people may be shown."""
    shape = OrgShape(functions=4, teams=1, staff_per_team=4, customers_per_team=5, rounds=2, regions=1)
    simulate_into(db, shape, seed=3)
    compute_results(db, settings)
    k = settings.min_group_size
    reviews_enough = False
    for round_id in _round_ids(db):
        truth = Truth(db, round_id)
        assert truth.respondents < k
        reviews_enough |= any(scale.n >= k for scale in truth.scales.values())
        body = _get(token_client, f"/api/rounds/{round_id}/scores")
        assert body["reliability"] == {}, body["reliability"]
    assert reviews_enough  # the reviews alone would have passed a count of k
