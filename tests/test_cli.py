"""HR uses the `survey` command before the admin pages exist: rounds, invitations, migrations, the server."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlmodel import select

from conftest import NEXT_YEAR
from survey.cli import main
from survey.db.models import Invitation, OutboxMessage, Round, RoundAction, RoundStatus, RoundUnit
from survey.tokens import token_hash


def day(from_today: int) -> str:
    """A date as `--opens` and `--closes` take it, counted in days from today (UTC)."""
    return (datetime.now(UTC).date() + timedelta(days=from_today)).isoformat()


def test_a_round_is_created_opened_and_closed(run, db, org):
    created = run("round", "create", "2027 Q1", "--opens", f"{NEXT_YEAR}-01-04", "--days", "14")
    assert created.exit_code == 0, created.output
    assert f"{NEXT_YEAR}-01-04 to {NEXT_YEAR}-01-18" in created.output
    assert run("round", "open", "2027 Q1").exit_code == 0
    closed = run("round", "close", "2027 Q1")
    assert closed.exit_code == 0 and "is closed: 18 invited, 0 answered" in closed.output
    assert run("round", "publish", "2027 Q1").exit_code == 0
    with db.session() as session:
        assert session.exec(select(Round)).one().status == RoundStatus.PUBLISHED
        assert len(session.exec(select(OutboxMessage)).all()) == 18  # opening invited and queued their mails


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["round", "create", "Q", "--opens", "2027-13-01"], "'2027-13-01' does not match the format"),
        (
            ["round", "create", "Q", "--opens", f"{NEXT_YEAR}-01-10", "--closes", f"{NEXT_YEAR}-01-03"],
            "must close after it opens",
        ),
        (
            ["round", "create", "Q", "--opens", f"{NEXT_YEAR}-01-04", "--unit", "NOPE"],
            "no support function or front-line team with code NOPE",
        ),
        (["round", "create", "Q", "--opens", f"{NEXT_YEAR}-01-04", "--days", "0"], "--days"),
        (["round", "open", "no such round"], "no round 'no such round'"),
        (["invitations", "issue", "42"], "no round '42'"),
        (
            ["round", "create", "Q", "--opens", f"{NEXT_YEAR}-01-04", "--unit", "SF1"],
            "at least one support function and one front-line team",
        ),
    ],
)
def test_bad_arguments_exit_2_and_say_what_is_wrong(run, org, args, message):
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("window", "closes"),
    [
        (["--opens", day(-30), "--days", "14"], day(-16)),
        (["--opens", day(-30), "--closes", day(-1)], day(-1)),
        (["--opens", day(-14)], day(0)),  # 14 days by default: it closed at 00:00 UTC today
    ],
)
def test_a_round_that_could_never_open_is_refused_with_opens_reason_and_nothing_written(
    run, db, org, window, closes
):
    refused = run("round", "create", "Late", *window)
    assert refused.exit_code == 2, refused.output
    assert f"round 'Late' was due to close {closes} 00:00 UTC; it cannot open" in refused.output
    with db.session() as session:
        for table in (Round, RoundUnit, RoundAction, Invitation):
            assert session.exec(select(table)).all() == [], table
    assert "no round 'Late'" in run("invitations", "issue", "Late").output  # no links for it either


def test_round_create_open_and_invitations_refuse_a_round_past_its_close_for_one_reason(run, db, org):
    from survey.rounds.lifecycle import create_round

    opens = datetime.now(UTC) - timedelta(days=30)
    reason = f"round 'Late' was due to close {opens + timedelta(days=14):%Y-%m-%d %H:%M} UTC; it cannot open"
    with db.session() as session:  # made in time, then nobody opened it before its close
        create_round(session, "Late", opens, opens + timedelta(days=14), now=opens - timedelta(days=7))
    for command in (["round", "open", "Late"], ["invitations", "issue", "Late"]):
        refused = run(*command)
        assert refused.exit_code == 2 and reason in refused.output, command
    with db.session() as session:
        assert session.exec(select(Invitation)).all() == []
        assert session.exec(select(Round)).one().status == RoundStatus.SCHEDULED


def test_a_round_that_opens_today_is_created_and_opened(run, org):
    assert run("round", "create", "Now", "--opens", day(0), "--days", "1").exit_code == 0
    opened = run("round", "open", "Now")
    assert opened.exit_code == 0 and "is open: 18 invited" in opened.output


def test_a_round_cannot_skip_or_repeat_a_step(run, org):
    run("round", "create", "2027 Q1", "--opens", f"{NEXT_YEAR}-01-04")
    result = run("round", "close", "2027 Q1")
    assert result.exit_code == 2 and "is scheduled; it cannot become closed" in result.output
    assert run("round", "create", "2027 Q1", "--opens", f"{NEXT_YEAR}-04-05").exit_code == 2


def test_invitations_print_each_link_once_and_store_only_hashes(run, db, org):
    run("round", "create", "2027 Q1", "--opens", f"{NEXT_YEAR}-01-04")
    first = run("invitations", "issue", "2027 Q1")
    assert first.exit_code == 0, first.output
    rows = list(csv.reader(io.StringIO(first.stdout)))
    assert rows[0] == ["email", "link"]
    links = dict(rows[1:])
    assert len(links) == 3 * 6  # every front-line employee; support functions are rated, not invited
    assert all(link.startswith("https://survey.example.org/i/") for link in links.values())
    tokens = {link.rsplit("/", 1)[1] for link in links.values()}
    assert min(len(t) for t in tokens) >= 43  # 256 bits, url-safe
    with db.session() as session:
        stored = {i.token_hash for i in session.exec(select(Invitation))}
    assert stored == {token_hash(t) for t in tokens}

    second = run("invitations", "issue", "2027 Q1")
    assert second.exit_code == 0 and list(csv.reader(io.StringIO(second.stdout))) == [["email", "link"]]


def test_invitations_can_go_to_a_file(run, org, tmp_path):
    run("round", "create", "2027 Q1", "--opens", f"{NEXT_YEAR}-01-04")
    target = tmp_path / "links.csv"
    assert run("invitations", "issue", "2027 Q1", "-o", str(target)).exit_code == 0
    assert target.read_text().count("https://survey.example.org/i/") == 18


def test_serve_on_an_unmigrated_database_says_what_to_run(tmp_path):
    result = CliRunner().invoke(
        main,
        ["serve"],
        env={"SURVEY_DATABASE_URL": f"sqlite:///{tmp_path}/new.db", "SURVEY_SECRET_KEY": "k" * 32},
    )
    assert result.exit_code == 2
    assert "has no survey tables yet" in result.output and "survey db upgrade" in result.output


def test_db_upgrade_then_serve_checks_pass(tmp_path):
    env = {"SURVEY_DATABASE_URL": f"sqlite:///{tmp_path}/new.db"}
    assert CliRunner().invoke(main, ["db", "upgrade"], env=env).exit_code == 0
    result = CliRunner().invoke(main, ["round", "open", "x"], env=env)
    assert result.exit_code == 2 and "no round 'x'" in result.output  # migrated: the command got to the round


def test_serve_needs_a_secret_key(database_url):
    result = CliRunner().invoke(
        main, ["serve"], env={"SURVEY_DATABASE_URL": database_url, "SURVEY_SECRET_KEY": ""}
    )
    assert result.exit_code == 2 and "SURVEY_SECRET_KEY is not set" in result.output


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SURVEY_MIN_GROUP_SIZE", "2", "SURVEY_MIN_GROUP_SIZE: must be at least 3"),
        ("SURVEY_MIN_GROUP_SIZE", "five", "expected a whole number"),
        ("SURVEY_COOKIE_SECURE", "maybe", "SURVEY_COOKIE_SECURE: expected true or false"),
        ("SURVEY_DATABASE_URL", "mysql://x", "SURVEY_DATABASE_URL: expected sqlite"),
        ("SURVEY_BASE_URL", "survey.example.org", "SURVEY_BASE_URL: expected an http(s) URL"),
    ],
)
def test_bad_settings_exit_2_naming_the_variable(variable, value, message):
    result = CliRunner().invoke(main, ["round", "open", "x"], env={variable: value})
    assert result.exit_code == 2 and message in result.output


def _results_token(db, *scopes: str) -> dict[str, str]:
    from survey.accounts.api_tokens import create_api_token

    with db.session() as session:
        _, token = create_api_token(session, "results", scopes, None, datetime.now(UTC))
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("outcome", [None, "nps"])
def test_linkage_json_is_the_apis_document_byte_for_byte(run, db, client, outcome):
    from survey.demo.build import simulate_into
    from survey.demo.simulation import OrgShape

    shape = OrgShape(functions=3, teams=12, staff_per_team=8, customers_per_team=25, rounds=3, regions=2)
    simulate_into(db, shape, seed=6)
    with db.session() as session:
        last = session.exec(select(Round).order_by(Round.opens_at.desc())).first()
    query = f"?outcome={outcome}" if outcome else ""
    api = client.get(f"/api/rounds/{last.id}/linkage{query}", headers=_results_token(db, "results:read"))
    assert api.status_code == 200, api.text
    printed = run("linkage", last.name, "--json", *(["--outcome", outcome] if outcome else []))
    assert printed.exit_code == 0, printed.output
    assert printed.stdout == api.text + "\n"
    document = json.loads(printed.stdout)
    assert document["round"]["name"] == last.name
    assert document["outcome"]["measure"] == (outcome or "csat_pct")


def test_linkage_of_an_open_round_is_refused_with_the_apis_reason(run, db, client, open_round):
    api = client.get(f"/api/rounds/{open_round.id}/linkage", headers=_results_token(db, "results:read"))
    assert api.status_code == 409
    printed = run("linkage", open_round.name, "--json")
    assert printed.exit_code == 2 and api.json()["detail"] in printed.output and printed.stdout == ""
