"""Anonymity at rest, checked as an attacker with the whole database would: nothing in the response tables,
their columns or their storage order leads back to a person or to the time they answered."""

from __future__ import annotations

import itertools
import re

from sqlalchemy import inspect, text
from sqlmodel import select

from helpers import employee_answers, open_survey, submit_survey
from survey.db.models import Invitation

RESPONSE_TABLES = {
    "internal_response": {"id", "round_id", "team_id"},
    "internal_review": {"response_id", "function_id", "used", "answers", "comment"},
    # burst_id: answers past a team's hourly cap, held for HR; the link (and with it the hour) is cleared when HR
    # keeps the burst, and discarded answers are deleted (tests/test_customer_stuffing.py).
    "external_response": {"id", "round_id", "team_id", "answers", "comment", "burst_id"},
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
    gaps = {b - a for a, b in itertools.pairwise(sorted(ids))}
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
    for email, value in zip(emails, (2, 6), strict=True):
        client.cookies.clear()
        form = open_survey(client, open_round.path(email))
        submit_survey(client, form.text, employee_answers(db, open_round.id, value=value))
    with db.engine.connect() as connection:
        rows = connection.execute(text("SELECT round_id, team_id FROM internal_response")).all()
    assert len(rows) == 2 and rows[0] == rows[1]


def _sqlite_cell_offsets(path, table: str) -> dict[int, int]:
    """rowid -> byte offset of its cell in the table's (single, leaf) root page, read from the file itself.

    SQLite fills a page's cell area from the end downward, so offsets reveal the order rows were written in.
    """
    import sqlite3

    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        root = raw.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
        page_size = raw.execute("PRAGMA page_size").fetchone()[0]
    data = path.read_bytes()
    page = data[(root - 1) * page_size : root * page_size]
    header = 100 if root == 1 else 0
    assert page[header] == 0x0D, "expected a single leaf page"
    count = int.from_bytes(page[header + 3 : header + 5], "big")
    offsets = {}
    for i in range(count):
        offset = int.from_bytes(page[header + 8 + 2 * i : header + 10 + 2 * i], "big")
        position = offset
        for _ in range(2):  # payload length, then rowid: varints (the 9th byte, if any, carries 8 bits)
            value = 0
            for index in range(9):
                byte = page[position]
                position += 1
                if index == 8:
                    value = (value << 8) | byte
                    break
                value = (value << 7) | (byte & 0x7F)
                if byte < 0x80:
                    break
            rowid = value
        offsets[rowid] = offset
    return offsets


def _answer_in_order(client, db, open_round, count: int) -> list[int]:
    """Answer `count` invitations one after another; returns the response ids in arrival order."""
    arrived = []
    for email in sorted(open_round.links)[:count]:
        client.cookies.clear()
        form = open_survey(client, open_round.path(email))
        assert (
            submit_survey(client, form.text, employee_answers(db, open_round.id)).headers["location"]
            == "/survey/thanks"
        )
        with db.engine.connect() as connection:
            ids = {r[0] for r in connection.execute(text("SELECT id FROM internal_response"))}
        arrived.append(next(iter(ids - set(arrived))))
    return arrived


def test_closing_a_round_erases_arrival_order_from_storage(client, db, open_round, settings):
    from click.testing import CliRunner

    from survey.cli import main

    arrived = _answer_in_order(client, db, open_round, 8)
    env = {"SURVEY_DATABASE_URL": settings.database_url}
    if db.is_sqlite:
        path = db.engine.url.database
        from pathlib import Path

        offsets = _sqlite_cell_offsets(Path(path), "internal_response")
        by_position = sorted(offsets, key=offsets.get, reverse=True)
        assert by_position == arrived  # the attack works while the round is open...
        assert CliRunner().invoke(main, ["round", "close", open_round.name], env=env).exit_code == 0
        offsets = _sqlite_cell_offsets(Path(path), "internal_response")
        by_position = sorted(offsets, key=offsets.get, reverse=True)
        assert (
            by_position == sorted(arrived) != arrived
        )  # ...and after closing, position follows random ids only
        return
    with db.engine.connect() as c:
        pairs = c.execute(
            text(
                "SELECT count(*) FROM invitation v JOIN internal_response r ON r.xmin = v.xmin WHERE v.answered"
            )
        ).scalar()
    assert (
        pairs == 8
    )  # the attack works while the round is open: each invitation shares its response's xmin...
    assert CliRunner().invoke(main, ["round", "close", open_round.name], env=env).exit_code == 0
    with db.engine.connect() as c:
        stamps = {r[0] for r in c.execute(text("SELECT xmin::text FROM internal_response"))}
        invitation_stamps = {r[0] for r in c.execute(text("SELECT xmin::text FROM invitation"))}
        physical = [r[0] for r in c.execute(text("SELECT id FROM internal_response ORDER BY ctid"))]
    assert len(stamps) == 1 and invitation_stamps == stamps  # ...afterwards every row carries the same stamp
    assert physical == sorted(arrived)  # and rows lie in random-id order, not arrival order
