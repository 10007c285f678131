"""Anonymity at rest, checked as an attacker with the whole database would: nothing in the response tables,
their columns or their storage order leads back to a person or to the time they answered."""

from __future__ import annotations

import re

from sqlalchemy import inspect, text
from sqlmodel import select

from helpers import employee_answers, open_survey, submit_survey
from survey.models import Invitation

RESPONSE_TABLES = {
    "internal_response": {"id", "round_id", "team_id"},
    "internal_review": {"response_id", "function_id", "used", "answers", "comment"},
    "external_response": {"id", "round_id", "team_id", "answers", "comment"},
}
IDENTIFYING = re.compile(
    r"person|employee|invit|token|session|email|ip|agent|time|date|created|_at$|seq", re.I
)


def test_response_tables_have_no_identifying_or_time_columns(db):
    inspector = inspect(db.engine)
    for table, expected in RESPONSE_TABLES.items():
        columns = {c["name"] for c in inspector.get_columns(table)}
        assert columns == expected, table
        assert not [c for c in columns if IDENTIFYING.search(c)], table
        for foreign_key in inspector.get_foreign_keys(table):
            assert foreign_key["referred_table"] not in {"invitation", "employee"}, table
        for column in inspector.get_columns(table):
            assert "time" not in str(column["type"]).lower() and "date" not in str(column["type"]).lower()
    invitation_columns = {c["name"] for c in inspector.get_columns("invitation")}
    assert not invitation_columns & {"response_id", "answered_at", "submitted_at"}


def answer_all(client, db, open_round, count: int):
    emails = sorted(open_round.links)[:count]
    for email in emails:
        client.cookies.clear()
        form = open_survey(client, open_round.path(email))
        sent = submit_survey(client, form.text, employee_answers(db, open_round.id))
        assert sent.headers.get("location") == "/survey/thanks", (sent.status_code, sent.text[:300])
    return emails


def test_stored_ids_are_random_not_sequential_and_storage_order_is_not_arrival_order(client, db, open_round):
    answer_all(client, db, open_round, 8)
    with db.engine.connect() as connection:
        ids = [r[0] for r in connection.execute(text("SELECT id FROM internal_response"))]
        review_keys = connection.execute(text("SELECT response_id, function_id FROM internal_review")).all()
        if db.is_sqlite:
            # The id *is* the rowid: no hidden sequential rowid is left to order the rows by arrival.
            for table in ("internal_response", "external_response"):
                pairs = connection.execute(text(f"SELECT rowid, id FROM {table}")).all()
                assert all(rowid == id_ for rowid, id_ in pairs), table
            for table in ("internal_review", "customer_form_key"):  # keyed by random values, no rowid at all
                schema = text(f"SELECT sql FROM sqlite_master WHERE name = '{table}'")
                assert "WITHOUT ROWID" in connection.execute(schema).scalar().upper(), table
    assert len(ids) == 8 and len(set(ids)) == 8
    assert min(ids) > 2**32  # drawn from 63 bits, not counted from 1
    gaps = {b - a for a, b in zip(sorted(ids), sorted(ids)[1:])}
    assert len(gaps) == len(ids) - 1 and min(gaps) > 1000
    assert {response for response, _ in review_keys} == set(ids) and len(review_keys) == 16


def test_the_invitation_keeps_only_a_hash_and_an_answered_flag(client, db, open_round):
    email = answer_all(client, db, open_round, 1)[0]
    token = open_round.links[email].rsplit("/", 1)[1]
    with db.engine.connect() as connection:
        dump = "\n".join(
            repr(row)
            for table in ("invitation", "internal_response", "internal_review")
            for row in connection.execute(text(f"SELECT * FROM {table}"))
        )
    assert token not in dump
    with db.session() as session:
        invitation = session.exec(select(Invitation).where(Invitation.answered)).one()
    assert len(invitation.token_hash) == 64 and invitation.token_hash != token


def test_response_rows_do_not_say_which_invitee_answered(client, db, open_round):
    """Two people of the same team answer; their rows are alike in everything but the answers."""
    emails = sorted(e for e in open_round.links)[:2]
    for email, value in zip(emails, (2, 6)):
        client.cookies.clear()
        form = open_survey(client, open_round.path(email))
        submit_survey(client, form.text, employee_answers(db, open_round.id, value=value))
    with db.engine.connect() as connection:
        rows = connection.execute(text("SELECT round_id, team_id FROM internal_response")).all()
    assert len(rows) == 2 and rows[0] == rows[1]
