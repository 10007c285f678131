"""Did the actions work? The statistics of `analysis.effects` on made-up released rounds."""

from __future__ import annotations

import numpy as np

from survey.analysis.effects import (
    NO_CLEAR_CHANGE,
    TOO_EARLY,
    TOO_FEW,
    WORKING,
    WORSE,
    Action,
    action_effects,
)
from survey.analysis.linkage import Named
from survey.analysis.release import SUPPRESSED, ReleasedRound, Shown
from survey.vocabulary import CSAT_PCT

FUNCTION = 1
TEAMS = [Named(100 + t, f"Team {t}") for t in range(40)]


def released(scores: np.ndarray, outcome: np.ndarray, measure: str = "reliability") -> list[ReleasedRound]:
    """Rounds (ids 1, 2, ...) holding each team's score of FUNCTION on `measure` and its CSAT% (NaN: hidden)."""
    rounds = []
    for r in range(len(scores)):
        a_round = ReleasedRound(r + 1, 5)
        a_round.internal[FUNCTION] = {
            team.id: {measure: SUPPRESSED if np.isnan(scores[r, t]) else Shown(10, float(scores[r, t]))}
            for t, team in enumerate(TEAMS)
        }
        a_round.external = {
            team.id: {CSAT_PCT: SUPPRESSED if np.isnan(outcome[r, t]) else Shown(60, float(outcome[r, t]))}
            for t, team in enumerate(TEAMS)
        }
        rounds.append(a_round)
    return rounds


def story(seed: int, rating_lift: float, customer_lift: float, targeted: range, rounds: int = 6):
    """Teams with stable differences and noise; from round 4 (index 3) the targeted teams' rating rises by
    `rating_lift`, and from round 5 their customers' CSAT% by `customer_lift`."""
    rng = np.random.default_rng(seed)
    scores = rng.normal(5.0, 0.4, size=len(TEAMS)) + rng.normal(0, 0.2, size=(rounds, len(TEAMS)))
    outcome = rng.normal(70, 5, size=len(TEAMS)) + rng.normal(0, 2.5, size=(rounds, len(TEAMS)))
    team_list = list(targeted)
    scores[3:, team_list] += rating_lift
    outcome[4:, team_list] += customer_lift
    return scores, outcome


def action(team_indexes, answers: int = 3, action_id: int = 1, measure: str = "reliability") -> Action:
    return Action(
        action_id, FUNCTION, measure, tuple(TEAMS[t].id for t in team_indexes), answers, "New tills"
    )


def test_a_planted_effect_is_found_with_its_sign_and_size():
    scores, outcome = story(1, rating_lift=0.8, customer_lift=6.0, targeted=range(8))
    (effect,) = action_effects(released(scores, outcome), TEAMS, [action(range(8))], CSAT_PCT, 5, seed=1)
    assert effect.verdict == WORKING
    assert effect.customers_verdict == "better"
    assert effect.ratings is not None and effect.customers is not None
    assert 0.5 < (effect.ratings.effect or 0) < 1.1
    assert 0 < (effect.ratings.low or 0) < 0.8 < (effect.ratings.high or 0)
    assert 3 < (effect.customers.effect or 0) < 9
    assert effect.ratings.q is not None and effect.ratings.q <= 0.10
    assert effect.sentence.startswith(
        "After the action, these 8 teams' rating of “Doing what was promised” rose 0."
    )
    assert "their customers' CSAT% rose" in effect.sentence and "90% interval" in effect.sentence


def test_no_effect_is_found_on_noise():
    working = 0
    for seed in range(20):
        scores, outcome = story(seed, rating_lift=0.0, customer_lift=0.0, targeted=range(8))
        (effect,) = action_effects(
            released(scores, outcome), TEAMS, [action(range(8))], CSAT_PCT, 5, seed=seed, resamples=500
        )
        assert effect.verdict in (NO_CLEAR_CHANGE, WORSE)
        working += effect.customers_verdict == "better"
    assert working <= 2


def test_a_fall_is_worse_not_working():
    scores, outcome = story(2, rating_lift=-0.9, customer_lift=0.0, targeted=range(8))
    (effect,) = action_effects(released(scores, outcome), TEAMS, [action(range(8))], CSAT_PCT, 5, seed=2)
    assert effect.verdict == WORSE
    assert "fell 0." in effect.sentence


def test_small_actions_are_pooled_and_too_few_teams_say_so():
    scores, outcome = story(3, rating_lift=0.8, customer_lift=6.0, targeted=range(7))
    small = [
        action(range(0, 3), action_id=1),
        action(range(3, 5), action_id=2),
        action(range(5, 7), action_id=3),
    ]
    alone = [action(range(10, 12), action_id=4, answers=2)]  # another round answered: a pool of its own
    effects = action_effects(released(scores, outcome), TEAMS, small + alone, CSAT_PCT, 5, seed=3)
    pooled, too_few = effects
    assert pooled.action_ids == (1, 2, 3) and pooled.teams == 7
    assert pooled.verdict == WORKING
    assert (
        "the rating of “Doing what was promised” at 7 teams of 3 smaller actions together rose"
        in pooled.sentence
    )
    assert too_few.action_ids == (4,) and too_few.verdict == TOO_FEW and too_few.ratings is None
    assert too_few.sentence.startswith("Too few teams to report on (2 teams")


def test_a_hidden_cell_does_not_move_the_effect():
    scores, outcome = story(4, rating_lift=0.8, customer_lift=6.0, targeted=range(8))
    found = []
    # Team 0's rating in the latest round is hidden by the release gate: whatever it was, it moves nothing.
    for hidden_value in (1.0, 7.0):
        changed = scores.copy()
        changed[-1, 0] = hidden_value
        rounds = released(changed, outcome)
        rounds[-1].internal[FUNCTION][TEAMS[0].id]["reliability"] = SUPPRESSED
        (effect,) = action_effects(rounds, TEAMS, [action(range(8))], CSAT_PCT, 5, seed=4)
        assert effect.ratings is not None and effect.ratings.targeted == 7
        found.append(effect.ratings)
    assert found[0] == found[1]
    (shown,) = action_effects(released(scores, outcome), TEAMS, [action(range(8))], CSAT_PCT, 5, seed=4)
    assert shown.ratings is not None and shown.ratings.targeted == 8 and shown.ratings != found[0]


def test_an_action_on_the_latest_round_is_too_early():
    scores, outcome = story(5, rating_lift=0.0, customer_lift=0.0, targeted=range(8))
    latest, before_latest = action(range(8), answers=6), action(range(8), answers=5, action_id=2)
    early, half = action_effects(released(scores, outcome), TEAMS, [latest, before_latest], CSAT_PCT, 5)
    assert early.verdict == TOO_EARLY and early.customers_verdict == TOO_EARLY
    assert half.verdict != TOO_EARLY and half.customers_verdict == TOO_EARLY
    assert "read from the round after next" in half.sentence
