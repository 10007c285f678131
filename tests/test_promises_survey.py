"""Employees read, in the survey, what each support function promises and what it did since the last round."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from conftest import start_round
from helpers import employee_answers, open_survey, step_survey, submit_survey
from survey.accounts.users import create_user
from survey.db.models import (
    ActionPlan,
    ActionPlanTeam,
    ActionSource,
    ActionStatus,
    Employee,
    Role,
    Round,
    Unit,
)
from survey.promises import store
from survey.promises.rules import PromiseDraft

TILL = "A broken till is replaced within one working day."
TILL_DE = "Eine defekte Kasse wird binnen eines Arbeitstages ersetzt."
LAPTOP = "Every new starter has a laptop on day one."


def _german_employee(db) -> str:
    with db.session() as session:
        employee = session.exec(select(Employee).order_by(Employee.email)).first()
        employee.language = "de"
        session.add(employee)
        session.commit()
        return employee.email


def _backdate_promises(db) -> None:
    from survey.db.models import PromiseSet

    with db.session() as session:
        for promise_set in session.exec(select(PromiseSet)).all():
            promise_set.created_at -= timedelta(days=3)
            session.add(promise_set)
        session.commit()


def test_a_german_employee_reads_the_functions_promises_in_german_on_its_step(client, db, org):
    store.save(
        db,
        org.functions[0],
        [PromiseDraft("reliability", TILL, {"de": TILL_DE}), PromiseDraft("tangibles", LAPTOP)],
    )
    _backdate_promises(db)
    email = _german_employee(db)
    survey = start_round(db)
    first = open_survey(client, survey.path(email))
    assert first.status_code == 200 and "Bereich" in first.text
    answers = employee_answers(db, survey.id, unused=(org.functions[1],))
    checklist = {k: v for k, v in answers.items() if k.startswith("use-")}
    step = step_survey(client, first.text, {**checklist, "lang": "de"}, 0)  # the page's hidden language field
    assert step.status_code == 200
    disclosure = step.text.split('<details class="promises">')[1].split("</details>")[0]
    assert "Was IT Service Desk verspricht" in disclosure
    assert TILL_DE in disclosure and TILL not in disclosure
    assert LAPTOP in disclosure  # no German text: the English
    # A disclosure inside the step's form, not a link away from the answers typed so far.
    form = step.text.split('id="survey-step"')[1].split("</form>")[0]
    assert (
        '<details class="promises">' in form and "<a " not in form.split("<details")[1].split("</details>")[0]
    )


def test_a_version_written_after_the_round_opened_is_not_shown_in_it(client, db, org, open_round):
    store.save(db, org.functions[0], [PromiseDraft("reliability", TILL)])
    email = next(iter(open_round.links))
    first = open_survey(client, open_round.path(email))
    checklist = {k: v for k, v in employee_answers(db, open_round.id).items() if k.startswith("use-")}
    step = step_survey(client, first.text, checklist, 0)
    assert step.status_code == 200 and "Function 1 of 2: IT Service Desk" in step.text
    assert '<details class="promises">' not in step.text and TILL not in step.text


def _action(
    session,
    function_id: int,
    round_id: int,
    owner_id: int,
    title: str,
    status: ActionStatus,
    done_days_ago=None,
):
    now = datetime.now(UTC)
    action = ActionPlan(
        function_id=function_id,
        round_id=round_id,
        source=ActionSource.OTHER,
        dimension="reliability",
        title=title,
        description="Secret plan: Store 1's till keeps failing, says Person 4.1",
        owner_id=owner_id,
        due_on=now.date(),
        status=status,
        completed_at=None if done_days_ago is None else now - timedelta(days=done_days_ago),
    )
    session.add(action)
    session.flush()
    return action


def _actions(db, org, titles_done: list[str], planned: str, old: str | None = None) -> None:
    with db.session() as session:
        owner = create_user(session, "owner@example.com", "Olga Owner", Role.HR)
        last = session.exec(select(Round)).first()
        for days, title in enumerate(titles_done, start=1):
            action = _action(session, org.functions[0], last.id, owner.id, title, ActionStatus.DONE, days)
            session.add(ActionPlanTeam(action_id=action.id, team_id=org.teams[0]))
        _action(session, org.functions[0], last.id, owner.id, planned, ActionStatus.PLANNED)
        if old:
            _action(session, org.functions[1], last.id, owner.id, old, ActionStatus.DONE, 200)
        session.commit()


def test_you_said_we_did_shows_done_actions_titles_not_planned_ones_nor_teams(client, db, org, open_round):
    _actions(db, org, ["New tills in every store"], "Faster laptops next year", old="An action of long ago")
    email = next(iter(open_round.links))
    first = open_survey(client, open_round.path(email))
    section = first.text.split('<section class="we-did"')[1].split("</section>")[0]
    assert "You said, we did" in section and "IT Service Desk" in section
    assert "New tills in every store" in section and "Done" in section
    assert "Faster laptops next year" not in first.text
    assert "An action of long ago" not in first.text  # completed before the 120 days looked back on
    with db.session() as session:
        team_names = [u.name for u in session.exec(select(Unit).where(Unit.kind == "front_line"))]
    assert not any(name in section for name in team_names)
    assert "Olga Owner" not in section and "Secret plan" not in section
    thanks = submit_survey(client, first.text, employee_answers(db, open_round.id))
    assert thanks.status_code == 303
    page = client.get(thanks.headers["location"]).text
    assert "New tills in every store" in page.split('<section class="we-did"')[1]


def test_a_function_with_many_done_actions_shows_three_and_counts_the_rest(client, db, org, open_round):
    _actions(db, org, [f"Improvement number {n}" for n in range(1, 6)], "Planned")
    first = open_survey(client, open_round.path(next(iter(open_round.links)))).text
    section = first.split('<section class="we-did"')[1].split("</section>")[0]
    assert [f"Improvement number {n}" in section for n in range(1, 6)] == [True, True, True, False, False]
    assert "and 2 more" in section


def test_only_actions_done_since_the_previous_round_closed_are_shown(client, db, org):
    with db.session() as session:
        previous = start_round(db, "2026 Q3", status="scheduled")
        earlier = session.get(Round, previous.id)
        earlier.opens_at = datetime.now(UTC) - timedelta(days=100)
        earlier.closes_at = datetime.now(UTC) - timedelta(days=10)
        earlier.status = "closed"
        session.add(earlier)
        session.commit()
    survey = start_round(db, "2026 Q4")
    _actions(db, org, ["Done last week"], "Planned", old="Done before the last round closed")
    with (
        db.session() as session
    ):  # the old one 20 days ago: inside 120 days, but before the last round closed
        old = session.exec(
            select(ActionPlan).where(ActionPlan.title == "Done before the last round closed")
        ).one()
        old.completed_at = datetime.now(UTC) - timedelta(days=20)
        session.add(old)
        session.commit()
    email = next(e for e in survey.links)
    page = open_survey(client, survey.path(email)).text
    assert "Done last week" in page and "Done before the last round closed" not in page
