"""Ballot stuffing on the public customer form, tried as an attacker would: forged and borrowed form keys, a
spoofed X-Forwarded-For, many server processes, and a flood of real forms from many addresses (held for HR)."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from litestar.testing import TestClient
from sqlalchemy import func, select

from conftest import BASE_URL, TEST_SECRET, start_round
from helpers import compute_results, csrf_from, customer_answers, free_port, log_in
from survey.analysis.analytics import read_scores
from survey.db.models import CustomerBurst, CustomerFormKey, ExternalResponse, RoundStatus
from survey.rounds.lifecycle import advance_round, find_round
from survey.tokens import customer_form_key, new_token
from survey.web.app import create_app
from survey.web.clients import real_client


def stored(db) -> int:
    with db.session() as session:
        return session.exec(select(func.count()).select_from(ExternalResponse)).one()[0]


def post_form(client, slug: str, value: int = 4, **changes: str):
    data, _ = customer_answers(client, slug, value)
    data.update(changes)
    return client.post(f"/c/{slug}", data=data, follow_redirects=False)


# --- Form keys ----------------------------------------------------------------------------------------------------


def test_a_made_up_form_key_is_refused_with_a_fresh_form(client, db, org, open_round):
    response = post_form(client, org.team_slugs[0], form_key=new_token())  # the shape the old form accepted
    assert response.status_code == 400
    assert "expired or was not made for this survey" in response.text
    assert 'name="form_key"' in response.text  # a fresh form to send again
    assert stored(db) == 0


def test_another_teams_form_key_is_refused(client, db, org, open_round):
    _, other_page = customer_answers(client, org.team_slugs[1])
    borrowed = re.search(r'name="form_key" value="([^"]+)"', other_page).group(1)
    response = post_form(client, org.team_slugs[0], form_key=borrowed)
    assert response.status_code == 400 and stored(db) == 0


def test_a_form_key_of_an_earlier_round_is_refused(client, db, org, open_round):
    old, _ = customer_answers(client, org.team_slugs[0])
    with db.session() as session:
        advance_round(session, find_round(session, open_round.name), RoundStatus.CLOSED)
    start_round(db, "2027 Q1")
    response = client.post(f"/c/{org.team_slugs[0]}", data=old, follow_redirects=False)
    assert response.status_code == 400 and stored(db) == 0
    assert post_form(client, org.team_slugs[0]).status_code == 303  # a form of the new round is taken
    assert stored(db) == 1


def test_a_form_key_older_than_a_day_is_refused(client, db, org, open_round, monkeypatch):
    data, _ = customer_answers(client, org.team_slugs[0])
    served_at = time.time()
    monkeypatch.setattr(time, "time", lambda: served_at + 25 * 3600)
    response = client.post(f"/c/{org.team_slugs[0]}", data=data, follow_redirects=False)
    assert response.status_code == 400 and stored(db) == 0


def test_a_key_signed_with_another_secret_is_refused(client, db, org, open_round):
    forged = customer_form_key("not-the-server-secret", open_round.id, org.teams[0], int(time.time()))
    assert post_form(client, org.team_slugs[0], form_key=forged).status_code == 400
    genuine = customer_form_key(TEST_SECRET, open_round.id, org.teams[0], int(time.time()))
    assert post_form(client, org.team_slugs[0], form_key=genuine).status_code == 303
    assert (
        post_form(client, org.team_slugs[0], form_key=genuine).status_code == 303
    )  # used once: thanks again
    assert stored(db) == 1
    with db.session() as session:
        assert session.exec(select(func.count()).select_from(CustomerFormKey)).one()[0] == 1


# --- The client's address and the shared limit --------------------------------------------------------------------


def test_the_client_is_the_address_the_nearest_trusted_proxy_saw():
    import ipaddress

    proxies = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1/128")]
    assert real_client("203.0.113.9", ["1.2.3.4"], proxies) == "203.0.113.9"  # not from a proxy: not believed
    assert real_client("10.0.0.2", ["1.2.3.4, 198.51.100.7"], proxies) == "198.51.100.7"
    assert real_client("10.0.0.2", ["1.2.3.4", "198.51.100.7, 10.0.0.3"], proxies) == "198.51.100.7"
    assert real_client("10.0.0.2", ["junk, 10.0.0.3"], proxies) == "10.0.0.3"
    assert real_client("10.0.0.2", [], proxies) == "10.0.0.2"
    assert real_client("127.0.0.1", ["1.2.3.4"], []) == "127.0.0.1"  # nothing trusted by default


@pytest.mark.web
def test_spoofed_forwarded_for_gives_no_extra_forms_through_survey_serve(
    settings, db, org, open_round, monkeypatch
):
    """40 forms, each fetched and sent with a made-up X-Forwarded-For, from one address, through the real server
    (`survey serve`, as deployed): no more than the limit of requests gets through."""
    from test_browser import serving

    monkeypatch.setenv("SURVEY_CUSTOMER_RATE_LIMIT", "30")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    slug = org.team_slugs[0]
    statuses, refused = [], None
    with serving(settings.database_url, base, port), httpx.Client(base_url=base) as browser:
        for n in range(40):
            browser.headers["x-forwarded-for"] = f"198.51.100.{n + 1}"
            page = browser.get(f"/c/{slug}")
            if page.status_code == 200:
                data, _ = customer_answers(browser, slug)  # a second page view: a third request per form
                page = browser.post(f"/c/{slug}", data=data)
            statuses.append(page.status_code)
            refused = page if page.status_code == 429 else refused
    assert stored(db) <= 10  # 30 requests a minute, three per form as sent here
    assert statuses.count(429) >= 30
    assert refused is not None and 1 <= int(refused.headers["retry-after"]) <= 60
    assert "Please wait a minute and try again" in refused.text


def test_two_server_processes_share_one_limit(settings, db, org, open_round):
    """Two app instances on one database (two server processes): together they allow the limit, not twice it."""
    limited = settings.with_(customer_rate_limit=4)
    slug = org.team_slugs[0]
    with (
        TestClient(create_app(limited), base_url=BASE_URL) as first,
        TestClient(create_app(limited), base_url=BASE_URL) as second,
    ):
        statuses = [(first if n % 2 else second).get(f"/c/{slug}").status_code for n in range(6)]
        assert statuses == [200, 200, 200, 200, 429, 429]
        assert first.get("/health").status_code == 200  # other pages are not limited


def test_trusted_proxies_are_addresses_or_ranges_and_none_by_default():
    from survey.settings import Settings, SettingsError

    assert Settings().trusted_proxies == ()
    env = {"SURVEY_TRUSTED_PROXIES": "10.0.0.0/8, ::1"}
    assert [str(n) for n in Settings.from_env(env).trusted_networks] == ["10.0.0.0/8", "::1/128"]
    with pytest.raises(SettingsError, match=r"SURVEY_TRUSTED_PROXIES.*'proxy\.local'"):
        Settings.from_env({"SURVEY_TRUSTED_PROXIES": "proxy.local"})


# --- A burst beyond a team's hourly cap is held for HR ------------------------------------------------------------


@pytest.fixture
def capped(settings):
    """Customer pages with a cap of 5 answers per team and hour, and no request limit in the way."""
    capped_settings = settings.with_(customer_team_hourly_cap=5, customer_rate_limit=100_000)
    with TestClient(create_app(capped_settings), base_url=BASE_URL) as test_client:
        yield test_client


def _flood(client, slug: str, forms: int) -> None:
    for number in range(forms):
        # Answers that differ: a cell where every customer answered alike is hidden by the release gate.
        response = post_form(client, slug, value=1 + number % 7)
        assert response.status_code == 303  # the sender sees the thanks page either way


def _customers_n(db, settings, round_id: int, team_id: int) -> int | None:
    scores = read_scores(db, round_id, settings.min_group_size, settings.min_comment_group_size).result
    cell = next(c for c in scores.customers if c.unit_id == team_id)
    return cell.scores.csat_pct.n if cell.scores.csat_pct else None


def _close(db, settings, open_round) -> None:
    with db.session() as session:
        advance_round(session, find_round(session, open_round.name), RoundStatus.CLOSED)
    compute_results(db, settings)


def _burst(db) -> CustomerBurst:
    with db.session() as session:
        return session.exec(select(CustomerBurst)).one()[0]


def test_a_burst_beyond_the_cap_is_held_and_counts_once_hr_keeps_it(
    capped, client, db, settings, org, open_round, people
):
    _flood(capped, org.team_slugs[0], 8)
    assert stored(db) == 8  # nothing is dropped
    burst = _burst(db)
    assert (burst.team_id, burst.round_id, burst.held, burst.state) == (
        org.teams[0],
        open_round.id,
        3,
        "pending",
    )

    _close(db, settings, open_round)
    assert _customers_n(db, settings, open_round.id, org.teams[0]) == 5  # the held three count in nothing

    log_in(client, people.hr)
    page = client.get(f"/admin/rounds/{open_round.id}")
    assert "Bursts of customer answers" in page.text and "Store 1" in page.text
    kept = client.post(
        f"/admin/bursts/{burst.id}/keep", data={"_csrf_token": csrf_from(page.text)}, follow_redirects=False
    )
    assert kept.status_code == 303
    again = client.post(f"/admin/bursts/{burst.id}/discard", data={"_csrf_token": csrf_from(page.text)})
    assert again.status_code == 409 and "already kept" in again.text  # decided once
    assert f"kept by {people.hr}" in client.get(f"/admin/rounds/{open_round.id}").text

    compute_results(db, settings)  # the scheduler sees the decision and computes the round again
    assert _customers_n(db, settings, open_round.id, org.teams[0]) == 8
    assert stored(db) == 8


def test_a_discarded_burst_is_deleted_and_never_counted(
    capped, client, db, settings, org, open_round, people
):
    _flood(capped, org.team_slugs[0], 7)
    _flood(capped, org.team_slugs[1], 5)  # another team within its cap: nothing held
    burst = _burst(db)
    assert burst.held == 2
    log_in(client, people.hr)
    token = csrf_from(client.get(f"/admin/rounds/{open_round.id}").text)
    assert client.post(f"/admin/bursts/{burst.id}/discard", data={"_csrf_token": token}).status_code == 200
    assert stored(db) == 10
    with db.session() as session:
        assert (
            session.exec(
                select(ExternalResponse.burst_id).where(ExternalResponse.burst_id.is_not(None))
            ).all()
            == []
        )
    assert _burst(db).state == "discarded" and _burst(db).decided_by == people.hr
    _close(db, settings, open_round)
    assert _customers_n(db, settings, open_round.id, org.teams[0]) == 5


@pytest.mark.parametrize("who", ["head_fl1", "head_region", "executive"])
def test_only_hr_keeps_or_discards_a_burst(capped, client, db, org, open_round, people, who):
    _flood(capped, org.team_slugs[0], 6)
    burst = _burst(db)
    log_in(client, getattr(people, who))
    token = csrf_from(client.get("/my").text)
    for decision in ("keep", "discard"):
        response = client.post(f"/admin/bursts/{burst.id}/{decision}", data={"_csrf_token": token})
        assert response.status_code == 403
    assert _burst(db).state == "pending" and stored(db) == 6
