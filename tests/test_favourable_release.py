"""The share favourable through the release gate, attacked as `test_release_gate` attacks the means: over random
organisations, a reader of every share released (a share times its n is the sum of the respondents'
favourable parts) works out no hidden team's share, and no sum behind fewer than k people. The share is released
exactly where the mean is, so complementary suppression covers it as it covers the mean; a cell whose answers are
all favourable but not alike is shown, and one whose answers are all alike is not."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings

from survey.analysis.release import release_round
from survey.analysis.sums import RoundSums, Sums
from survey.vocabulary import OVERALL, SERVQUAL, favourable_from
from test_release_gate import CUSTOMER_MEASURES, Attacker, Case, below, cases

DIMENSIONS = tuple(d.value for d in SERVQUAL)
FROM = favourable_from(1, 7)  # the cases' staff ratings and customers' dimension are on 1 to 7


def with_favourable(case: Case) -> RoundSums:
    """The case's sums with each one's favourable part, from the answers behind them: per respondent, 1 for a
    favourable dimension rating, overall the mean of their five (as `aggregation` builds it)."""
    sums = RoundSums(case.sums.round_id, usage=dict(case.sums.usage))
    for (function, team), cell in case.sums.internal.items():
        parts = {d: (case.values[function, d, team] >= FROM).astype(float) for d in DIMENSIONS}
        parts[OVERALL] = np.mean([parts[d] for d in DIMENSIONS], axis=0)
        sums.internal[function, team] = {
            m: Sums(s.n, s.total, s.squares, float(parts[m].sum()) if m in parts else None)
            for m, s in cell.items()
        }
    for team, cell in case.sums.external.items():
        sums.external[team] = {
            m: Sums(s.n, s.total, s.squares, float((case.customer_values[m, team] >= FROM).sum()))
            if m == "reliability"
            else s
            for m, s in cell.items()
        }
    return sums


def favourable_attack(case: Case, released) -> Attacker:
    """Every share released as an equation over the teams' favourable sums: ('f', function) over (measure,
    team), ('fe', measure) over teams. The attacker also knows that a respondent's overall part is the mean of
    their five dimensions' parts."""
    teams, under = case.teams, below(case.parents, case.teams)
    columns = {("f", f): [(m, t) for m in (*DIMENSIONS, OVERALL) for t in teams] for f in case.functions}
    columns |= {("fe", m): list(teams) for m in CUSTOMER_MEASURES}
    attacker = Attacker(columns)
    for f in case.functions:
        for node, measures in released.internal.get(f, {}).items():
            for m, shown in measures.items():
                if shown.favourable is not None:
                    attacker.knows(("f", f), {(m, t): 1 for t in under[node]})
        for t in teams:
            attacker.knows(("f", f), {(OVERALL, t): len(DIMENSIONS), **{(d, t): -1 for d in DIMENSIONS}})
            if t not in released.internal.get(f, {}):  # missing from the tree: nothing in it
                for m in (*DIMENSIONS, OVERALL):
                    attacker.knows(("f", f), {(m, t): 1})
    for node, measures in released.external.items():
        for m, shown in measures.items():
            if shown.favourable is not None:
                attacker.knows(("fe", m), dict.fromkeys(under[node], 1))
    for m in CUSTOMER_MEASURES:
        for t in teams:
            if m not in released.external.get(t, {}):
                attacker.knows(("fe", m), {t: 1})
    return attacker


def check_no_hidden_share_is_derived(case: Case) -> None:
    sums = with_favourable(case)
    released = release_round(sums, case.parents, case.k, case.invited, case.functions)
    # The share goes with the mean: released where the mean is (and the measure has one), nowhere else.
    for nodes in released.internal.values():
        for measures in nodes.values():
            for m, shown in measures.items():
                assert (shown.favourable is not None) == (
                    not shown.suppressed and m in (*DIMENSIONS, OVERALL)
                )
    attacker = favourable_attack(case, released)
    derived, small = [], {}
    for f in case.functions:
        for t in case.teams:
            for m in (*DIMENSIONS, OVERALL):
                shown = released.internal[f].get(t, {}).get(m)
                if (
                    case.used[f, t]
                    and (shown is None or shown.suppressed)
                    and attacker.determined(("f", f), (m, t))
                ):
                    derived.append(f"share favourable of {m}, function {f}, team {t} (n = {case.used[f, t]})")
            keys = [(m, t) for t in case.teams]
            small[f, m] = attacker.small_derivable_sets(
                ("f", f), keys, [case.used[f, t] for t in case.teams], case.k
            )
    for t in case.teams:
        n = case.customers["reliability", t]
        shown = released.external.get(t, {}).get("reliability")
        if n and (shown is None or shown.suppressed) and attacker.determined(("fe", "reliability"), t):
            derived.append(f"customers' share favourable of {t} (n = {n})")
    people = [case.customers["reliability", t] for t in case.teams]
    small["customers"] = attacker.small_derivable_sets(("fe", "reliability"), case.teams, people, case.k)
    assert derived == []
    assert {what: sets for what, sets in small.items() if sets} == {}


@settings(max_examples=150, deadline=None)
@given(cases(max_teams=9))
def test_no_hidden_share_favourable_can_be_worked_out_from_every_share_released(case):
    check_no_hidden_share_is_derived(case)


def _team(values: list[int]) -> dict[str, Sums]:
    """A team whose respondents gave these ratings on every dimension."""
    array = np.array(values, dtype=float)
    favourable = float((array >= FROM).sum())
    sums = Sums(len(values), float(array.sum()), float((array * array).sum()), favourable)
    return dict.fromkeys((*DIMENSIONS, OVERALL), sums)


def test_a_team_all_favourable_but_not_alike_is_shown_at_100_percent_and_a_unanimous_one_is_hidden():
    parents = {"A": "R", "B": "R", "C": "R", "D": "R", "R": None}
    sums = RoundSums(1)
    answers = {
        "A": [5, 6, 7, 5, 6, 7, 5],
        "B": [6, 6, 6, 6, 6],
        "C": [1, 3, 4, 2, 3, 4, 1],
        "D": [2, 5, 7, 4, 6, 3],
    }
    for team, values in answers.items():
        sums.internal[1, team] = _team(values)
        sums.usage[1, team] = (len(values), len(values))
    released = release_round(sums, parents, 5)
    cells = released.internal[1]
    assert cells["A"][OVERALL].favourable == 1.0  # every answer favourable, not all alike: shown
    assert cells["C"][OVERALL].favourable == 0.0  # none favourable, not all alike: shown
    assert cells["B"][OVERALL].suppressed and cells["B"][OVERALL].favourable is None  # all gave 6: hidden
    # B's complement: hiding B alone would let R minus A, C and D give B's 100%; a sibling is hidden with it.
    assert cells["R"][OVERALL].favourable is not None
    hidden = [t for t in answers if cells[t][OVERALL].suppressed]
    assert len(hidden) >= 2 and "B" in hidden
    assert all(cells[t][OVERALL].favourable is None for t in hidden)
