"""Action plans on the API (scopes, bodies refused field by field, typed responses in the schema) and on the
command line (`survey actions list|show`, exit 2 on a bad argument)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from conftest import start_round
from helpers import PASSWORD
from survey.accounts.api_tokens import create_api_token
from survey.accounts.users import create_user
from survey.db.models import ActionPlan, Role

DUE = (date.today() + timedelta(days=20)).isoformat()


@pytest.fixture
def api(db, org, people):
    with db.session() as session:
        create_user(session, "fhead@example.com", "Fay Function", Role.HEAD, ["SF1"], password=PASSWORD)
    a_round = start_round(db)
    tokens = {}
    with db.session() as session:
        for name, scopes in (
            ("reader", ["actions:read"]),
            ("writer", ["actions:read", "actions:write"]),
            ("other", ["rounds:read"]),
        ):
            tokens[name] = {
                "Authorization": f"Bearer {create_api_token(session, name, scopes, None, datetime.now(UTC))[1]}"
            }
    return {"round": a_round.id, "tokens": tokens}


def body(api, **changes):
    return {
        "function": "SF1",
        "round_id": api["round"],
        "title": "Replace broken tills within a day",
        "dimension": "reliability",
        "owner": "fhead@example.com",
        "due_on": DUE,
        "teams": ["FL1", "FL2"],
        "source": "hotspot",
        **changes,
    }


def test_actions_need_their_scopes(client, api):
    writer, reader, other = (api["tokens"][k] for k in ("writer", "reader", "other"))
    assert client.get("/api/actions").status_code == 401
    assert client.get("/api/actions", headers=other).status_code == 403
    assert client.post("/api/actions", json=body(api), headers=reader).status_code == 403
    created = client.post("/api/actions", json=body(api), headers=writer)
    assert created.status_code == 201, created.text
    action = created.json()
    assert (action["function_code"], action["team_codes"], action["status"]) == (
        "SF1",
        ["FL1", "FL2"],
        "planned",
    )
    listed = client.get(
        "/api/actions", params={"function": "SF1", "status": "planned"}, headers=reader
    ).json()
    assert [a["id"] for a in listed] == [action["id"]]
    assert client.get("/api/actions", params={"overdue": "true"}, headers=reader).json() == []
    assert client.get("/api/requests", headers=reader).json() == []
    assert client.get("/api/requests", headers=other).status_code == 403


def test_a_code_or_owner_holding_nul_is_refused_by_name_not_a_server_error(client, api):
    """PostgreSQL text cannot hold NUL: a code with one names no unit (422, by field); an owner's e-mail is read as
    e-mails are everywhere, with NUL dropped. Neither is a 500."""
    reader, writer = api["tokens"]["reader"], api["tokens"]["writer"]
    for path in ("/api/requests", "/api/actions"):
        refused = client.get(path, params={"function": "SF\x001"}, headers=reader)
        assert refused.status_code == 422 and "function" in refused.text, (path, refused.text)
    created = client.post(
        "/api/actions",
        json=body(api, owner="fhead\x00@example.com", title="Tills\x00 replaced", description="x\x00y"),
        headers=writer,
    )
    assert created.status_code == 201, created.text
    assert (created.json()["owner_email"], created.json()["title"]) == ("fhead@example.com", "Tills replaced")
    noted = client.post(
        f"/api/actions/{created.json()['id']}/notes",
        json={"text": "Started\x00.", "status": None},
        headers=writer,
    )
    assert noted.status_code == 201 and noted.json()["text"] == "Started.", noted.text


def test_a_bad_body_names_each_wrong_field_and_saves_nothing(client, db, api):
    writer = api["tokens"]["writer"]
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    refused = client.post(
        "/api/actions",
        json=body(api, dimension="speed", due_on=yesterday, teams=["SF2"], owner="exec@example.com"),
        headers=writer,
    )
    assert refused.status_code == 422, refused.text
    detail = refused.json()["detail"]
    for field in ("dimension:", "due_on:", "teams: no front-line team with code SF2"):
        assert field in detail, detail
    assert client.post("/api/actions", json=body(api, title="Fix"), headers=writer).status_code == 400
    wrong_type = client.post("/api/actions", json=body(api, teams="FL1"), headers=writer)
    assert wrong_type.status_code == 400 and "teams" in wrong_type.json()["detail"]
    owner = client.post("/api/actions", json=body(api, owner="exec@example.com"), headers=writer)
    assert (
        owner.status_code == 422
        and "owner: exec@example.com cannot see this function" in owner.json()["detail"]
    )
    with db.session() as session:
        assert session.exec(select(ActionPlan)).all() == []


def test_notes_move_the_status_through_the_api(client, api):
    writer = api["tokens"]["writer"]
    action = client.post("/api/actions", json=body(api), headers=writer).json()
    path = f"/api/actions/{action['id']}"
    skipped = client.post(f"{path}/notes", json={"status": "done"}, headers=writer)
    assert skipped.status_code == 422 and "status:" in skipped.json()["detail"]
    assert (
        client.post(
            f"{path}/notes", json={"status": "under_way", "text": "ordered"}, headers=writer
        ).status_code
        == 201
    )
    changed = client.patch(
        path,
        json={"due_on": (date.today() + timedelta(days=40)).isoformat(), "teams": ["FL3"]},
        headers=writer,
    )
    assert changed.status_code == 200 and changed.json()["team_codes"] == ["FL3"]
    read = client.get(path, headers=api["tokens"]["reader"]).json()
    assert read["status"] == "under_way" and read["notes"][0]["text"] == "ordered"
    assert client.get("/api/actions/999999", headers=writer).status_code == 404


def test_the_schema_describes_the_actions_shapes(client):
    schema = client.get("/schema/openapi.json").json()
    assert {
        "/api/actions",
        "/api/actions/{action_id}",
        "/api/actions/{action_id}/notes",
        "/api/requests",
    } <= set(schema["paths"])
    assert {"ActionOut", "NewAction", "ActionChange", "NewNote", "RequestOut"} <= set(
        schema["components"]["schemas"]
    )


def test_the_command_line_lists_and_shows_actions(run, client, api):
    client.post("/api/actions", json=body(api), headers=api["tokens"]["writer"])
    listed = run("actions", "list", "--function", "SF1")
    assert listed.exit_code == 0, listed.output
    assert "Replace broken tills within a day" in listed.output and "planned" in listed.output
    shown = run("actions", "show", "1")
    assert shown.exit_code == 0 and "Store 1, Store 2" in shown.output and "fhead@example.com" in shown.output
    for args, named in (
        (("actions", "list", "--status", "finished"), "--status"),
        (("actions", "list", "--function", "NOPE"), "--function"),
        (("actions", "list", "--round", "x"), "--round"),
        (("actions", "show", "999"), "ACTION"),
    ):
        result = run(*args)
        assert result.exit_code == 2, (args, result.output)
        assert named in result.output, (args, result.output)
