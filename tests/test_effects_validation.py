"""Did it work? `analysis.effects` against planted truth over many seeds: the simulator's driver fails a third of
40 front-line teams from the second quarter on; in answer to the fourth quarter it acts twice, each time at half
of those teams: one action restores its service from the next quarter (the customers recover a quarter after
that), the other changes nothing. Each seed goes the product's pure path (answers summed as the SQL sums them,
the release gate at k = 5) and the sixth quarter is read: effective actions must be reported as working in at
least 80% of seeds, ineffective ones in at most 10% (docs/measurement.md gives the measured rates)."""

from __future__ import annotations

import pytest

from simulated import simulated_history
from survey.analysis.effects import BETTER, WORKING, Action, action_effects
from survey.analysis.linkage import Named
from survey.demo.simulation import OrgShape, Plant, plant, plant_actions
from survey.vocabulary import CSAT_PCT

pytestmark = pytest.mark.slow  # 20 organisations of 6 quarters: about 20 seconds

SHAPE = OrgShape(functions=4, teams=40, staff_per_team=10, customers_per_team=120, rounds=6)
SEEDS = range(20)
ANSWERS = 3  # the quarter the actions answer (0-based): the driver has failed its teams since quarter 1


def acting(shape: OrgShape, rng) -> Plant:
    truth = plant(shape, rng, affected_share=0.3, drop_round=1)
    half = len(truth.driver_teams) // 2
    return plant_actions(truth, ANSWERS, truth.driver_teams[:half], truth.driver_teams[half:])


def _verdicts(seed: int) -> list[tuple[bool, str, str]]:
    released, truth, function_ids, team_ids = simulated_history(seed, SHAPE, truth=acting, customer_drop=0.6)
    actions = [
        Action(i, function_ids[truth.driver], "overall", tuple(team_ids[t] for t in a.teams), ANSWERS + 1, "")
        for i, a in enumerate(truth.actions)
    ]
    teams = [Named(t, f"team {t}") for t in team_ids]
    effects = action_effects(released, teams, actions, CSAT_PCT, 5, seed=seed, resamples=1000)
    return [
        (a.effective, e.verdict, e.customers_verdict) for a, e in zip(truth.actions, effects, strict=True)
    ]


def test_effective_actions_are_reported_as_working_and_ineffective_ones_are_not():
    found = [v for seed in SEEDS for v in _verdicts(seed)]
    effective = [v for v in found if v[0]]
    ineffective = [v for v in found if not v[0]]
    rates = {
        "effective, ratings working": sum(v[1] == WORKING for v in effective) / len(effective),
        "effective, customers better": sum(v[2] == BETTER for v in effective) / len(effective),
        "ineffective, ratings working": sum(v[1] == WORKING for v in ineffective) / len(ineffective),
        "ineffective, customers better": sum(v[2] == BETTER for v in ineffective) / len(ineffective),
    }
    print(f"over {len(SEEDS)} seeds: " + "; ".join(f"{k} {v:.0%}" for k, v in rates.items()))
    assert rates["effective, ratings working"] >= 0.8
    assert rates["ineffective, ratings working"] <= 0.1
    assert rates["effective, customers better"] >= 0.8
    assert rates["ineffective, customers better"] <= 0.1
