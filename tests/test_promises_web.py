"""A function's promises on its page, the API and the command line: who may read them, who may write them."""

from __future__ import annotations

import re

import pytest

from helpers import PASSWORD, csrf_from, log_in
from survey.accounts.users import create_user
from survey.db.models import Role
from survey.promises import store
from survey.promises.rules import PromiseDraft

TILL = "A broken till is replaced within one working day."


@pytest.fixture
def heads(db, org, people):
    """The head of SF1 (the first support function), beside conftest's people."""
    with db.session() as session:
        create_user(session, "it.head@example.com", "Ida IT", Role.HEAD, ["SF1"], password=PASSWORD)
    return people


def save_form(client, function_id: int, data: dict, follow: bool = False):
    page = client.get(f"/units/{function_id}/promises")
    return client.post(
        f"/units/{function_id}/promises",
        data={**data, "_csrf_token": csrf_from(page.text)},
        follow_redirects=follow,
    )


def test_a_function_head_writes_a_version_and_sees_it_with_its_history(client, db, org, heads):
    log_in(client, "it.head@example.com")
    sf1 = org.functions[0]
    first = save_form(
        client, sf1, {"dimension_1": "reliability", "text_1": TILL, "text_de_1": "Kassen binnen eines Tages."}
    )
    assert first.status_code == 303
    page = save_form(
        client,
        sf1,
        {
            "dimension_1": "responsiveness",
            "text_1": "Calls are answered within two minutes.",
            "dimension_3": "tangibles",
            "text_3": "Every new starter has a laptop on day one.",
        },
        follow=True,
    )
    assert page.status_code == 200
    in_force = page.text.split("In force now")[1].split("Earlier versions")[0]
    assert "Version 2" in in_force and "Calls are answered within two minutes." in in_force
    assert "Quick help when asked" in in_force and TILL not in in_force
    earlier = page.text.split("Earlier versions")[1]
    assert "Version 1" in earlier and TILL in earlier


def test_a_bad_version_is_refused_whole_naming_the_row_and_field(client, db, org, heads):
    log_in(client, "it.head@example.com")
    answer = save_form(
        client,
        org.functions[0],
        {"dimension_1": "reliability", "text_1": TILL, "dimension_4": "speed", "text_4": "Soon"},
    )
    assert answer.status_code == 400
    assert "promise 4, dimension: &#39;speed&#39; is not one of" in answer.text
    assert "promise 4, text: 4 characters; a promise needs at least 10" in answer.text
    assert TILL in answer.text  # what was typed is kept
    with db.session() as session:
        assert store.current(session, org.functions[0]) is None


def test_without_the_forms_token_nothing_is_saved(client, db, org, heads):
    log_in(client, "it.head@example.com")
    answer = client.post(
        f"/units/{org.functions[0]}/promises", data={"dimension_1": "overall", "text_1": TILL}
    )
    assert answer.status_code == 403
    with db.session() as session:
        assert store.current(session, org.functions[0]) is None


def test_who_may_read_and_write_which_functions_promises(client, db, org, heads):
    sf1, sf2 = org.functions
    store.save(db, sf2, [PromiseDraft("overall", "Payslips are right the first time.")])
    cases = [
        # who, unit, GET status, POST status
        ("it.head@example.com", sf1, 200, 303),
        ("it.head@example.com", sf2, 404, 404),  # another function's
        ("it.head@example.com", org.teams[0], 404, 404),  # not a support function
        ("hr@example.com", sf2, 200, 303),
        ("exec@example.com", sf2, 200, 403),
        ("head1@example.com", sf1, 404, 404),  # a team head
        ("region@example.com", sf2, 404, 404),
    ]
    for email, unit, read, write in cases:
        client.cookies.clear()
        log_in(client, email)
        assert client.get(f"/units/{unit}/promises").status_code == read, (email, unit)
        token = csrf_from(client.get("/my").text)
        answer = client.post(
            f"/units/{unit}/promises",
            data={"dimension_1": "overall", "text_1": f"A promise written by {email}.", "_csrf_token": token},
            follow_redirects=False,
        )
        assert answer.status_code == write, (email, unit)
    client.cookies.clear()
    assert client.get(f"/units/{sf1}/promises", follow_redirects=False).status_code in (302, 303, 401)
    with db.session() as session:
        written = {p.text for v in store.history(session, sf2) for p in v.promises}
    assert written == {"Payslips are right the first time.", "A promise written by hr@example.com."}


def test_an_executive_reads_the_promises_without_a_form(client, db, org, heads):
    store.save(db, org.functions[0], [PromiseDraft("reliability", TILL)])
    log_in(client, "exec@example.com")
    page = client.get(f"/units/{org.functions[0]}/promises").text
    assert TILL in page and "Write the next version" not in page and not re.search(r"<textarea", page)


def _token(db, *scopes: str) -> dict[str, str]:
    from datetime import UTC, datetime

    from survey.accounts.api_tokens import create_api_token

    with db.session() as session:
        _, token = create_api_token(session, "promises", list(scopes), None, datetime.now(UTC))
    return {"Authorization": f"Bearer {token}"}


def test_the_api_reads_and_writes_a_functions_promises_with_its_scopes(client, db, org):
    sf1 = org.functions[0]
    reader, writer = _token(db, "promises:read"), _token(db, "promises:write")
    body = {
        "promises": [
            {"dimension": "reliability", "text": TILL, "translations": {"de": "Kassen binnen eines Tages."}}
        ]
    }
    assert client.put(f"/api/functions/{sf1}/promises", json=body, headers=reader).status_code == 403
    written = client.put(f"/api/functions/{sf1}/promises", json=body, headers=writer)
    assert written.status_code == 200 and written.json()["current"]["version"] == 1
    assert client.get(f"/api/functions/{sf1}/promises", headers=writer).status_code == 403
    read = client.get(f"/api/functions/{sf1}/promises", headers=reader).json()
    assert read["function_code"] == "SF1"
    assert read["current"]["promises"] == [
        {"dimension": "reliability", "text": TILL, "translations": {"de": "Kassen binnen eines Tages."}}
    ]
    assert client.get(f"/api/functions/{org.teams[0]}/promises", headers=reader).status_code == 404


def test_the_api_refuses_a_bad_version_with_422_naming_each_promise(client, db, org):
    bad = {"promises": [{"dimension": "reliability", "text": TILL}, {"dimension": "speed", "text": "Soon"}]}
    refused = client.put(
        f"/api/functions/{org.functions[0]}/promises", json=bad, headers=_token(db, "promises:write")
    )
    assert refused.status_code == 422
    assert {(p["promise"], p["field"]) for p in refused.json()["problems"]} == {(2, "dimension"), (2, "text")}
    with db.session() as session:
        assert store.current(session, org.functions[0]) is None


def test_the_command_line_sets_and_shows_promises_from_a_csv(run, db, org, tmp_path):
    sheet = tmp_path / "promises.csv"
    sheet.write_text(
        "dimension,text,text_de\n"
        f"reliability,{TILL},Eine defekte Kasse wird ersetzt.\n"
        "tangibles,Every new starter has a laptop on day one.,\n"
    )
    result = run("promises", "set", "SF1", str(sheet))
    assert result.exit_code == 0, result.output
    shown = run("promises", "show", "SF1").output
    assert (
        "version 1" in shown
        and f"1. [reliability] {TILL}" in shown
        and "de: Eine defekte Kasse wird ersetzt." in shown
    )


def test_the_command_line_refuses_a_bad_file_by_row_and_column(run, db, org, tmp_path):
    sheet = tmp_path / "promises.csv"
    sheet.write_text(f"dimension,text\nreliability,{TILL}\nspeed,Soon\n")
    result = run("promises", "set", "SF1", str(sheet))
    assert result.exit_code == 2
    assert f"{sheet}:3: column dimension: 'speed' is not one of" in result.output
    assert f"{sheet}:3: column text: 4 characters" in result.output
    assert run("promises", "set", "FL1", str(tmp_path / "missing.csv")).exit_code == 2
    with db.session() as session:
        assert store.current(session, org.functions[0]) is None
