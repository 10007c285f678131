"""The release gate (`release.py`) attacked as a reader of everything it releases would attack it: every number
shown aggregates at least k respondents, and no suppressed cell can be worked out by adding and subtracting what
is shown, from any tree alone or from all of them together.

The attacker's unknowns, per front-line team t: a[t], the respondents who answered (the same people for every
support function, and the count the response rates show); per function f: u[f, t], those of them who used f (the
usage tree's `used`, and the n of every score of f); per measure m: s[f, m, t], the sum of their scores. Customers:
e[m, t], the sum of team t's customers' values of measure m. Every released node gives one equation per number:
the sum over the teams below it equals what is shown (a mean times its n is a sum). Besides, the attacker knows
that a respondent's overall score is the mean of their five dimension scores, and that a team missing from a
tree has nothing in it (a missing score cell: nobody used the function; missing from usage: nobody answered).
The spread (sd) gives the same equations over sums of squares, other unknowns in the same pattern: not repeated.

A suppressed cell's value must not be determined (unless nobody is behind it). Sets of teams whose total is
determined must have at least k people behind them, or none: invitees behind an answered count (response rates
are shown for groups of at least k invitees), respondents behind a used count, users behind a score sum.
"""

from __future__ import annotations

import itertools
import math
import operator
import random
from collections import defaultdict
from dataclasses import dataclass, field
from fractions import Fraction
from functools import reduce

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import null_space

from survey.analysis.anonymity import TOTAL, hidden_counts
from survey.analysis.release import release_comments, release_round, release_tree, rollup
from survey.analysis.sums import RoundSums, Sums
from survey.vocabulary import CSAT_PCT, IMPACT, INTERNAL_MEASURES, NPS, OVERALL, SERVQUAL

DIMENSIONS = tuple(d.value for d in SERVQUAL)
CUSTOMER_MEASURES = ("reliability", CSAT_PCT, NPS)
IMPORTED = CSAT_PCT  # customer figures imported from another tool add customers to this measure only
TOLERANCE = 1e-8
BRUTE_FORCE_TEAMS = 10  # every subset of up to 2**10 teams


# --- The attacker ----------------------------------------------------------------------------------------------


class Attacker:
    """Linear equations over unknowns, kept in independent blocks (no equation mixes two blocks): ('a',) the
    answered counts, ('u', f) function f's used counts, ('s', f) function f's score sums over every measure,
    ('e', m) the customer sums of measure m. A value is worked out when its unit vector lies in the row space of
    its block's equations, i.e. when every vector of the null space is zero there."""

    def __init__(self, columns: dict[tuple, list]):
        self.columns = {block: {key: i for i, key in enumerate(keys)} for block, keys in columns.items()}
        self.rows: dict[tuple, list[dict]] = defaultdict(list)
        self._null: dict[tuple, np.ndarray] = {}

    def knows(self, block: tuple, coefficients: dict) -> None:
        """One equation: sum of coefficient * unknown is known."""
        assert all(key in self.columns[block] for key in coefficients), (block, coefficients)
        self.rows[block].append(coefficients)
        self._null.pop(block, None)

    def null(self, block: tuple) -> np.ndarray:
        if block not in self._null:
            width = len(self.columns[block])
            rows = self.rows.get(block, [])
            if not rows:
                self._null[block] = np.eye(width)
            else:
                matrix = np.zeros((len(rows), width))
                for r, coefficients in enumerate(rows):
                    for key, value in coefficients.items():
                        matrix[r, self.columns[block][key]] += value
                self._null[block] = null_space(matrix)
        return self._null[block]

    def derived(self, block: tuple, vectors: np.ndarray) -> np.ndarray:
        """For each row of `vectors` (over the block's columns): can its combination of unknowns be worked out?"""
        null = self.null(block)
        if null.shape[1] == 0:
            return np.ones(len(vectors), dtype=bool)
        return np.abs(vectors @ null).max(axis=1) < TOLERANCE

    def unit(self, block: tuple, key) -> np.ndarray:
        vector = np.zeros((1, len(self.columns[block])))
        vector[0, self.columns[block][key]] = 1.0
        return vector

    def determined(self, block: tuple, key) -> bool:
        return bool(self.derived(block, self.unit(block, key))[0])

    def small_derivable_sets(self, block: tuple, keys: list, people: list[int], k: int) -> list[list]:
        """Every set of the given unknowns whose total can be worked out while fewer than k (and more than 0)
        people are behind it. Brute force over all subsets."""
        subsets = np.array(list(itertools.product((0.0, 1.0), repeat=len(keys))))[1:]
        vectors = np.zeros((len(subsets), len(self.columns[block])))
        for i, key in enumerate(keys):
            vectors[:, self.columns[block][key]] = subsets[:, i]
        behind = subsets @ np.array(people, dtype=float)
        bad = self.derived(block, vectors) & (behind > 0) & (behind < k)
        return [[keys[i] for i in np.flatnonzero(subsets[row])] for row in np.flatnonzero(bad)]


def below(parents: dict, teams) -> dict:
    """Node (team, group, TOTAL) -> the teams below it (a team is below itself)."""
    result: dict = defaultdict(set)
    for team in teams:
        node = team
        while node is not None:
            result[node].add(team)
            node = parents.get(node)
        result[TOTAL].add(team)
    return result


# --- Random rounds ---------------------------------------------------------------------------------------------


@dataclass
class Case:
    parents: dict  # team or group -> the group above (None: the top)
    teams: list[str]
    functions: list[int]
    k: int
    invited: dict  # team -> invitees
    answered: dict  # team -> respondents (each answers about every function: used it or not)
    used: dict  # (function, team) -> respondents who used it
    customers: dict  # (measure, team) -> customers behind the measure
    sums: RoundSums
    # Every answer behind the sums: (function, measure, team) -> staff's values; (measure, team) -> customers'.
    values: dict = field(default_factory=dict)
    customer_values: dict = field(default_factory=dict)


def make_case(parents, k, invited, answered, used, customers=None, seed=0, alike=None) -> Case:
    """A round with these counts; ratings drawn from a seeded generator, so the sums are those of answers.
    `alike`: (function, team) -> "all" (its respondents all gave the same ratings), "impact" (the same harm
    rating only) or "dimension" (the same assurance rating only); (None, team) -> "all": its customers all gave
    the same answers."""
    teams = sorted(invited)
    functions = sorted({f for f, _ in used})
    customers = customers or {(m, t): 0 for m in CUSTOMER_MEASURES for t in teams}
    alike = alike or {}
    rng = np.random.default_rng(seed)
    sums = RoundSums(1)
    case = Case(dict(parents), teams, functions, k, invited, answered, used, customers, sums)
    for team in teams:
        for function in functions:
            if answered[team]:
                sums.usage[function, team] = (answered[team], used[function, team])
            n = used[function, team]
            if n:
                same = alike.get((function, team))
                dimensions = rng.integers(1, 8, size=(n, len(DIMENSIONS))).astype(float)
                if same == "all":
                    dimensions[:] = dimensions[0]
                elif same == "dimension":
                    dimensions[:, DIMENSIONS.index("assurance")] = dimensions[
                        0, DIMENSIONS.index("assurance")
                    ]
                values = {d: dimensions[:, i] for i, d in enumerate(DIMENSIONS)}
                values[OVERALL] = dimensions.mean(axis=1)
                values[IMPACT] = rng.integers(1, 8, size=n).astype(float)
                if same in ("all", "impact"):
                    values[IMPACT][:] = values[IMPACT][0]
                sums.internal[function, team] = {
                    m: Sums(n, float(v.sum()), float((v * v).sum())) for m, v in values.items()
                }
                case.values.update({(function, m, team): v for m, v in values.items()})
        cell = {}
        for measure in CUSTOMER_MEASURES:
            if n := customers[measure, team]:
                points = {CSAT_PCT: [0.0, 100.0], NPS: [-100.0, 0.0, 100.0]}.get(measure, range(1, 8))
                v = rng.choice(np.array(points, dtype=float), size=n)
                if alike.get((None, team)) == "all":
                    v[:] = v[0]
                cell[measure] = Sums(n, float(v.sum()), float((v * v).sum()))
                case.customer_values[measure, team] = v
        if cell:
            sums.external[team] = cell
    return case


@st.composite
def cases(draw, max_teams: int = 12) -> Case:
    """1 to 3 levels of groups (1 to 5 groups), 1 to `max_teams` teams (some directly at the top), 2 or 3
    functions with their own usage, 0 to 12 respondents per team, customers with imported figures on one
    measure."""
    k = draw(st.integers(3, 7), label="k")
    parents: dict = {}
    depth: dict = {}
    for g in range(draw(st.integers(1, 5), label="groups")):
        parent = draw(st.sampled_from([None] + [q for q in parents if depth[q] < 3]))
        parents[f"G{g}"] = parent
        depth[f"G{g}"] = 1 if parent is None else depth[parent] + 1
    groups = list(parents)
    teams = [f"T{i:02d}" for i in range(draw(st.integers(1, max_teams), label="teams"))]
    functions = list(range(101, 101 + draw(st.integers(2, 3), label="functions")))
    invited, answered, used, customers = {}, {}, {}, {}
    for team in teams:
        parents[team] = draw(st.sampled_from([*groups, None]))
        invited[team] = draw(st.integers(1, 14))
        answered[team] = draw(st.integers(0, min(12, invited[team])))
        for function in functions:
            used[function, team] = draw(st.integers(0, answered[team]))
        survey = draw(st.integers(0, 12))
        imported = draw(st.sampled_from([0, 0, 0, 2, 5, 40]))
        for measure in CUSTOMER_MEASURES:
            customers[measure, team] = survey + (imported if measure == IMPORTED else 0)
    # Some teams whose respondents (or customers) all answered alike, in every measure or in one.
    alike = {}
    for team in teams:
        for function in [*functions, None]:
            same = draw(st.sampled_from([None, None, None, "all", "impact", "dimension"]), label="alike")
            if same is not None and (function is not None or same == "all"):
                alike[function, team] = same
    seed = draw(st.integers(0, 2**32 - 1), label="seed")
    return make_case(parents, k, invited, answered, used, customers, seed, alike)


# --- Everything released, as the attacker reads it -------------------------------------------------------------


def released_everything(case: Case):
    """What the pages and the API release about the round: the scores, usage and customer trees
    (`release_round`), and the response rates (`participation.hidden_participation`: `hidden_counts` over invitees)."""
    released = release_round(case.sums, case.parents, case.k, case.invited, case.functions)
    hidden_rates = hidden_counts(case.parents, case.invited, case.k)
    return released, hidden_rates


def attack(case: Case, released, hidden_rates) -> Attacker:
    teams, under = case.teams, below(case.parents, case.teams)
    columns = {("a",): list(teams)}
    for f in case.functions:
        columns["u", f] = list(teams)
        columns["s", f] = [(m, t) for m in INTERNAL_MEASURES for t in teams]
        for m in INTERNAL_MEASURES:
            columns["q", f, m] = list(teams)
    for m in CUSTOMER_MEASURES:
        columns["e", m] = list(teams)
        columns["qe", m] = list(teams)
    attacker = Attacker(columns)
    # Response rates: every team of the round is listed (with its invitees); answered where not hidden.
    for node, group in under.items():
        if node not in hidden_rates:
            attacker.knows(("a",), dict.fromkeys(group, 1))
    for f in case.functions:
        scores, usage = released.internal.get(f, {}), released.usage.get(f, {})
        for node, measures in scores.items():
            for m, shown in measures.items():
                if not shown.suppressed:
                    attacker.knows(("s", f), {(m, t): 1 for t in under[node]})
                    attacker.knows(("u", f), dict.fromkeys(under[node], 1))
                if shown.sd is not None:  # the spread: the sum of squares, with the mean and n
                    attacker.knows(("q", f, m), dict.fromkeys(under[node], 1))
        for node, counts in usage.items():
            if not counts.suppressed:
                attacker.knows(("a",), dict.fromkeys(under[node], 1))
                attacker.knows(("u", f), dict.fromkeys(under[node], 1))
        for t in teams:
            # A respondent's overall score is the mean of their five dimension scores.
            attacker.knows(("s", f), {(OVERALL, t): len(DIMENSIONS), **{(d, t): -1 for d in DIMENSIONS}})
            # Missing from a tree: nothing in it (the gate lists every team, so this tells nothing now).
            if t not in usage:
                attacker.knows(("a",), {t: 1})
            if t not in scores:
                attacker.knows(("u", f), {t: 1})
                for m in INTERNAL_MEASURES:
                    attacker.knows(("s", f), {(m, t): 1})
                    attacker.knows(("q", f, m), {t: 1})
    for node, measures in released.external.items():
        for m, shown in measures.items():
            if not shown.suppressed:
                attacker.knows(("e", m), dict.fromkeys(under[node], 1))
            if shown.sd is not None:
                attacker.knows(("qe", m), dict.fromkeys(under[node], 1))
    for m in CUSTOMER_MEASURES:
        for t in teams:
            if m not in released.external.get(t, {}):
                attacker.knows(("e", m), {t: 1})
                attacker.knows(("qe", m), {t: 1})
    return attacker


# --- Properties ------------------------------------------------------------------------------------------------


@settings(max_examples=250, deadline=None)
@given(cases())
def test_every_number_shown_covers_at_least_k_respondents(case):
    released, hidden_rates = released_everything(case)
    under = below(case.parents, case.teams)
    for f, nodes in released.internal.items():
        for node, measures in nodes.items():
            for m, shown in measures.items():
                if not shown.suppressed:
                    assert shown.n >= case.k, (f, node, m, shown)
                    assert shown.n == sum(case.used[f, t] for t in under[node])
    for f, nodes in released.usage.items():
        for node, counts in nodes.items():
            if not counts.suppressed:
                assert counts.answered >= case.k, (f, node, counts)
                assert counts.answered == sum(case.answered[t] for t in under[node])
                assert counts.used == sum(case.used[f, t] for t in under[node])
    for node, measures in released.external.items():
        for m, shown in measures.items():
            if not shown.suppressed:
                assert shown.n >= case.k, (node, m, shown)
                assert shown.n == sum(case.customers[m, t] for t in under[node])
    for node, group in under.items():
        if node not in hidden_rates:
            assert sum(case.invited[t] for t in group) >= case.k, node
    # Every team of the round is in every function's trees, those with nobody behind them suppressed: a team
    # missing from a tree would tell that nobody answered, or that nobody used the function.
    for f in case.functions:
        for t in case.teams:
            assert t in released.usage[f] and t in released.internal[f], (f, t)
            if case.answered[t] == 0:
                assert released.usage[f][t].suppressed
            if case.used[f, t] == 0:
                assert all(shown.suppressed for shown in released.internal[f][t].values())


def derived_cells(case: Case, attacker: Attacker, released, hidden_rates) -> list[str]:
    """Suppressed cells whose value the attacker can work out (empty cells aside: nobody behind them)."""
    derived = []
    for t in case.teams:
        if t in hidden_rates and attacker.determined(("a",), t):
            derived.append(f"answered of {t} ({case.answered[t]} of {case.invited[t]} invited)")
    for f in case.functions:
        for t in case.teams:
            if case.answered[t] == 0:
                continue  # no one answered: nothing behind the usage cell
            usage = released.usage[f][t]
            if usage.suppressed and attacker.determined(("u", f), t):
                derived.append(f"used of {f}/{t} ({case.used[f, t]} of {case.answered[t]})")
            if case.used[f, t] == 0:
                continue  # no one used the function: nothing behind the score cells
            for m, shown in released.internal[f][t].items():
                if shown.suppressed and attacker.determined(("s", f), (m, t)):
                    derived.append(f"sum of {f}/{t}/{m} (n = {case.used[f, t]})")
    for m in CUSTOMER_MEASURES:
        for t in case.teams:
            if (
                case.customers[m, t]
                and released.external[t][m].suppressed
                and attacker.determined(("e", m), t)
            ):
                derived.append(f"customers' sum of {t}/{m} (n = {case.customers[m, t]})")
    return derived


def small_sets(case: Case, attacker: Attacker) -> dict[str, list]:
    """Sets of teams whose total the attacker can work out with fewer than k people behind it: invitees for an
    answered count, respondents for a used count, users for a score sum, customers for theirs."""
    teams, k = case.teams, case.k
    small = {"answered": attacker.small_derivable_sets(("a",), teams, [case.invited[t] for t in teams], k)}
    for f in case.functions:
        small[f"used {f}"] = attacker.small_derivable_sets(
            ("u", f), teams, [case.answered[t] for t in teams], k
        )
        for m in INTERNAL_MEASURES:
            keys = [(m, t) for t in teams]
            small[f"sum {f}/{m}"] = attacker.small_derivable_sets(
                ("s", f), keys, [case.used[f, t] for t in teams], k
            )
    for m in CUSTOMER_MEASURES:
        small[f"customers {m}"] = attacker.small_derivable_sets(
            ("e", m), teams, [case.customers[m, t] for t in teams], k
        )
    return {what: sets for what, sets in small.items() if sets}


def check_nothing_suppressed_is_derived(case: Case) -> None:
    released, hidden_rates = released_everything(case)
    attacker = attack(case, released, hidden_rates)
    assert derived_cells(case, attacker, released, hidden_rates) == []
    if len(case.teams) <= BRUTE_FORCE_TEAMS:
        assert small_sets(case, attacker) == {}


@settings(max_examples=150, deadline=None)
@given(cases(max_teams=BRUTE_FORCE_TEAMS))
def test_no_suppressed_cell_can_be_worked_out_from_everything_released(case):
    """Every tree together (every function, measure, usage, customers and the response rates): no suppressed
    cell's value is determined, and no set of teams of fewer than k people has a total that is."""
    check_nothing_suppressed_is_derived(case)


@settings(max_examples=40, deadline=None)
@given(cases(max_teams=12))
def test_no_suppressed_cell_can_be_worked_out_in_larger_trees(case):
    check_nothing_suppressed_is_derived(case)


def test_a_suppressed_usage_count_is_not_given_away_by_the_scores():
    """Found by the properties above. k = 6; team T00 at the top (6 respondents, all used function 101), team
    T01 in a region (4 respondents, none used it). Usage hides T01 (4 < 6) and, as its complement, T00; the
    scores of 101 must then not show T00 with n = 6, or the usage total (used 6) gives T01's used count: 0."""
    parents = {"G0": None, "G1": "G0", "T00": None, "T01": "G1"}
    used = {(101, "T00"): 6, (101, "T01"): 0}
    case = make_case(parents, 6, {"T00": 14, "T01": 5}, {"T00": 6, "T01": 4}, used)
    released, hidden_rates = released_everything(case)
    assert released.usage[101]["T00"].suppressed and not released.usage[101][TOTAL].suppressed
    assert released.internal[101]["T00"][OVERALL].suppressed
    attacker = attack(case, released, hidden_rates)
    assert not attacker.determined(("u", 101), "T01")
    check_nothing_suppressed_is_derived(case)


def test_a_hidden_response_rate_is_not_given_away_by_the_usage_counts():
    """Found by the properties above. k = 6; in one region, T00 with 1 invitee (who did not answer) and T01 with
    6 (all answered). The response rates hide T00 and, as its complement, T01, and show the region (6 of 7);
    the usage must not show T01's 6 answered, or the region minus T01 gives T00's: 0 of 1."""
    parents = {"G0": None, "G1": "G0", "T00": "G0", "T01": "G0"}
    used = {(101, "T00"): 0, (101, "T01"): 1, (102, "T00"): 0, (102, "T01"): 2}
    case = make_case(parents, 6, {"T00": 1, "T01": 6}, {"T00": 0, "T01": 6}, used)
    released, hidden_rates = released_everything(case)
    assert {"T00", "T01"} <= hidden_rates and "G0" not in hidden_rates
    assert all(released.usage[f]["T01"].suppressed for f in case.functions)
    attacker = attack(case, released, hidden_rates)
    assert not attacker.determined(("a",), "T00")
    check_nothing_suppressed_is_derived(case)


# --- Unanimity: no released number states what a respondent answered -------------------------------------------
#
# A number about people who all gave the same answer states each one's answer, however many they are: a mean with
# a spread of 0, or a mean at either end of the scale (everyone gave that end). The attacker looks for any set of
# teams whose n, total and sum of squares (or n and a total at an end) it can work out from everything released,
# from the cells themselves and by differences up the tree, and whose people all answered alike. The attacker is
# HR: it knows who answered in each team (the invitation list), so a used count of 0 states each respondent's
# "did not use". A used count equal to the answered count ("everyone used it") is shown: every score's n is it,
# and docs/anonymity.md says why that is accepted (`test_everyone_using_a_function_is_shown_with_the_scores`).

STAFF_ENDS = (1.0, 7.0)
CUSTOMER_ENDS = {"reliability": (1.0, 7.0), CSAT_PCT: (0.0, 100.0), NPS: (-100.0, 100.0)}


def team_subsets(teams: list) -> np.ndarray:
    """Every non-empty set of the teams, one 0/1 row each."""
    return np.array(list(itertools.product((0.0, 1.0), repeat=len(teams))))[1:]


def derivable(attacker: Attacker, block: tuple, keys: list, subsets: np.ndarray) -> np.ndarray:
    """For each set (row of `subsets`, over `keys`): can the attacker work out its total in this block?"""
    vectors = np.zeros((len(subsets), len(attacker.columns[block])))
    for i, key in enumerate(keys):
        vectors[:, attacker.columns[block][key]] = subsets[:, i]
    return attacker.derived(block, vectors)


def common_answer(values: list) -> float | None:
    """The one value every answer has, or None when they differ or there are none."""
    answers = np.concatenate([v for v in values if v is not None and len(v)] or [np.zeros(0)])
    if not len(answers) or np.ptp(answers) > 1e-9:
        return None
    return float(answers[0])


def stated_answers(case: Case, attacker: Attacker) -> list[str]:
    """Every set of teams whose released numbers state each of its people's answer. Brute force over all sets."""
    teams = case.teams
    subsets = team_subsets(teams)

    def chosen(row: int) -> list:
        return [t for t, inside in zip(teams, subsets[row], strict=True) if inside]

    stated = []
    for f in case.functions:
        n_known = derivable(attacker, ("u", f), teams, subsets)
        for row in np.flatnonzero(n_known):
            group = chosen(row)
            if sum(case.answered[t] for t in group) and not sum(case.used[f, t] for t in group):
                stated.append(f"{f}: nobody of {group} used it")
        for m in INTERNAL_MEASURES:
            total_known = n_known & derivable(attacker, ("s", f), [(m, t) for t in teams], subsets)
            squares_known = derivable(attacker, ("q", f, m), teams, subsets)
            for row in np.flatnonzero(total_known):
                value = common_answer([case.values.get((f, m, t)) for t in chosen(row)])
                if value is not None and (squares_known[row] or value in STAFF_ENDS):
                    stated.append(f"{f}/{m}: everyone of {chosen(row)} gave {value}")
    for m in CUSTOMER_MEASURES:
        total_known = derivable(attacker, ("e", m), teams, subsets)  # n follows the totals' pattern
        squares_known = derivable(attacker, ("qe", m), teams, subsets)
        for row in np.flatnonzero(total_known):
            value = common_answer([case.customer_values.get((m, t)) for t in chosen(row)])
            if value is not None and (squares_known[row] or value in CUSTOMER_ENDS[m]):
                stated.append(f"customers {m}: everyone of {chosen(row)} gave {value}")
    return stated


def check_no_answer_is_stated(case: Case) -> list[str]:
    released, hidden_rates = released_everything(case)
    stated = stated_answers(case, attack(case, released, hidden_rates))
    assert stated == []
    return stated


@settings(max_examples=150, deadline=None)
@given(cases(max_teams=BRUTE_FORCE_TEAMS))
def test_no_released_number_states_what_a_respondent_answered(case):
    """Every tree together, teams planted whose respondents or customers all answered alike (in every measure,
    or only the harm item, or only one dimension): no set of teams whose numbers can be worked out has all its
    people giving the same answer, and none whose respondents all said "did not use"."""
    check_no_answer_is_stated(case)


@settings(max_examples=30, deadline=None)
@given(cases(max_teams=12))
def test_no_released_number_states_what_a_respondent_answered_in_larger_trees(case):
    check_no_answer_is_stated(case)


def alike_case(alike: dict, used: dict, answered: dict, parents: dict, k: int = 5, seed: int = 7) -> Case:
    invited = {t: n + 2 for t, n in answered.items()}
    return make_case(parents, k, invited, answered, used, seed=seed, alike=alike)


def test_a_unanimous_team_is_hidden_with_a_sibling_that_keeps_it_from_being_subtracted():
    """The review's case: a team's 6 respondents all rated "assurance" alike. In a region of two teams, hiding
    that team alone would leave it as the region's numbers minus its sibling's: the sibling is hidden too (in
    assurance and the measures tied to it), and the region still shows."""
    parents = {"G1": None, "A": "G1", "B": "G1"}
    case = alike_case(
        {(101, "A"): "dimension"}, {(101, "A"): 6, (101, "B"): 9}, {"A": 6, "B": 9}, parents, seed=3
    )
    assert common_answer([case.values[101, "assurance", "A"]]) is not None  # the planted unanimity
    released, _ = released_everything(case)
    scores = released.internal[101]
    assert scores["A"]["assurance"].suppressed and scores["B"]["assurance"].suppressed
    assert scores["A"][OVERALL].suppressed  # else assurance = 5 x overall - the other four
    assert not scores["G1"]["assurance"].suppressed and not scores["A"][IMPACT].suppressed
    check_no_answer_is_stated(case)


def test_a_unanimous_region_is_hidden_and_not_given_away_by_the_total():
    """Two teams of a region whose respondents all gave the same ratings: the region states each one's answer
    too, so it is hidden, and so is enough beside it that the total minus the rest does not give it back."""
    parents = {"G1": None, "G2": None, "A": "G1", "B": "G1", "C": "G2", "D": "G2"}
    used = {(101, t): n for t, n in {"A": 6, "B": 7, "C": 8, "D": 9}.items()}
    case = alike_case(
        {(101, "A"): "all", (101, "B"): "all"}, used, {t: used[101, t] for t in "ABCD"}, parents
    )
    # The same seed's first respondent gives both teams their ratings only by chance: make them equal.
    for m in INTERNAL_MEASURES:
        case.values[101, m, "B"][:] = case.values[101, m, "A"][0]
        v = case.values[101, m, "B"]
        case.sums.internal[101, "B"][m] = Sums(len(v), float(v.sum()), float((v * v).sum()))
    released, _ = released_everything(case)
    assert released.internal[101]["G1"][OVERALL].suppressed
    check_no_answer_is_stated(case)


def test_nobody_using_a_function_is_not_told():
    """A team whose 7 respondents all answered "did not use": its usage cell, and anything that gives it by
    subtraction, is hidden."""
    parents = {"G1": None, "A": "G1", "B": "G1", "C": "G1"}
    used = {(101, "A"): 0, (101, "B"): 6, (101, "C"): 8}
    case = alike_case({}, used, {"A": 7, "B": 9, "C": 10}, parents)
    released, _ = released_everything(case)
    assert released.usage[101]["A"].suppressed and not released.usage[101]["G1"].suppressed
    assert released.usage[101]["B"].suppressed  # its complement: G1 - B - C would give A's 0
    check_no_answer_is_stated(case)


def test_everyone_using_a_function_is_shown_with_the_scores():
    """The channel we accept (docs/anonymity.md): every score's n is the used count, and HR knows who answered,
    so a team where everyone used the function shows that with its scores. Hiding it would hide the scores of
    every such team (a quarter of the demo's team scores, two thirds of one function's); the gate shows them,
    and hides only "did not use" by all."""
    parents = {"G1": None, "A": "G1", "B": "G1"}
    case = alike_case({}, {(101, "A"): 8, (101, "B"): 6}, {"A": 8, "B": 9}, parents)
    released, _ = released_everything(case)
    assert released.internal[101]["A"][OVERALL].n == released.usage[101]["A"].answered == 8
    check_no_answer_is_stated(case)


# --- Roll-ups --------------------------------------------------------------------------------------------------


@st.composite
def integer_trees(draw):
    parents: dict = {}
    for g in range(draw(st.integers(0, 4))):
        parents[f"G{g}"] = draw(st.sampled_from([None, *list(parents)]))
    groups = list(parents)
    teams = {}
    for i in range(draw(st.integers(1, 12))):
        parents[f"T{i}"] = draw(st.sampled_from([*groups, None]))
        values = draw(st.lists(st.integers(1, 7), max_size=12))
        teams[f"T{i}"] = Sums(len(values), float(sum(values)), float(sum(v * v for v in values)))
    return parents, teams, draw(st.integers(3, 7))


@settings(max_examples=200, deadline=None)
@given(integer_trees())
def test_roll_ups_are_the_pooled_mean_of_the_teams_below(tree):
    """Exact: with whole-number sums the float arithmetic of the pooling makes no rounding error, so the mean
    shown must be the correctly rounded quotient of the teams' totals."""
    parents, teams, k = tree
    released = release_tree(parents, teams, k)
    under = below(parents, list(teams))
    assert set(released) == set(under)  # teams with nobody behind them too (suppressed)
    for node, shown in released.items():
        n = sum(teams[t].n for t in under[node])
        total = sum(int(teams[t].total) for t in under[node])
        squares = sum(int(teams[t].squares) for t in under[node])
        if shown.suppressed:
            continue
        assert shown.n == n >= k
        assert shown.mean == float(Fraction(total, n))
        variance = Fraction(squares * n - total * total, n * (n - 1))
        assert math.isclose(shown.sd, math.sqrt(variance), rel_tol=1e-12, abs_tol=1e-12)
    # A team's own cell, when shown, is its own numbers.
    for team, sums in teams.items():
        if sums.n and not released[team].suppressed:
            assert released[team].mean == float(Fraction(int(sums.total), sums.n))


@st.composite
def fractional_trees(draw):
    """Groups up to 3 deep, teams under them, at the top or under another team, in any order; sums of
    fractional values (whose float additions round), some without squares (figures imported as scores)."""
    parents: dict = {}
    for g in range(draw(st.integers(0, 4))):
        parents[f"G{g}"] = draw(st.sampled_from([None, *list(parents)]))
    teams = {}
    for i in range(draw(st.integers(1, 14))):
        parents[f"T{i}"] = draw(st.sampled_from([None, *parents]))
        values = draw(st.lists(st.floats(-100, 100, allow_nan=False), max_size=12))
        squares = draw(st.booleans())
        teams[f"T{i}"] = Sums(len(values), sum(values), sum(v * v for v in values) if squares else None)
    order = draw(st.permutations(list(teams)))
    return parents, {team: teams[team] for team in order}, draw(st.integers(3, 7))


@settings(max_examples=300, deadline=None)
@given(fractional_trees())
def test_roll_ups_add_the_teams_below_in_their_order_to_the_bit(tree):
    """A result computed again must be the same to the bit: each node's sums are its teams' `Sums` added left
    to right in the order the teams come (as `Sums.__add__` adds them), whatever way the gate takes there."""
    parents, teams, k = tree
    under = below(parents, list(teams))
    expected = {
        node: reduce(operator.add, [s for t, s in teams.items() if t in group])
        for node, group in under.items()
    }
    assert rollup(parents, teams) == expected
    for node, shown in release_tree(parents, teams, k).items():
        if not shown.suppressed:
            assert (shown.n, shown.mean, shown.sd) == (
                expected[node].n,
                expected[node].mean,
                expected[node].sd,
            )


# --- Comments --------------------------------------------------------------------------------------------------


@st.composite
def comment_sets(draw):
    teams = [f"T{i}" for i in range(draw(st.integers(1, 6)))]
    counts = draw(st.lists(st.integers(0, 14), min_size=len(teams), max_size=len(teams)))
    comments = [
        (team, f"{team} comment {i}") for team, count in zip(teams, counts, strict=True) for i in range(count)
    ]
    order = draw(st.permutations(range(len(comments))))
    return [comments[i] for i in order], draw(st.integers(3, 12))


@settings(max_examples=300, deadline=None)
@given(comment_sets(), st.integers(0, 2**32 - 1))
def test_comments_are_released_in_groups_of_at_least_the_threshold(data, seed):
    comments, threshold = data
    groups = release_comments(comments, threshold, random.Random(seed))
    if len(comments) < threshold:
        assert groups == []
        return
    shown = [text for group in groups for text in group.comments]
    assert sorted(shown) == sorted(text for _, text in comments)  # every comment, exactly once
    team_of = {text: team for team, text in comments}
    counts = defaultdict(int)
    for team, _ in comments:
        counts[team] += 1
    for group in groups:
        assert len(group.comments) >= threshold, group
        if group.team is not None:
            assert {team_of[text] for text in group.comments} == {group.team}
            assert counts[group.team] >= threshold
    assert sum(group.team is None for group in groups) <= 1
    # No team's comments are split between its own group and the pool.
    named = {group.team for group in groups if group.team is not None}
    pooled = {team_of[text] for group in groups if group.team is None for text in group.comments}
    assert not named & pooled


def test_no_team_label_below_the_threshold():
    comments = [("A", f"a{i}") for i in range(12)] + [("B", f"b{i}") for i in range(4)]
    groups = release_comments(comments, 10, random.Random(1))
    labels = {group.team for group in groups}
    assert "B" not in labels
    assert all(len(group.comments) >= 10 for group in groups)
    # Four pooled comments are too few: A's twelve join them, and nothing carries a label.
    assert labels == {None} and len(groups[0].comments) == 16


def test_comments_are_shuffled():
    comments = [("A", f"comment {i:02d}") for i in range(20)]
    orders = {
        tuple(text for g in release_comments(comments, 10, random.Random(seed)) for text in g.comments)
        for seed in range(1, 6)
    }
    arrival = tuple(text for _, text in comments)
    assert arrival not in orders  # not in the order they came in
    assert len(orders) == 5  # and not in one fixed order either
    # The same seed gives the same order: a page that is reloaded shows nothing new.
    again = release_comments(comments, 10, random.Random(3))
    assert again == release_comments(comments, 10, random.Random(3))
