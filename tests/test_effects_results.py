"""Did it work, in the stored results: the effects of the actions answering earlier rounds are computed with a
round's linkage, and computed again when an action is recorded, edited or dropped after the round closed."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import delete, select, update

from helpers import compute_results
from survey.accounts.api_tokens import API_SCOPES, create_api_token
from survey.accounts.users import create_user
from survey.analysis import analytics
from survey.db.models import ActionPlan, ActionPlanTeam, ActionSource, ActionStatus, Role, Round
from survey.demo.build import simulate_into
from survey.demo.simulation import OrgShape
from survey.rounds.scheduler import tick

SHAPE = OrgShape(functions=3, teams=12, staff_per_team=14, customers_per_team=40, rounds=3, regions=2)


@pytest.fixture
def token_client(client, db):
    with db.session() as session:
        _, token = create_api_token(session, "results", API_SCOPES, None, datetime.now(UTC))
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def _record_action(db, function_id: int, round_id: int, team_ids: list[int]) -> int:
    with db.session() as session:
        owner = create_user(session, "function.head@example.com", "Fay Function", Role.HR)
        action = ActionPlan(
            function_id=function_id,
            round_id=round_id,
            source=ActionSource.DIMENSION,
            dimension="reliability",
            title="Deliveries checked before they leave",
            owner_id=owner.id,
            due_on=date(2026, 1, 31),
            status=ActionStatus.DONE,
        )
        session.add(action)
        session.flush()
        session.add_all(ActionPlanTeam(action_id=action.id, team_id=team) for team in team_ids)
        session.commit()
        return action.id


def test_an_action_recorded_after_the_close_is_evaluated_by_the_next_pass_and_dropping_it_removes_it(
    db, settings, token_client
):
    sim = simulate_into(db, SHAPE, seed=3)
    compute_results(db, settings)
    with db.session() as session:
        first, *_, last = session.exec(select(Round.id).order_by(Round.opens_at)).scalars()
    linkage = token_client.get(f"/api/rounds/{last}/linkage")
    assert linkage.status_code == 200 and linkage.json()["actions"] == []

    function = sim.functions[sim.truth.driver]
    action_id = _record_action(db, function.id, first, [t.id for t in sim.teams[:6]])
    meanwhile = token_client.get(f"/api/rounds/{last}/linkage")
    assert meanwhile.headers["survey-results"] == "updating" and meanwhile.json()["actions"] == []
    reasons = {r.round_id: r.reason for r in tick(db, settings).results}
    assert reasons[last].startswith("what its linkage reads changed")
    (too_early,) = analytics.read_action_effects(db, first, settings.min_group_size).result
    assert too_early.verdict == "too early"  # the round it answers: no round measured since

    after = token_client.get(f"/api/rounds/{last}/linkage")
    assert after.headers["survey-results"] == "current"
    (effect,) = after.json()["actions"]
    assert effect["actions"] == [action_id] and effect["teams"] == 6 and effect["measure"] == "reliability"
    assert effect["answers"] == sim.round_names[0]
    assert effect["verdict"] in ("working", "no clear change", "worse")
    assert effect["ratings"]["targeted"] >= 5 and effect["sentence"].startswith("After the action, these")
    assert (
        effect["customers_verdict"] != "too early"
    )  # answering the first round: customers read in the third
    stored = analytics.read_action_effects(db, last, settings.min_group_size, function_id=function.id)
    assert [e.actions for e in stored.result] == [[action_id]]
    assert analytics.read_action_effects(db, last, settings.min_group_size, function_id=-1).result == []

    # Its teams edited: computed again, now too few teams to report on.
    with db.write() as connection:
        connection.execute(
            delete(ActionPlanTeam).where(
                ActionPlanTeam.action_id == action_id,
                ActionPlanTeam.team_id.in_([t.id for t in sim.teams[:3]]),
            )
        )
    assert token_client.get(f"/api/rounds/{last}/linkage").headers["survey-results"] == "updating"
    tick(db, settings)
    (effect,) = token_client.get(f"/api/rounds/{last}/linkage").json()["actions"]
    assert effect["verdict"] == "too few teams" and effect["ratings"] is None

    # Dropped: no longer evaluated.
    with db.write() as connection:
        connection.execute(update(ActionPlan).values(status=ActionStatus.DROPPED))
    assert token_client.get(f"/api/rounds/{last}/linkage").headers["survey-results"] == "updating"
    tick(db, settings)
    assert token_client.get(f"/api/rounds/{last}/linkage").json()["actions"] == []


def test_the_function_report_lists_the_actions_as_they_stand_and_a_kept_pdf_follows_them(db, settings):
    """A function's report (PDF and dashboard alike) lists its actions answering the round or an earlier one, not
    dropped: the done one with the verdict the round's results hold, an action answering a later round not at
    all. Dropping the action changes what the report shows, and so the fingerprint a kept PDF is served by."""
    from survey.reports.catalogue import report_by_code
    from survey.reports.content.function import verdict_words
    from survey.reports.data import round_data
    from survey.reports.render import context_key, report_context

    sim = simulate_into(db, SHAPE, seed=3)
    compute_results(db, settings)
    with db.session() as session:
        first, *_, last = session.exec(select(Round.id).order_by(Round.opens_at)).scalars()
    function = sim.functions[sim.truth.driver]
    done_id = _record_action(db, function.id, first, [t.id for t in sim.teams[:6]])
    with db.session() as session:
        owner = session.get(ActionPlan, done_id).owner_id
        session.add(
            ActionPlan(
                function_id=function.id,
                round_id=last,
                source=ActionSource.OTHER,
                dimension="overall",
                title="A weekly call with every store",
                owner_id=owner,
                due_on=date(2026, 1, 31),
            )
        )
        session.commit()
    tick(db, settings)

    def report(round_id: int) -> dict:
        with db.session() as session:
            ref = report_by_code(session, session.get(Round, round_id), function.code)
        return report_context(round_data(db, round_id, settings), ref)

    latest = report(last)
    stored = analytics.read_action_effects(db, last, settings.min_group_size, function_id=function.id).result
    effect = next(e for e in stored if done_id in e.actions)
    (done,) = latest["done_actions"]
    assert done.action.title == "Deliveries checked before they leave" and done.action.teams == 6
    assert done.verdict == verdict_words(effect) and done.sentence == effect.sentence
    (planned,) = latest["open_actions"]
    assert (
        planned.title == "A weekly call with every store" and planned.overdue and planned.status == "Planned"
    )
    earliest = report(first)  # the later round's action is not there; the done one is, not measured yet
    assert earliest["open_actions"] == [] and [d.verdict for d in earliest["done_actions"]] == [
        "Too early to tell"
    ]

    with db.write() as connection:
        connection.execute(
            update(ActionPlan).where(ActionPlan.id == done_id).values(status=ActionStatus.DROPPED)
        )
    tick(db, settings)
    after = report(last)
    assert after["done_actions"] == [] and context_key(after) != context_key(latest)
