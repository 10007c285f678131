"""The linkage against planted truth, over many seeds at realistic sizes: 60 front-line teams, 8 support functions,
12 staff and about 150 customers per team, five quarterly rounds (see simulation.py for the story).

The planted driver's service to 20% of the teams drops by 1 point on the 1-7 scale; those teams' customers drop
the next round by 0.5 on the same latent scale, about half the standard deviation of one customer's answers (the
size the domain notes says a change-based test finds with recall about 0.8). The decoy function drops as much for
other teams with no customer effect; some teams' customers drop with no internal cause.

Every seed goes the whole way through the product's pure path: the simulated answers are summed as the SQL sums
them (`tests/simulated.py`, checked against the SQL in test_analytics.py), pass the release gate with k = 5, and
are linked with the round's tests, FDR control, drivers and hotspots.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor

import pytest

from simulated import simulated_linkage
from survey.demo.simulation import OrgShape

pytestmark = pytest.mark.slow  # 40 organisations: about two minutes

SHAPE = OrgShape(functions=8, teams=60, staff_per_team=12, customers_per_team=150, rounds=5)
DROPS = {"internal_drop": 1.0, "customer_drop": 0.5}
SEEDS = range(20)


def _outcome(args) -> dict:
    seed, planted = args
    linkage, truth, function_ids, team_ids = simulated_linkage(seed, SHAPE, planted=planted, **DROPS)
    claimed = {d.function.id for d in linkage.drivers if d.claim}
    driver = function_ids[truth.driver]
    named = [h.team.id for h in linkage.hotspots if h.function.id == driver]
    affected = {team_ids[t] for t in truth.driver_teams}
    return {
        "found": driver in claimed,
        "decoy": function_ids[truth.decoy] in claimed,
        "claims": len(claimed),
        "named": len(named),
        "named_right": sum(team in affected for team in named),
    }


@pytest.fixture(scope="module")
def outcomes() -> dict[bool, list[dict]]:
    jobs = [(seed, True) for seed in SEEDS] + [(1000 + seed, False) for seed in SEEDS]
    with ProcessPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(_outcome, jobs))
    return {True: results[: len(SEEDS)], False: results[len(SEEDS) :]}


def test_the_planted_function_is_found_in_at_least_80_percent_of_seeds(outcomes):
    recall = sum(o["found"] for o in outcomes[True]) / len(SEEDS)
    assert recall >= 0.8, recall


def test_the_teams_named_for_it_are_the_planted_ones_with_precision_at_least_80_percent(outcomes):
    named = sum(o["named"] for o in outcomes[True])
    right = sum(o["named_right"] for o in outcomes[True])
    assert named >= len(SEEDS), "hotspots should name the planted teams"
    assert right / named >= 0.8, (right, named)


def test_the_decoy_is_claimed_in_at_most_10_percent_of_seeds(outcomes):
    assert sum(o["decoy"] for o in outcomes[True]) / len(SEEDS) <= 0.1


def test_with_nothing_planted_no_claim_is_made_in_at_least_90_percent_of_seeds(outcomes):
    quiet = sum(o["claims"] == 0 for o in outcomes[False]) / len(SEEDS)
    assert quiet >= 0.9, quiet
