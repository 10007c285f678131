"""HR changes which employee questionnaire a round asks until it opens (a scheduled quarter that should ask the
full questionnaire, say), from the round's page, the API or the command line; once the round opens its
questionnaire is fixed, since people may have answered it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from conftest import start_round
from helpers import log_in, post_form
from survey.accounts.api_tokens import API_SCOPES, create_api_token
from survey.db.models import Instrument, Round, RoundStatus, SurveyKind
from survey.rounds.lifecycle import advance_round
from survey.surveys.intake import Intake


def versions(db) -> dict[int, int]:
    """The employee questionnaire versions there are -> their instrument ids."""
    with db.session() as session:
        return {
            i.version: i.id
            for i in session.exec(select(Instrument).where(Instrument.kind == SurveyKind.INTERNAL))
        }


def asked(db, round_id: int) -> int:
    with db.session() as session:
        instrument_id = session.get(Round, round_id).internal_instrument_id
        return session.get(Instrument, instrument_id).version


def open_it(db, round_id: int) -> None:
    with db.session() as session:
        advance_round(session, session.get(Round, round_id), RoundStatus.OPEN)


def test_hr_switches_a_scheduled_round_to_the_full_questionnaire_and_employees_get_it(client, db, people):
    full, short = 1, max(versions(db))
    planned = start_round(db, "2027 Q1", RoundStatus.SCHEDULED)
    assert asked(db, planned.id) == short
    assert log_in(client, people.hr).status_code == 303
    page = client.get(f"/admin/rounds/{planned.id}")
    assert f"Version {short}:" in page.text and "Use this questionnaire" in page.text

    changed = post_form(
        client,
        f"/admin/rounds/{planned.id}",
        f"/admin/rounds/{planned.id}/questionnaire",
        {"questionnaire": str(full)},
        follow_redirects=False,
    )
    assert changed.status_code == 303 and asked(db, planned.id) == full
    open_it(db, planned.id)
    items = len(Intake(db).sections(planned.id, "en")[0].questions)
    assert items > 6  # the full questionnaire's items, not the short one's six
    assert "Use this questionnaire" not in client.get(f"/admin/rounds/{planned.id}").text


def test_once_a_round_opens_its_questionnaire_stays_on_every_channel(client, db, people, run):
    full = 1
    running = start_round(db, "2027 Q1")  # open: people may have answered the short questionnaire
    before = asked(db, running.id)
    assert log_in(client, people.hr).status_code == 303
    refused = post_form(
        client,
        f"/admin/rounds/{running.id}",
        f"/admin/rounds/{running.id}/questionnaire",
        {"questionnaire": str(full)},
    )
    assert refused.status_code == 409 and "can be changed only before it opens" in refused.text

    with db.session() as session:
        _, token = create_api_token(session, "integration", API_SCOPES, None, datetime.now(UTC))
    api = client.post(
        f"/api/rounds/{running.id}/questionnaire",
        json={"internal_instrument_version": full},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert api.status_code == 409 and "only before it opens" in api.json()["detail"]

    cli = run("round", "questionnaire", "2027 Q1", str(full))
    assert cli.exit_code == 2 and "only before it opens" in cli.output
    assert asked(db, running.id) == before


@pytest.mark.parametrize("version", ["99", "one", ""])
def test_a_version_that_does_not_exist_is_refused_naming_those_that_do(client, db, people, version):
    planned = start_round(db, "2027 Q1", RoundStatus.SCHEDULED)
    before = asked(db, planned.id)
    assert log_in(client, people.hr).status_code == 303
    refused = post_form(
        client,
        f"/admin/rounds/{planned.id}",
        f"/admin/rounds/{planned.id}/questionnaire",
        {"questionnaire": version},
    )
    assert refused.status_code == 400
    expected = (
        "the versions are 1, " if version == "99" else "Choose the employee questionnaire from the list"
    )
    assert expected in refused.text
    assert asked(db, planned.id) == before


def test_the_api_and_the_command_line_change_a_scheduled_round(client, db, org, run):
    full = 1
    planned = start_round(db, "2027 Q1", RoundStatus.SCHEDULED)
    with db.session() as session:
        _, token = create_api_token(session, "integration", API_SCOPES, None, datetime.now(UTC))
    headers = {"Authorization": f"Bearer {token}"}
    moved = client.post(
        f"/api/rounds/{planned.id}/questionnaire", json={"internal_instrument_version": full}, headers=headers
    )
    assert moved.status_code == 200 and moved.json()["internal_instrument_version"] == full
    unknown = client.post(
        f"/api/rounds/{planned.id}/questionnaire", json={"internal_instrument_version": 99}, headers=headers
    )
    assert unknown.status_code == 400 and "the versions are" in unknown.json()["detail"]
    missing = client.post(
        "/api/rounds/999999/questionnaire", json={"internal_instrument_version": 1}, headers=headers
    )
    assert missing.status_code == 404

    short = max(versions(db))
    done = run("round", "questionnaire", "2027 Q1", str(short))
    assert done.exit_code == 0 and f"will ask version {short}" in done.output
    assert asked(db, planned.id) == short
    bad = run("round", "questionnaire", "2027 Q1", "0")
    assert bad.exit_code == 2 and "VERSION" in bad.output
