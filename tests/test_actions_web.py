"""Action plans on the web: every route of actions and requests walked as each kind of reader, with the answer
each must get; planning an action from a function's dashboard, prefilled; a request accepted and answered."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from litestar.testing import TestClient
from sqlmodel import select

from conftest import BASE_URL, start_round
from helpers import PASSWORD, csrf_from, log_in
from survey.accounts.users import create_user
from survey.actions import store
from survey.actions.rules import ActionFields
from survey.db.models import ActionPlan, ActionPlanTeam, ActionRequest, Role, Unit, User

ROLES = ("hr", "executive", "function_head", "other_function_head", "team_head", "other_team_head", "nobody")


@pytest.fixture
def world(db, org, people):
    """SF1's action for FL1 and FL3, FL1's request to SF1; a head of SF1 and one of SF2."""
    with db.session() as session:
        create_user(session, "fhead@example.com", "Fay Function", Role.HEAD, ["SF1"], password=PASSWORD)
        create_user(session, "fhead2@example.com", "Finn Function", Role.HEAD, ["SF2"], password=PASSWORD)
    a_round = start_round(db)
    with db.session() as session:
        units = {u.code: u.id for u in session.exec(select(Unit))}
        users = {u.email: u for u in session.exec(select(User))}
    accounts = {
        "hr": people.hr,
        "executive": people.executive,
        "function_head": "fhead@example.com",
        "other_function_head": "fhead2@example.com",
        "team_head": people.head_fl1,
        "other_team_head": people.head_fl2,
    }
    world = {"units": units, "users": users, "round": a_round.id, "accounts": accounts}
    world["action"] = new_action(db, world)
    world["request"] = new_request(db, world)
    return world


def hr_reader(db):
    with db.session() as session:
        return store.reader_for(session, session.exec(select(User).where(User.role == Role.HR)).first())


def new_action(db, world, teams=("FL1", "FL3")) -> int:
    now = datetime.now(UTC)
    with db.session() as session:
        action = store.create_action(
            session,
            hr_reader(db),
            function_id=world["units"]["SF1"],
            round_id=world["round"],
            source="hotspot",
            fields=ActionFields(
                "Replace broken tills within a day",
                "Spare tills in each region",
                "reliability",
                now.date() + timedelta(days=30),
                [world["units"][t] for t in teams],
            ),
            owner_id=world["users"]["fhead@example.com"].id,
            now=now,
        )
        return action.id


def new_request(db, world) -> int:
    with db.session() as session:
        head = session.exec(select(User).where(User.email == "head1@example.com")).one()
        request = store.raise_request(
            session,
            store.reader_for(session, head),
            team_id=world["units"]["FL1"],
            function_id=world["units"]["SF1"],
            dimension="tangibles",
            text="Our card readers fail every Saturday",
            now=datetime.now(UTC),
        )
        return request.id


def client_as(app, email: str | None) -> TestClient:
    client = TestClient(app, base_url=BASE_URL)
    client.__enter__()
    if email:
        assert log_in(client, email).status_code == 303
    return client


def _send(client, method, path, data):
    if method == "GET":
        return client.get(path, follow_redirects=False)
    page = client.get("/my", follow_redirects=False)
    token = csrf_from(page.text) if page.status_code == 200 else ""
    return client.post(path, data={**data, "_csrf_token": token}, follow_redirects=False)


# (method, path, form, expected status per role in ROLES order). Paths name the world's objects by key.
DUE = (date.today() + timedelta(days=20)).isoformat()
NEW_ACTION = {
    "title": "Stock check each Monday",
    "dimension": "reliability",
    "due_on": DUE,
    "source": "other",
}
TABLE = [
    ("GET", "/actions/{action}", {}, (200, 200, 200, 404, 200, 404, 303)),
    ("GET", "/actions/{action}/edit", {}, (200, 403, 200, 404, 403, 404, 303)),
    ("POST", "/actions/{fresh_action}/notes", {"text": "Tills ordered"}, (303, 403, 303, 404, 403, 404, 401)),
    ("POST", "/actions/{fresh_action}/edit", {"title": "x"}, (400, 403, 400, 404, 403, 404, 401)),
    ("GET", "/units/{SF1}/actions", {}, (200, 200, 200, 404, 404, 404, 303)),
    ("GET", "/units/{SF1}/actions/new", {}, (200, 403, 200, 404, 404, 404, 303)),
    ("POST", "/units/{SF1}/actions", NEW_ACTION, (303, 403, 303, 404, 404, 404, 401)),
    ("GET", "/units/{FL1}/requests", {}, (200, 200, 404, 404, 200, 404, 303)),
    (
        "POST",
        "/units/{FL1}/requests",
        {"function": "{SF2}", "text": "More vans"},
        (303, 403, 404, 404, 303, 404, 401),
    ),
    (
        "POST",
        "/requests/{fresh_request}/answer",
        {"answer": "Done next week"},
        (303, 403, 303, 404, 403, 404, 401),
    ),
    (
        "POST",
        "/requests/{fresh_request}/accept",
        {"title": "New readers", "due_on": DUE},
        (303, 403, 303, 404, 403, 404, 401),
    ),
    ("GET", "/actions", {}, (200, 200, 403, 403, 403, 403, 303)),
    ("GET", "/admin/actions", {}, (200, 403, 403, 403, 403, 403, 303)),
]


def _fill(text: str, world, db) -> str:
    keys = {**world["units"], "action": world["action"], "request": world["request"]}
    if "{fresh_action}" in text:
        keys["fresh_action"] = new_action(db, world)
    if "{fresh_request}" in text:
        keys["fresh_request"] = new_request(db, world)
    return text.format(**keys)


def test_every_action_route_answers_each_reader_as_it_should(app, db, world):
    found, expected = {}, {}
    for role in ROLES:
        client = client_as(app, world["accounts"].get(role))
        try:
            for method, path, form, statuses in TABLE:
                data = {k: _fill(v, world, db) for k, v in form.items()}
                if method == "POST" and "owner" not in data and role != "nobody":
                    data["owner"] = str(world["users"]["fhead@example.com"].id)
                if path == "/units/{SF1}/actions" and method == "POST":
                    data["round"], data["team"] = str(world["round"]), str(world["units"]["FL2"])
                concrete = _fill(path, world, db)
                response = (
                    _send(client, method, concrete, data)
                    if role != "nobody"
                    else (client.request(method, concrete, data=data, follow_redirects=False))
                )
                found[(role, method, path)] = response.status_code
                expected[(role, method, path)] = statuses[ROLES.index(role)]
        finally:
            client.__exit__(None, None, None)
    wrong = {key: (found[key], expected[key]) for key in found if found[key] != expected[key]}
    assert not wrong, wrong


def test_a_team_head_sees_the_other_targeted_teams_only_as_a_count(app, db, world):
    client = client_as(app, world["accounts"]["team_head"])
    page = client.get(f"/actions/{world['action']}").text
    assert "Store 1 and 1 other team" in page
    assert "Store 3" not in page
    assert "Add a note" not in page
    function_head = client_as(app, "fhead@example.com")
    assert "Store 1, Store 3" in function_head.get(f"/actions/{world['action']}").text


def test_a_note_moves_the_status_and_done_sets_the_completion_date(app, db, world):
    client = client_as(app, "fhead@example.com")
    page = f"/actions/{world['action']}"
    token = csrf_from(client.get(page).text)
    refused = client.post(f"{page}/notes", data={"text": "", "status": "done", "_csrf_token": token})
    assert refused.status_code == 400 and "a planned action can move to under way, dropped" in refused.text
    for status in ("under_way", "done"):
        sent = client.post(
            f"{page}/notes", data={"text": f"now {status}", "status": status, "_csrf_token": token}
        )
        assert sent.status_code in (200, 303), sent.text
    with db.session() as session:
        action = session.get(ActionPlan, world["action"])
        assert action.status == "done" and action.completed_at is not None
    client.post(
        f"{page}/notes", data={"text": "a till broke again", "status": "under_way", "_csrf_token": token}
    )
    with db.session() as session:
        assert session.get(ActionPlan, world["action"]).completed_at is None
    shown = client.get(page).text
    assert shown.index("a till broke again") < shown.index("now done") < shown.index("now under_way")


def test_a_bad_action_form_names_every_wrong_field_and_saves_nothing(app, db, world):
    client = client_as(app, "fhead@example.com")
    path = f"/units/{world['units']['SF1']}/actions"
    token = csrf_from(client.get(f"{path}/new").text)
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    response = client.post(
        path,
        data={
            "title": "Fix",
            "dimension": "speed",
            "due_on": yesterday,
            "round": str(world["round"]),
            "source": "other",
            "_csrf_token": token,
        },
    )
    assert response.status_code == 400
    for words in ("Title:", "5 to 200 characters", "Part of the service:", "Due date:", "Teams:"):
        assert words in response.text, words
    with db.session() as session:
        assert len(session.exec(select(ActionPlan)).all()) == 1


def test_a_request_accepted_becomes_an_action_for_its_team(app, db, world):
    client = client_as(app, "fhead@example.com")
    listing = client.get(f"/units/{world['units']['SF1']}/actions").text
    assert "Our card readers fail every Saturday" in listing
    token = csrf_from(listing)
    accepted = client.post(
        f"/requests/{world['request']}/accept",
        data={
            "title": "New card readers at Store 1",
            "due_on": DUE,
            "_csrf_token": token,
            "owner": str(world["users"]["fhead@example.com"].id),
        },
        follow_redirects=False,
    )
    assert accepted.status_code == 303
    with db.session() as session:
        request = session.get(ActionRequest, world["request"])
        assert request.state == "accepted" and request.action_id is not None
        action = session.get(ActionPlan, request.action_id)
        assert (action.source, action.dimension, action.function_id) == (
            "request",
            "tangibles",
            world["units"]["SF1"],
        )
        teams = session.exec(
            select(ActionPlanTeam.team_id).where(ActionPlanTeam.action_id == action.id)
        ).all()
        assert teams == [world["units"]["FL1"]]
    again = client.post(
        f"/requests/{world['request']}/answer", data={"answer": "twice", "_csrf_token": token}
    )
    assert again.status_code == 409
    team_head = client_as(app, world["accounts"]["team_head"])
    mine = team_head.get(f"/units/{world['units']['FL1']}/requests").text
    assert "Accepted" in mine and f"/actions/{action.id}" in mine


def test_a_request_answered_shows_the_answer_to_its_team_head(app, db, world):
    client = client_as(app, "fhead@example.com")
    token = csrf_from(client.get(f"/units/{world['units']['SF1']}/actions").text)
    client.post(
        f"/requests/{world['request']}/answer",
        data={"answer": "Readers are replaced in March", "_csrf_token": token},
    )
    team_head = client_as(app, world["accounts"]["team_head"])
    assert "Readers are replaced in March" in team_head.get(f"/units/{world['units']['FL1']}/requests").text
    other = client_as(app, world["accounts"]["other_team_head"])
    assert other.get(f"/units/{world['units']['FL1']}/requests").status_code == 404


def test_unit_pages_link_to_the_actions_and_the_requests(app, world):
    team_head = client_as(app, world["accounts"]["team_head"])
    assert (
        f'href="/units/{world["units"]["FL1"]}/requests"'
        in team_head.get(f"/units/{world['units']['FL1']}").text
    )
    function_head = client_as(app, "fhead@example.com")
    assert (
        f'href="/units/{world["units"]["SF1"]}/actions"'
        in function_head.get(f"/units/{world['units']['SF1']}").text
    )
    executive = client_as(app, world["accounts"]["executive"])
    assert 'href="/actions"' in executive.get("/my").text
