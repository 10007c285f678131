"""A customer answers a front-line team's public survey: once per form, and not in floods."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from helpers import customer_answers
from survey.db.models import ExternalResponse, RoundStatus
from survey.rounds.lifecycle import advance_round, find_round
from survey.web.app import create_app


def stored(db) -> tuple[int, int]:
    """(responses, answers) stored."""
    with db.session() as session:
        rows = session.exec(select(ExternalResponse)).scalars().all()
    return len(rows), sum(len(r.answers) for r in rows)


def test_a_customer_rates_the_team_that_served_them(client, db, org, open_round):
    data, page = customer_answers(client, org.team_slugs[1], value=5)
    assert "How did Store 2 do?" in page
    data["comment"] = "Lovely people."

    response = client.post(f"/c/{org.team_slugs[1]}", data=data, follow_redirects=False)

    assert response.status_code == 303
    assert "Thank you" in client.get(response.headers["location"]).text
    assert stored(db) == (1, 8)
    with db.session() as session:
        row = session.exec(select(ExternalResponse)).one()[0]
    assert row.team_id == org.teams[1] and row.round_id == open_round.id and row.comment == "Lovely people."


def test_a_refresh_or_double_submit_stores_one_response(client, db, org, open_round):
    data, _ = customer_answers(client, org.team_slugs[0])
    first = client.post(f"/c/{org.team_slugs[0]}", data=data, follow_redirects=False)
    again = client.post(f"/c/{org.team_slugs[0]}", data=data, follow_redirects=False)
    assert first.status_code == again.status_code == 303
    assert stored(db) == (1, 8)
    # A second visit gets a new form and counts as a new customer.
    data, _ = customer_answers(client, org.team_slugs[0])
    assert client.post(f"/c/{org.team_slugs[0]}", data=data, follow_redirects=False).status_code == 303
    assert stored(db) == (2, 16)


def test_missing_answers_come_back_with_messages_and_keep_the_form_key(client, db, org, open_round):
    data, _ = customer_answers(client, org.team_slugs[0])
    nps_field = max((k for k in data if k.startswith("q-")), key=lambda k: int(k[2:]))
    missing = sorted(k for k in data if k.startswith("q-"))[0]
    del data[missing]
    data[nps_field] = "11"

    response = client.post(f"/c/{org.team_slugs[0]}", data=data)

    assert response.status_code == 422
    assert f'id="{missing}-error"' in response.text and f'id="{nps_field}-error"' in response.text
    assert data["form_key"] in response.text
    assert stored(db) == (0, 0)


def test_a_forged_form_key_is_refused(client, db, org, open_round):
    data, _ = customer_answers(client, org.team_slugs[0])
    data["form_key"] = "short"
    response = client.post(f"/c/{org.team_slugs[0]}", data=data)
    assert response.status_code == 400 and "expired or was not made for this survey" in response.text
    assert stored(db) == (0, 0)


def test_unknown_links_and_teams_without_an_open_round_say_so(client, db, org, open_round):
    assert client.get("/c/no-such-team").status_code == 404
    with db.session() as session:
        advance_round(session, find_round(session, open_round.name), RoundStatus.CLOSED)
    page = client.get(f"/c/{org.team_slugs[0]}")
    assert page.status_code == 200 and "not collecting feedback right now" in page.text


def test_a_submit_after_the_round_closed_stores_nothing(client, db, org, open_round):
    data, _ = customer_answers(client, org.team_slugs[0])
    with db.session() as session:
        advance_round(session, find_round(session, open_round.name), RoundStatus.CLOSED)
    response = client.post(f"/c/{org.team_slugs[0]}", data=data)
    assert "not collecting feedback" in response.text
    assert stored(db) == (0, 0)


@pytest.mark.web
def test_customer_pages_are_rate_limited_per_client(settings, org, open_round):
    from litestar.testing import TestClient

    app = create_app(settings.with_(customer_rate_limit=3))
    with TestClient(app, base_url=settings.base_url) as client:
        statuses = [client.get(f"/c/{org.team_slugs[0]}").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = client.get(f"/c/{org.team_slugs[0]}", headers={"accept": "text/html"})
        assert "wait a minute" in limited.text
        assert client.get("/health").status_code == 200  # other pages are not limited
