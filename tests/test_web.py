"""What every page promises: health without the database, security headers, friendly errors, clean logs."""

from __future__ import annotations

import logging

import pytest
from litestar.testing import TestClient

from survey.settings import Settings
from survey.surveys.intake import Intake
from survey.web.app import create_app
from survey.web.security import RedactInvitations


@pytest.mark.web
def test_health_answers_without_touching_the_database():
    unreachable = Settings(
        database_url="postgresql://nobody:nothing@127.0.0.1:9/nowhere",
        secret_key="s" * 32,
        base_url="https://x.test",
    )
    with TestClient(create_app(unreachable), base_url="https://x.test") as client:
        response = client.get("/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_pages_carry_security_headers(client, open_round):
    for path in ("/health", "/survey", "/static/survey.css", "/nowhere"):
        headers = client.get(path).headers
        assert "frame-ancestors 'none'" in headers["content-security-policy"], path
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["strict-transport-security"].startswith("max-age=")


def test_csrf_cookie_is_secure_and_http_only(client, open_round):
    response = client.get(open_round.path(next(iter(open_round.links))), follow_redirects=False)
    csrf = next(c for c in response.headers.get_list("set-cookie") if c.startswith("csrftoken="))
    assert "Secure" in csrf and "HttpOnly" in csrf


def test_unknown_pages_are_friendly_for_people_and_json_for_programs(client):
    page = client.get("/nowhere", headers={"accept": "text/html"})
    assert page.status_code == 404 and "Page not found" in page.text
    data = client.get("/nowhere", headers={"accept": "application/json"})
    assert data.status_code == 404 and data.json()["status_code"] == 404


def test_requests_for_other_hosts_are_refused(client):
    assert client.get("/health", headers={"host": "evil.example"}).status_code == 400


def test_an_unexpected_error_shows_a_page_not_a_traceback(client, open_round, monkeypatch):
    def broken(self, token):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(Intake, "invitation_for_token", broken)
    response = client.get(open_round.path(next(iter(open_round.links))), headers={"accept": "text/html"})
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.text
    assert "database on fire" not in response.text and "Traceback" not in response.text


def test_access_log_keeps_tokens_and_survey_takers_addresses_out():
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("10.1.2.3:5555", "GET", "/i/SECRET-token_value", "1.1", 303), None,
    )  # fmt: skip
    RedactInvitations().filter(record)
    line = record.getMessage()
    assert "SECRET" not in line and "/i/[redacted]" in line and "10.1.2.3" not in line

    other = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("10.1.2.3:5555", "GET", "/health", "1.1", 200), None,
    )  # fmt: skip
    RedactInvitations().filter(other)
    assert "10.1.2.3" in other.getMessage()


def test_access_log_keeps_password_reset_tokens_out():
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("10.1.2.3:5555", "POST", "/password/reset/SECRET-token", "1.1", 303), None,
    )  # fmt: skip
    RedactInvitations().filter(record)
    assert "SECRET" not in record.getMessage() and "/password/reset/[redacted]" in record.getMessage()
