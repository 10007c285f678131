"""The rule that decides which counts may be shown, attacked as a reader of every shown count would: no set of
fewer than k people's answers may be worked out by adding and subtracting what is shown."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from survey.analysis.anonymity import TOTAL, hidden_counts


def derivable_small_sets(parents, sizes, k, hidden):
    """Sets of hidden teams (fewer than k people together) whose total is a linear combination of shown counts."""
    teams = sorted(sizes)
    members = {team: {team} for team in teams}
    for team in teams:
        node = parents.get(team)
        while node is not None:
            members.setdefault(node, set()).add(team)
            node = parents.get(node)
    members[TOTAL] = set(teams)
    secret = [t for t in teams if t in hidden]
    if not secret:
        return []
    # Each shown count, minus the shown teams in it, is a sum over hidden teams: a row of a matrix.
    rows = [
        [1.0 if t in group else 0.0 for t in secret]
        for node, group in members.items()
        if node not in hidden and group & set(secret)
    ]
    if not rows:
        return []
    known = np.array(rows)
    rank = np.linalg.matrix_rank(known)
    found = []
    for r in range(1, len(secret) + 1):
        for subset in itertools.combinations(range(len(secret)), r):
            people = sum(sizes[secret[i]] for i in subset)
            if people >= k:
                continue
            vector = np.zeros(len(secret))
            vector[list(subset)] = 1.0
            if np.linalg.matrix_rank(np.vstack([known, vector])) == rank:
                found.append({secret[i] for i in subset})
    return found


@st.composite
def organisations(draw):
    """Up to 3 regions (some nested), up to 9 teams of 1 to 14 people; some teams directly at the top."""
    regions = draw(st.integers(0, 3))
    parents = {}
    for r in range(regions):
        parents[f"R{r}"] = draw(st.sampled_from([None] + [f"R{q}" for q in range(r)]))
    teams = draw(st.integers(1, 9))
    sizes = {}
    for t in range(teams):
        parents[f"T{t}"] = draw(st.sampled_from([None] + [f"R{r}" for r in range(regions)]))
        sizes[f"T{t}"] = draw(st.integers(1, 14))
    return parents, sizes


@settings(max_examples=400, deadline=None)
@given(organisations(), st.integers(3, 6))
def test_no_count_of_fewer_than_k_people_can_be_worked_out(organisation, k):
    parents, sizes = organisation
    hidden = hidden_counts(parents, sizes, k)
    assert all(t in hidden for t, n in sizes.items() if n < k)
    assert derivable_small_sets(parents, sizes, k, hidden) == []


def test_one_small_team_hides_one_more_and_the_total_stays():
    hidden = hidden_counts({"A": None, "B": None, "C": None}, {"A": 2, "B": 6, "C": 9}, 5)
    assert hidden == {"A", "B"}


def test_two_small_teams_below_k_together_hide_a_third():
    hidden = hidden_counts({"A": None, "B": None, "C": None, "D": None}, {"A": 2, "B": 2, "C": 10, "D": 8}, 5)
    assert hidden == {"A", "B", "D"}


def test_a_region_with_one_small_team_is_protected_in_the_region_and_at_the_top():
    parents = {"R1": None, "R2": None, "FL1": "R1", "FL2": "R1", "FL3": "R1", "FL4": "R2"}
    hidden = hidden_counts(parents, {"FL1": 6, "FL2": 6, "FL3": 2, "FL4": 7}, 5)
    assert "FL3" in hidden and ({"FL1", "FL2"} & hidden) and "R1" not in hidden
    assert derivable_small_sets(parents, {"FL1": 6, "FL2": 6, "FL3": 2, "FL4": 7}, 5, hidden) == []
