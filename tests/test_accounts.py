"""HR, heads and executives log in with e-mail and password; sessions live on the server; guessing is throttled;
a forgotten password is reset through a single-use mailed link."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from litestar.testing import TestClient
from sqlalchemy import event, func, update
from sqlalchemy import select as sa_select
from sqlmodel import SQLModel, select

from conftest import BASE_URL
from helpers import PASSWORD, csrf_from, log_in, post_form
from survey.accounts import sign_in, users
from survey.accounts.users import create_user
from survey.cli import main
from survey.db.models import AuthSession, MailKind, OutboxMessage, PasswordReset, Role, User
from survey.mail.outbox import password_reset_link
from survey.rounds.scheduler import tick
from survey.tokens import password_reset_token
from survey.web.app import create_app

COOKIE = "__Host-survey_auth"


def test_passwords_are_stored_as_argon2id_at_its_recommended_cost(db, org, production_hasher, monkeypatch):
    """The tests hash cheaply (conftest); the product stores argon2id at 64 MiB, 3 passes, 4 lanes, and never the
    password itself."""
    monkeypatch.setattr(users, "PASSWORD_HASHER", production_hasher)
    with db.session() as session:
        create_user(session, "new.hr@example.com", "New HR", Role.HR, password=PASSWORD)
        stored = session.exec(select(User.password_hash).where(User.email == "new.hr@example.com")).one()
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$") and PASSWORD not in stored
    assert users.verify_password(stored, PASSWORD) and not users.verify_password(stored, PASSWORD + "!")
    assert not users.verify_password(None, PASSWORD)  # no account: the same work, and no


def test_hr_logs_in_lands_on_admin_and_gets_a_secure_session_cookie(client, people):
    response = log_in(client, people.hr)
    assert response.status_code == 303 and response.headers["location"] == "/admin"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith(COOKIE))
    assert all(flag in cookie.lower() for flag in ("httponly", "secure", "samesite=lax", "path=/"))
    assert "Overview" in client.get("/admin").text


def test_heads_and_executives_land_on_their_units(client, people):
    assert log_in(client, people.head_fl1).headers["location"] == "/my"
    page = client.get("/my")
    assert "Store 1" in page.text and "Store 2" not in page.text


def test_a_wrong_password_or_unknown_account_get_the_same_answer(client, people):
    wrong = log_in(client, people.hr, "not the password at all")
    unknown = log_in(client, "nobody@example.com", "not the password at all")
    assert wrong.status_code == unknown.status_code == 400
    assert (
        "Wrong e-mail address or password" in wrong.text
        and "Wrong e-mail address or password" in unknown.text
    )
    assert COOKIE not in str(wrong.headers.get_list("set-cookie"))


def test_every_login_gets_a_new_session_id_and_the_old_one_ends(client, db, people):
    log_in(client, people.hr)
    first = client.cookies.get(COOKIE)
    log_in(client, people.hr)
    second = client.cookies.get(COOKIE)
    assert first and second and first != second
    with db.session() as session:
        assert len(session.exec(select(AuthSession)).all()) == 1


def test_logout_ends_the_session_on_the_server(client, app, people):
    log_in(client, people.hr)
    stolen = client.cookies.get(COOKIE)
    response = post_form(client, "/admin", "/logout", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    from litestar.testing import TestClient

    with TestClient(app, base_url=BASE_URL) as thief:
        thief.cookies.set(COOKIE, stolen)
        replay = thief.get("/admin", follow_redirects=False)
    assert replay.status_code == 303 and replay.headers["location"].startswith("/login")


def test_an_idle_session_expires_and_asks_to_log_in_again(client, db, people):
    log_in(client, people.hr)
    with db.session() as session:
        session.exec(update(AuthSession).values(last_seen_at=datetime.now(UTC) - timedelta(hours=2)))
        session.commit()
    response = client.get("/admin/rounds", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/admin/rounds&expired=1"
    assert "Your session ended" in client.get(response.headers["location"]).text
    with db.session() as session:
        assert session.exec(select(AuthSession)).all() == []


def test_a_session_past_its_absolute_lifetime_ends_even_when_active(client, db, people):
    log_in(client, people.hr)
    with db.session() as session:
        session.exec(update(AuthSession).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        session.commit()
    assert client.get("/admin", follow_redirects=False).status_code == 303


def test_login_returns_to_the_page_asked_for_but_never_to_another_site(client, people):
    page = client.get("/login?next=/admin/rounds")
    token = csrf_from(page.text)
    data = {"email": people.hr, "password": PASSWORD, "_csrf_token": token, "next": "/admin/rounds"}
    assert client.post("/login", data=data, follow_redirects=False).headers["location"] == "/admin/rounds"
    for evil in ("//evil.example", "https://evil.example/", "/\\evil.example"):
        response = client.post("/login", data={**data, "next": evil}, follow_redirects=False)
        assert response.headers["location"] == "/admin"


def test_a_login_form_without_its_csrf_token_is_refused(client, people):
    client.get("/login")
    response = client.post("/login", data={"email": people.hr, "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 403
    assert COOKIE not in str(response.headers.get_list("set-cookie"))


def test_guessing_is_throttled_per_account_even_with_the_right_password_afterwards(client, people):
    for _ in range(5):
        assert log_in(client, people.hr, "guess guess guess").status_code == 400
    throttled = log_in(client, people.hr)
    assert throttled.status_code == 429 and "Too many failed attempts" in throttled.text
    assert log_in(client, people.executive).status_code == 303  # other accounts are unaffected


def test_failures_from_ten_addresses_do_not_lock_the_owner_out(client, db, settings, people):
    """The attack: 5 wrong passwords from each of 10 addresses used to lock any account, HR's included, for 15
    minutes. The owner, logging in from their own address with the right password, gets in."""
    start = datetime.now(UTC) - timedelta(minutes=1)
    with db.session() as session:
        for guess in range(5):  # each address guesses as often as it is let
            at = start + timedelta(seconds=11 * guess)
            for address in range(10):
                wrong = sign_in.authenticate(
                    session, people.hr, "guess guess", f"10.0.0.{address}", settings, at
                )
                assert wrong is None
        with pytest.raises(sign_in.LoginThrottled):  # each guessing address waits, though
            sign_in.authenticate(
                session, people.hr, PASSWORD, "10.0.0.3", settings, start + timedelta(seconds=50)
            )
    assert log_in(client, people.hr).status_code == 303


def test_each_further_failure_from_one_address_doubles_its_wait(db, settings, people):
    start = datetime.now(UTC)

    def attempt(seconds: float, password: str = "guess guess guess"):
        with db.session() as session:
            return sign_in.authenticate(
                session, people.hr, password, "10.0.0.9", settings, start + timedelta(seconds=seconds)
            )

    for n in range(5):
        assert attempt(n) is None
    waits = []
    at = 4.0
    for _ in range(4):
        with pytest.raises(sign_in.LoginThrottled) as refused:
            attempt(at + 1)
        waits.append(refused.value.retry_after)
        at += refused.value.retry_after + 1  # after the wait, another wrong guess
        assert attempt(at) is None
    assert waits == [14, 29, 59, 119]
    with pytest.raises(sign_in.LoginThrottled):  # the right password does not lift the wait
        attempt(at + 1, PASSWORD)
    assert attempt(at + 15 * 60, PASSWORD) is not None  # capped: at most 15 minutes after the last failure


def test_failures_spread_over_many_addresses_slow_each_of_them_a_little(db, settings, people):
    now = datetime.now(UTC)
    with db.session() as session:
        for address in range(25):
            sign_in.authenticate(session, people.executive, "guess guess", f"10.1.0.{address}", settings, now)
        with pytest.raises(sign_in.LoginThrottled) as refused:
            sign_in.authenticate(session, people.executive, "guess guess", "10.1.0.1", settings, now)
        assert refused.value.retry_after == 10
        later = now + timedelta(seconds=11)
        assert (
            sign_in.authenticate(session, people.executive, PASSWORD, "10.1.0.1", settings, later) is not None
        )
        assert (
            sign_in.authenticate(session, people.executive, PASSWORD, "192.0.2.7", settings, now) is not None
        )


def test_a_throttled_login_says_when_to_try_again(client, people):
    for _ in range(5):
        log_in(client, people.hr, "guess guess guess")
    throttled = log_in(client, people.hr)
    assert throttled.status_code == 429 and 10 <= int(throttled.headers["retry-after"]) <= 15
    assert re.search(r"Try again in 1[0-5] seconds", throttled.text)


def test_guessing_across_accounts_is_throttled_per_client(client, people):
    for n in range(20):
        log_in(client, f"someone{n}@example.com", "guess guess guess")
    assert log_in(client, people.executive).status_code == 429


def ask_for_link(client, db, settings, email: str):
    """ "Forgot your password?" as a visitor asks, then the scheduler's pass that mails the link."""
    answer = post_form(client, "/password/forgot", "/password/forgot", {"email": email})
    tick(db, settings, results=False)
    return answer


def _reset_token(db, settings, email: str) -> str:
    with db.session() as session:
        user = session.exec(select(User).where(User.email == email)).one()
        reset = session.exec(select(PasswordReset).where(PasswordReset.user_id == user.id)).all()[-1]
    return password_reset_token(settings.secret_key, reset.id)


def test_a_forgotten_password_is_reset_by_a_single_use_mailed_link(client, db, settings, people):
    answer = ask_for_link(client, db, settings, people.head_fl1)
    assert "a link to set a new password is on its way" in answer.text
    with db.session() as session:
        mail = session.exec(select(OutboxMessage)).one()
        assert mail.kind == MailKind.PASSWORD_RESET and mail.recipient == people.head_fl1
        reset = session.get(PasswordReset, mail.password_reset_id)
        assert reset.token_hash and password_reset_token(settings.secret_key, reset.id) not in str(reset)
        link = password_reset_link(settings, reset.id)
    path = link.removeprefix(BASE_URL)
    new = "a brand new long password"
    done = post_form(client, path, path, {"password": new, "repeat": new}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/login?reset=1"
    assert log_in(client, people.head_fl1, PASSWORD).status_code == 400
    assert log_in(client, people.head_fl1, new).status_code == 303
    again = client.get(path)
    assert again.status_code == 404 and "no longer works" in again.text


def test_resetting_a_password_signs_out_every_session_of_the_account(client, app, db, settings, people):
    log_in(client, people.hr)
    ask_for_link(client, db, settings, people.hr)
    path = f"/password/reset/{_reset_token(db, settings, people.hr)}"
    post_form(client, path, path, {"password": "another long password", "repeat": "another long password"})
    assert client.get("/admin", follow_redirects=False).status_code == 303


def test_asking_for_a_reset_does_not_reveal_whether_an_account_exists(client, db, people):
    known = post_form(client, "/password/forgot", "/password/forgot", {"email": people.hr})
    unknown = post_form(client, "/password/forgot", "/password/forgot", {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 200
    assert known.text.replace(people.hr, "X") == unknown.text.replace("nobody@example.com", "X")


@pytest.mark.parametrize(
    ("password", "repeat", "message"),
    [
        ("short", "short", "at least 12 characters"),
        ("a long enough password", "a different long password", "The two passwords differ"),
        ("head1@example.com", "head1@example.com", "must not be the e-mail address"),
    ],
)
def test_a_weak_or_mistyped_new_password_is_refused_and_the_link_still_works(
    client, db, settings, people, password, repeat, message
):
    ask_for_link(client, db, settings, people.head_fl1)
    path = f"/password/reset/{_reset_token(db, settings, people.head_fl1)}"
    refused = post_form(client, path, path, {"password": password, "repeat": repeat})
    assert refused.status_code == 400 and message in refused.text
    assert client.get(path).status_code == 200


def test_an_expired_reset_link_does_not_work(client, db, settings, people):
    ask_for_link(client, db, settings, people.hr)
    with db.session() as session:
        session.exec(update(PasswordReset).values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))
        session.commit()
    assert client.get(f"/password/reset/{_reset_token(db, settings, people.hr)}").status_code == 404


def test_a_deactivated_account_is_signed_out_and_cannot_log_in(client, db, people):
    log_in(client, people.head_fl1)
    from survey.accounts.users import deactivate_user

    with db.session() as session:
        deactivate_user(session, session.exec(select(User).where(User.email == people.head_fl1)).one())
    assert client.get("/my", follow_redirects=False).status_code == 303
    assert log_in(client, people.head_fl1).status_code == 400


def test_survey_user_create_makes_an_account_that_can_log_in(database_url, client, org):
    env = {"SURVEY_DATABASE_URL": database_url, "SURVEY_SECRET_KEY": "a-test-secret"}
    created = CliRunner().invoke(
        main,
        ["user", "create", "Boss@Example.com", "--role", "head", "--unit", "FL1", "--password-stdin"],
        input=PASSWORD + "\n",
        env=env,
    )
    assert created.exit_code == 0, created.output
    assert log_in(client, "boss@example.com").headers["location"] == "/my"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["user", "create", "not-an-address", "--role", "hr", "--password-stdin"],
            "is not an e-mail address",
        ),
        (
            ["user", "create", "a@example.com", "--role", "head", "--password-stdin"],
            "needs at least one unit",
        ),
        (["user", "create", "a@example.com", "--role", "head", "--unit", "NOPE", "--password-stdin"], "NOPE"),
        (["user", "create", "a@example.com", "--role", "hr", "--password-stdin"], "at least 12 characters"),
        (["user", "create", "a@example.com", "--role", "boss", "--password-stdin"], "'boss' is not one of"),
    ],
)
def test_survey_user_create_refuses_bad_input_with_exit_2(database_url, org, args, message):
    env = {"SURVEY_DATABASE_URL": database_url, "SURVEY_SECRET_KEY": "a-test-secret"}
    result = CliRunner().invoke(main, args, input="short\n", env=env)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_asking_for_reset_links_again_and_again_sends_few_mails_and_then_slows_the_client(
    client, db, settings, people
):
    answers = [ask_for_link(client, db, settings, people.hr).status_code for _ in range(11)]
    assert answers[:10] == [200] * 10 and answers[10] == 429
    with db.session() as session:
        assert len(session.exec(select(OutboxMessage)).all()) == 3  # the rest were answered but not sent


@pytest.mark.parametrize("path", ["/login", "/password/forgot"])
def test_a_nul_in_an_email_address_is_a_clear_answer_not_a_crash(client, people, path):
    page = client.get(path)
    response = client.post(
        path, data={"email": "hr\x00@example.com", "password": "x", "_csrf_token": csrf_from(page.text)}
    )
    expected = {"/login": "Wrong e-mail address or password", "/password/forgot": "is on its way"}[path]
    assert response.status_code in (200, 400) and expected in response.text


def test_a_form_post_to_a_path_containing_api_still_needs_its_csrf_token(client, people):
    response = client.post("/password/reset/api-lookalike", data={"password": "x" * 20, "repeat": "x" * 20})
    assert response.status_code == 403


# --- Password links are secrets: not in the outbox, shown once to the HR account that sent them -----------


def _statements_of(db, request) -> list[str]:
    """The SQL statements a request runs (their text, without parameters)."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        request()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return seen


def _row_counts(db) -> dict[str, int]:
    with db.session() as session:
        return {
            table.name: session.exec(sa_select(func.count()).select_from(table)).one()[0]
            for table in SQLModel.metadata.sorted_tables
        }


def test_forgot_password_does_the_same_work_for_a_real_and_an_unknown_address(app, db, settings, people):
    """The attack timed the answer: a real account's request did more work (looked the account up, made a
    link, queued a mail). Now both run the same statements and write the same rows; the scheduler's pass
    mails the real one later."""
    seen, written = {}, {}
    for email in (people.head_fl1, "nobody.here@example.com"):
        with TestClient(app, base_url=BASE_URL) as browser:
            token = csrf_from(browser.get("/password/forgot").text)
            before = _row_counts(db)
            seen[email] = _statements_of(
                db,
                lambda email=email, token=token: browser.post(
                    "/password/forgot", data={"email": email, "_csrf_token": token}
                ),
            )
            after = _row_counts(db)
            written[email] = {
                name: after[name] - before[name] for name in after if after[name] != before[name]
            }
    assert seen[people.head_fl1] == seen["nobody.here@example.com"]
    assert written[people.head_fl1] == written["nobody.here@example.com"]
    assert not any("user_account" in statement for statement in seen[people.head_fl1])
    assert _row_counts(db)["outbox"] == 0
    tick(db, settings, results=False)
    with db.session() as session:
        [mail] = session.exec(select(OutboxMessage)).all()
    assert mail.recipient == people.head_fl1


def _create_head(client, email: str = "new.head@example.com") -> None:
    page = post_form(
        client,
        "/admin/users",
        "/admin/users",
        {"email": email, "name": "New Head", "role": "head", "units": "FL1"},
    )
    assert page.status_code in (200, 303), page.text


def _user_id(db, email: str) -> int:
    with db.session() as session:
        return session.exec(select(User.id).where(User.email == email)).one()


def _message_for(db, email: str) -> int:
    with db.session() as session:
        return session.exec(select(OutboxMessage.id).where(OutboxMessage.recipient == email)).all()[-1]


def test_hr_reading_the_outbox_sees_no_password_link(client, db, settings, people):
    """The attack: without a mail server, HR read the password links of other accounts in the outbox (an
    executive's reset among them) and could take those accounts over."""
    ask_for_link(client, db, settings, people.executive)
    log_in(client, people.hr)
    _create_head(client)
    post_form(client, "/admin/users", f"/admin/users/{_user_id(db, people.executive)}/reset")
    with db.session() as session:
        messages = session.exec(select(OutboxMessage)).all()
    assert len(messages) >= 3 and all(m.kind == MailKind.PASSWORD_RESET for m in messages)
    for message in messages:
        page = client.get(f"/admin/outbox/{message.id}")
        assert page.status_code == 200
        assert re.findall(r"/password/reset/([^\s\"<\[]+)", page.text) == [], message.recipient
    assert "/password/reset/" not in client.get("/admin/outbox").text


def test_hr_may_copy_a_link_it_sent_to_a_new_head_once(client, db, settings, people):
    log_in(client, people.hr)
    _create_head(client)
    message_id = _message_for(db, "new.head@example.com")
    page = client.get(f"/admin/outbox/{message_id}")
    assert "Copy link once" in page.text
    shown = post_form(client, f"/admin/outbox/{message_id}", f"/admin/outbox/{message_id}/reveal")
    assert shown.status_code == 200
    [token] = re.findall(r'value="https://testserver.local/password/reset/([^"]+)"', shown.text)
    assert "Copy link once" not in client.get(f"/admin/outbox/{message_id}").text
    again = post_form(client, f"/admin/outbox/{message_id}", f"/admin/outbox/{message_id}/reveal")
    assert again.status_code == 409 and "shown already, to hr@example.com" in again.text
    assert token not in again.text
    assert f"Password link shown to {people.hr}" in client.get("/admin/users").text
    with db.session() as session:
        reset = session.exec(select(PasswordReset).where(PasswordReset.revealed_at.is_not(None))).one()
        assert reset.revealed_by_id == session.exec(select(User.id).where(User.email == people.hr)).one()
    assert client.get(f"/password/reset/{token}").status_code == 200  # the link works, for its owner


@pytest.mark.parametrize("case", ["owner asked", "another HR account", "executive", "mail server"])
def test_a_password_link_is_not_shown_when_hr_did_not_send_it_to_a_head(
    client, app, db, settings, people, case
):
    with db.session() as session:
        create_user(session, "other.hr@example.com", "Other HR", Role.HR, password=PASSWORD)
    log_in(client, people.hr)
    if case == "owner asked":
        ask_for_link(client, db, settings, people.head_fl1)
        recipient, reason = people.head_fl1, "the account&#39;s owner asked for this link"
    elif case == "executive":
        post_form(client, "/admin/users", f"/admin/users/{_user_id(db, people.executive)}/reset")
        recipient, reason = people.executive, "links to executive accounts are never shown"
    else:
        _create_head(client)
        recipient = "new.head@example.com"
        reason = "a mail server is configured" if case == "mail server" else "only the HR account that sent"
    message_id = _message_for(db, recipient)
    if case == "another HR account":
        client.post("/logout", data={"_csrf_token": csrf_from(client.get("/admin").text)})
        log_in(client, "other.hr@example.com")
    browser = client
    if case == "mail server":
        browser = TestClient(create_app(settings.with_(smtp_url="smtp://127.0.0.1:2525")), base_url=BASE_URL)
        browser.__enter__()
        log_in(browser, people.hr)
    try:
        refused = post_form(browser, f"/admin/outbox/{message_id}", f"/admin/outbox/{message_id}/reveal")
        assert refused.status_code == 409 and reason in refused.text, refused.text
        assert "Copy link once" not in browser.get(f"/admin/outbox/{message_id}").text
    finally:
        if browser is not client:
            browser.__exit__(None, None, None)
    with db.session() as session:
        assert session.exec(select(PasswordReset).where(PasswordReset.revealed_at.is_not(None))).all() == []


def test_the_operator_can_print_a_password_link_the_browser_never_shows(database_url, org):
    env = {"SURVEY_DATABASE_URL": database_url, "SURVEY_SECRET_KEY": "a-test-secret"}
    args = ["user", "create", "boss@example.com", "--role", "executive", "--send-link"]
    created = CliRunner().invoke(main, args, env=env)
    assert created.exit_code == 0, created.output
    message_id = re.search(r"survey mail show (\d+)", created.output).group(1)
    shown = CliRunner().invoke(main, ["mail", "show", message_id], env=env)
    assert shown.exit_code == 0 and re.search(r"/password/reset/[\w-]{20,}", shown.output), shown.output
