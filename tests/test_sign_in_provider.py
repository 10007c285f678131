"""Signing in with the company's identity provider, against a real OpenID provider on loopback (tests/oidc): the
code flow with PKCE, accounts from the roster, roles from groups, sign-out there too, and every way it can go
wrong ending on a page that says so, with nobody signed in."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
from litestar.testing import TestClient
from sqlmodel import select

from conftest import BASE_URL
from helpers import PASSWORD, csrf_from, free_port, log_in
from identity_provider import (
    CLIENT_ID,
    at_provider,
    leave_for_provider,
    running_provider,
    sign_in,
    sign_out_at_provider,
    sso_settings,
)
from survey.accounts.users import deactivate_user
from survey.db.models import AuthSession, ProviderSignIn, Role, User
from survey.imports.roster import import_roster
from survey.imports.tabular import ImportFile
from survey.web.app import create_app


@pytest.fixture(scope="module")
def issuer():
    with running_provider(BASE_URL) as url:
        yield url


@pytest.fixture
def sso(settings, issuer):
    with TestClient(create_app(sso_settings(settings, issuer)), base_url=BASE_URL) as client:
        yield client


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def sign_in_log():
    """The accounts' log lines (the app's own logging set-up replaces pytest's capture on the root logger)."""
    logger = logging.getLogger("survey.accounts")
    handler, level = Lines(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


def role_of(db, email: str) -> Role:
    with db.session() as session:
        return session.exec(select(User).where(User.email == email)).one().role


def test_the_login_page_offers_the_provider_and_hides_passwords_but_for_break_glass(sso, people):
    page = sso.get("/login")
    assert "Sign in with Example Corp" in page.text
    assert "Emergency access for HR" in page.text and "<details" in page.text
    assert log_in(sso, people.head_fl1).status_code == 400  # right password, but passwords are off for heads
    assert log_in(sso, people.hr).headers["location"] == "/admin"  # the break-glass HR account


def test_a_head_signs_in_with_the_provider_and_sees_their_units(sso, db, people, sign_in_log):
    response = sign_in(sso, "hugo")  # the provider says Head1@Example.com: matched whatever its case
    assert response.status_code == 303 and response.headers["location"] == "/my"
    assert response.cookies.get("__Host-survey_auth")
    assert "Store 1" in sso.get("/my").text
    assert sso.get("/admin").status_code == 403
    assert role_of(db, people.head_fl1) == Role.HEAD
    assert "head1@example.com keeps role head" in sign_in_log.text


def test_groups_give_roles_at_each_sign_in_and_the_log_says_so(settings, issuer, db, people, sign_in_log):
    app = create_app(sso_settings(settings, issuer))
    with TestClient(app, base_url=BASE_URL) as client:
        assert sign_in(client, "hugo-promoted").headers["location"] == "/admin"
    assert role_of(db, people.head_fl1) == Role.HR
    assert "head1@example.com changes role from head to hr" in sign_in_log.text
    with TestClient(app, base_url=BASE_URL) as client:  # out of the HR group again: back to heading FL1
        assert sign_in(client, "hugo").headers["location"] == "/my"
        assert client.get("/admin").status_code == 403
    assert role_of(db, people.head_fl1) == Role.HEAD
    with TestClient(app, base_url=BASE_URL) as client:
        assert sign_in(client, "edda").headers["location"] == "/my"
    assert role_of(db, people.executive) == Role.EXECUTIVE
    with TestClient(app, base_url=BASE_URL) as client:  # no group for a role and no unit: no role here
        refused = sign_in(client, "edda-demoted")
        assert refused.status_code == 403 and "no role here" in refused.text
        assert client.get("/my", follow_redirects=False).status_code == 303  # not signed in


def test_an_unknown_email_is_refused_with_a_clear_page(sso, db, people, sign_in_log):
    refused = sign_in(sso, "stranger")
    assert refused.status_code == 403
    assert "There is no account for stranger@example.com" in refused.text and "ask HR" in refused.text
    assert "refused stranger@example.com: no account" in sign_in_log.text
    assert sso.get("/my", follow_redirects=False).headers["location"].startswith("/login")
    with db.session() as session:
        assert session.exec(select(User).where(User.email == "stranger@example.com")).first() is None
        assert session.exec(select(AuthSession)).first() is None


def test_a_head_named_in_the_roster_gets_an_account_and_signs_in(sso, db, people):
    units = "code,name,kind,parent_code,head_email\n" + "\n".join(
        [
            "R1,Region 1,region,,region@example.com",
            "SF1,IT,support,,",
            "SF2,Facilities,support,,",
            "FL1,Store 1,team,R1,head1@example.com nora.new@example.com",
            "FL2,Store 2,team,R1,head2@example.com",
            "FL3,Store 3,team,R1,",
        ]
    )
    report = import_roster(db, [ImportFile("units.csv", units.encode())], actor="hr@example.com")
    assert report.ok, report.problems
    response = sign_in(sso, "nora")
    assert response.headers["location"] == "/my"
    assert "Store 1" in sso.get("/my").text
    assert role_of(db, "nora.new@example.com") == Role.HEAD


def test_a_disabled_account_stays_out(sso, db, people):
    with db.session() as session:
        deactivate_user(session, session.exec(select(User).where(User.email == people.head_fl2)).one())
    refused = sign_in(sso, "heidi")
    assert refused.status_code == 403 and "is disabled" in refused.text
    assert sso.get("/my", follow_redirects=False).status_code == 303


def test_a_refused_consent_ends_on_a_page_and_signs_nobody_in(sso, people, sign_in_log):
    refused = sign_in(sso, "hugo", consent=False)
    assert refused.status_code == 403
    assert "cancelled at the identity provider" in refused.text
    assert "provider answered access_denied" in sign_in_log.text
    assert sso.get("/my", follow_redirects=False).status_code == 303


def _with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    return urlunsplit(parts._replace(query=urlencode({**query, **changes})))


def test_a_tampered_state_is_refused(sso, people, sign_in_log):
    back = at_provider(leave_for_provider(sso), BASE_URL, "hana")
    refused = sso.get(_with_query(back, state="made-up-by-an-attacker"), follow_redirects=False)
    assert refused.status_code == 400 and "changed on the way" in refused.text
    assert "unknown state" in sign_in_log.text
    assert sso.get("/admin", follow_redirects=False).status_code == 303


def test_a_tampered_nonce_is_refused(sso, people, sign_in_log):
    """The request to the provider is changed on its way: its nonce is not the one this sign-in keeps."""
    to_provider = _with_query(leave_for_provider(sso), nonce="an-attackers-nonce")
    refused = sso.get(at_provider(to_provider, BASE_URL, "hana"), follow_redirects=False)
    assert refused.status_code == 400 and "belongs to another sign-in" in refused.text
    assert "nonce does not match" in sign_in_log.text
    assert sso.get("/admin", follow_redirects=False).status_code == 303


def test_a_replayed_answer_signs_nobody_in_a_second_time(sso, settings, issuer, people):
    back = at_provider(leave_for_provider(sso), BASE_URL, "hana")
    assert sso.get(back, follow_redirects=False).headers["location"] == "/admin"
    again = sso.get(back, follow_redirects=False)
    assert again.status_code == 400 and "used already" in again.text


def test_an_answer_taken_to_another_browser_is_refused(settings, issuer, db, people):
    """An attacker's own sign-in answer, slipped into a victim's browser (login CSRF): that browser never asked."""
    app = create_app(sso_settings(settings, issuer))
    with TestClient(app, base_url=BASE_URL) as attacker, TestClient(app, base_url=BASE_URL) as victim:
        back = at_provider(leave_for_provider(attacker), BASE_URL, "hana")
        refused = victim.get(back, follow_redirects=False)
        assert refused.status_code == 400
        assert victim.get("/admin", follow_redirects=False).status_code == 303
    with db.session() as session:
        assert session.exec(select(ProviderSignIn)).first() is None  # used up: the attacker cannot use it now


def test_signing_out_ends_the_session_here_and_at_the_provider(sso, db, issuer, people):
    sign_in(sso, "hana")
    page = sso.get("/admin")
    response = sso.post("/logout", data={"_csrf_token": csrf_from(page.text)}, follow_redirects=False)
    to_provider = response.headers["location"]
    assert to_provider.startswith(issuer), to_provider
    query = parse_qs(urlsplit(to_provider).query)
    assert query["client_id"] == [CLIENT_ID] and query["id_token_hint"]
    assert query["post_logout_redirect_uri"] == [f"{BASE_URL}/login"]
    assert sign_out_at_provider(to_provider, BASE_URL).startswith(f"{BASE_URL}/login")
    assert sso.get("/admin", follow_redirects=False).status_code == 303
    with db.session() as session:
        assert session.exec(select(AuthSession)).first() is None


def test_a_sign_in_when_the_provider_is_down_says_so(settings, db, people, sign_in_log):
    down = f"http://127.0.0.1:{free_port()}"
    with TestClient(create_app(sso_settings(settings, down)), base_url=BASE_URL) as client:
        response = client.get("/login/provider", follow_redirects=False)
        assert response.status_code == 503 and "cannot be reached" in response.text
        assert "discovery document unreachable" in sign_in_log.text
        assert log_in(client, people.hr, PASSWORD).headers["location"] == "/admin"  # break glass still works


def test_a_wrong_client_secret_says_so(settings, issuer, people, sign_in_log):
    app = create_app(sso_settings(settings, issuer, oidc_client_secret="not-the-secret"))
    with TestClient(app, base_url=BASE_URL) as client:
        refused = sign_in(client, "hana")
        assert refused.status_code == 502 and "client secret is wrong" in refused.text
        assert "invalid_client" in sign_in_log.text
        assert client.get("/admin", follow_redirects=False).status_code == 303


def test_a_provider_whose_clock_is_ten_minutes_ahead_is_refused_with_the_reason(
    settings, people, sign_in_log
):
    with running_provider(BASE_URL, clock_offset_seconds=600) as ahead:
        app = create_app(sso_settings(settings, ahead))
        with TestClient(app, base_url=BASE_URL) as client:
            refused = sign_in(client, "hana")
            assert refused.status_code == 400 and "clocks" in refused.text
            assert "clock skew" in sign_in_log.text
            assert client.get("/admin", follow_redirects=False).status_code == 303


def test_password_login_off_sends_no_reset_link_but_to_break_glass(db, settings, issuer, people):
    from survey.accounts.sign_in import prepare_requested_links, request_password_reset
    from survey.db.models import utc_now

    on = sso_settings(settings, issuer)
    with db.session() as session:
        for email in (people.head_fl1, people.hr):
            request_password_reset(session, email, "10.0.0.1", on, utc_now())
        assert prepare_requested_links(session, on, utc_now()) == 1


# --- Settings and rules, without a provider ------------------------------------------------------------------


@pytest.mark.parametrize(
    "env, message",
    [
        ({"SURVEY_OIDC_ISSUER": "http://login.example.com"}, "SURVEY_OIDC_ISSUER: expected an https:// URL"),
        ({"SURVEY_OIDC_ISSUER": "https://login.example.com"}, "SURVEY_OIDC_CLIENT_ID: needed"),
        (
            {"SURVEY_PASSWORD_LOGIN": "off"},
            "SURVEY_PASSWORD_LOGIN: can be off only with an identity provider",
        ),
        ({"SURVEY_OIDC_GROUP_ROLES": "survey-hr=admin"}, "SURVEY_OIDC_GROUP_ROLES: expected group=hr"),
        (
            {"SURVEY_OIDC_GROUP_ROLES": "survey-hr=hr"},
            "SURVEY_OIDC_GROUP_ROLES: needs SURVEY_OIDC_GROUPS_CLAIM",
        ),
        (
            {
                "SURVEY_OIDC_ISSUER": "https://x.example",
                "SURVEY_OIDC_CLIENT_ID": "c",
                "SURVEY_OIDC_SCOPES": "email",
            },
            "SURVEY_OIDC_SCOPES: must include openid",
        ),
        ({"SURVEY_BREAK_GLASS_EMAIL": "hr"}, "SURVEY_BREAK_GLASS_EMAIL: expected an e-mail address"),
    ],
)
def test_sign_in_settings_that_cannot_work_are_refused_by_name(env, message):
    from survey.settings import Settings, SettingsError

    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_group_roles_are_read_from_their_setting_and_hr_wins_over_executive():
    from survey.accounts.provider import role_from_groups
    from survey.settings import Settings

    settings = Settings.from_env(
        {
            "SURVEY_OIDC_ISSUER": "https://login.example.com/realms/acme",
            "SURVEY_OIDC_CLIENT_ID": "survey",
            "SURVEY_OIDC_GROUPS_CLAIM": "groups",
            "SURVEY_OIDC_GROUP_ROLES": "Survey HR=hr, /leadership=executive",
        }
    )
    assert settings.oidc_group_roles == (("Survey HR", "hr"), ("/leadership", "executive"))
    assert role_from_groups(["/leadership", "Survey HR"], settings.oidc_group_roles) == Role.HR
    assert role_from_groups(["/leadership"], settings.oidc_group_roles) == Role.EXECUTIVE
    assert role_from_groups(["survey hr"], settings.oidc_group_roles) is None  # names are exact


def test_the_break_glass_address_signs_in_by_password_only_if_it_is_an_hr_account(settings, issuer, people):
    """Set to a head's address by mistake, the break-glass setting does not turn password login back on for them."""
    app = create_app(sso_settings(settings, issuer, break_glass_email=people.head_fl1))
    with TestClient(app, base_url=BASE_URL) as client:
        assert log_in(client, people.head_fl1).status_code == 400
        assert log_in(client, people.hr).status_code == 400
