"""HR uses the `survey` command before the admin pages exist: rounds, invitations, migrations, the server."""

from __future__ import annotations

import csv
import io
import json
import re
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
def test_linkage_json_is_the_apis_document_byte_for_byte(run, db, settings, client, outcome):
    from helpers import compute_results
    from survey.demo.build import simulate_into
    from survey.demo.simulation import OrgShape

    shape = OrgShape(functions=3, teams=12, staff_per_team=8, customers_per_team=25, rounds=3, regions=2)
    simulate_into(db, shape, seed=6)
    with db.session() as session:
        last = session.exec(select(Round).order_by(Round.opens_at.desc())).first()
    query = f"?outcome={outcome}" if outcome else ""
    token = _results_token(db, "results:read")
    api = client.get(f"/api/rounds/{last.id}/linkage{query}", headers=token)
    assert api.status_code == 409  # not computed yet: both refuse, with the same reason
    printed = run("linkage", last.name, "--json", *(["--outcome", outcome] if outcome else []))
    assert printed.exit_code == 2 and api.json()["detail"] in printed.output and printed.stdout == ""
    compute_results(db, settings, last.id)  # as the scheduler does after the close
    api = client.get(f"/api/rounds/{last.id}/linkage{query}", headers=token)
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


def _api_routes(app) -> list[tuple[str, str, str]]:
    """(method, path, scope) of every /api route, any id in its path one that does not exist."""
    from litestar.routes import HTTPRoute

    found = []
    for route in app.routes:
        if isinstance(route, HTTPRoute) and route.path.startswith("/api"):
            path = re.sub(r"{\w+(:\w+)?}", "999", route.path)
            for handler in route.route_handlers:
                if "scope" in handler.opt:  # not the OPTIONS answers Litestar adds
                    found += [(method, path, handler.opt["scope"]) for method in handler.http_methods]
    return found


def test_a_token_made_on_the_command_line_is_shown_once_and_has_exactly_its_scopes(
    run, db, app, client, people
):
    from helpers import log_in
    from survey.accounts.api_tokens import API_SCOPES
    from survey.db.models import ApiToken, User

    made = run(
        "token", "create", "Payroll sync", "--owner", "HR@Example.com", "--scope", "rounds:read",
        "--scope", "roster:read,results:read",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip()
    assert made.stdout == secret + "\n" and secret.startswith("svy_") and secret not in made.stderr
    assert "'Payroll sync' (results:read roster:read rounds:read) made by hr@example.com" in made.stderr

    chosen = {"rounds:read", "roster:read", "results:read"}
    headers = {"Authorization": f"Bearer {secret}"}
    routes = _api_routes(app)
    # Every scope guards a route, but accounts:write, which a roster upload naming heads checks itself.
    assert {scope for _, _, scope in routes} | {"accounts:write"} == set(API_SCOPES)
    for method, path, scope in routes:
        answer = client.request(method, path, headers=headers)
        assert (answer.status_code == 403) == (scope not in chosen), (method, path, answer.text)
    assert client.get("/api/units", headers=headers).status_code == 200

    with db.session() as session:
        row = session.exec(select(ApiToken)).one()
        hr = session.exec(select(User).where(User.email == people.hr)).one()
    assert row.created_by_id == hr.id and row.token_hash == token_hash(secret)
    assert secret not in repr(row)  # only its hash is kept
    log_in(client, people.hr)
    listed = client.get("/admin/tokens").text
    assert "Payroll sync" in listed and "results:read roster:read rounds:read" in listed
    assert secret not in listed and secret[4:] not in listed


def _token(name: str = "Sync", owner: str = "hr@example.com", scope: str = "rounds:read") -> list[str]:
    return ["token", "create", name, "--owner", owner, "--scope", scope]


ONLY_HR = "only an active HR account creates API tokens"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (_token(owner="nobody@example.com"), "no account 'nobody@example.com'"),
        (_token(owner="head1@example.com"), f"head1@example.com is a department head's account: {ONLY_HR}"),
        (_token(owner="exec@example.com"), f"exec@example.com is an executive's account: {ONLY_HR}"),
        (_token(owner="former@example.com"), f"former@example.com is deactivated: {ONLY_HR}"),
        (_token(scope="rounds:delete"), "unknown scope rounds:delete; known: roster:read, roster:write"),
        (_token(scope=" , "), "a token needs at least one scope"),
        (_token(name=" "), "a token needs a name of 1 to 100 characters"),
        (_token(name="x" * 101), "a token needs a name of 1 to 100 characters"),
        (_token()[:-2], "Missing option '--scope'"),
        (_token()[:3] + _token()[-2:], "Missing option '--owner'"),
    ],
)
def test_a_bad_token_argument_exits_2_saying_what_is_wrong_and_makes_no_token(run, db, people, args, message):
    from survey.accounts.users import create_user, deactivate_user
    from survey.db.models import ApiToken, Role

    with db.session() as session:
        deactivate_user(session, create_user(session, "former@example.com", "Former HR", Role.HR))
    refused = run(*args)
    assert refused.exit_code == 2 and message in refused.output, refused.output
    assert "svy_" not in refused.output
    with db.session() as session:
        assert session.exec(select(ApiToken)).all() == []
