"""HR's pages, used as HR would: create rounds and accounts, watch response rates that keep small teams hidden,
hand out and replace links, start a new questionnaire version, manage API tokens."""

from __future__ import annotations

import csv
import io
from urllib.parse import urlsplit

from litestar.testing import TestClient
from sqlmodel import select

from conftest import BASE_URL, NEXT_YEAR, start_round
from helpers import csrf_from, log_in, post_form
from survey.db.models import (
    Employee,
    Instrument,
    Invitation,
    Item,
    MailKind,
    OutboxMessage,
    Round,
    Unit,
    User,
)
from survey.web.app import create_app


def as_hr(client, people):
    assert log_in(client, people.hr).status_code == 303
    return client


def test_hr_creates_a_round_from_the_rounds_page(client, db, people):
    as_hr(client, people)
    made = post_form(
        client,
        "/admin/rounds",
        "/admin/rounds",
        {"name": "2027 Q1", "opens": f"{NEXT_YEAR}-01-04", "days": "14"},
        follow_redirects=False,
    )
    assert made.status_code == 303
    page = client.get(made.headers["location"])
    assert "2027 Q1" in page.text and f"{NEXT_YEAR}-01-18 00:00 UTC" in page.text


def test_a_bad_round_form_says_what_is_wrong_and_keeps_what_was_typed(client, db, people):
    as_hr(client, people)
    bad = post_form(
        client, "/admin/rounds", "/admin/rounds", {"name": "Q", "opens": "04/01/2027", "days": "14"}
    )
    assert bad.status_code == 400 and "Give the first day as a date" in bad.text and 'value="Q"' in bad.text
    start_round(db, "Taken")
    taken = post_form(
        client,
        "/admin/rounds",
        "/admin/rounds",
        {"name": "Taken", "opens": f"{NEXT_YEAR}-01-04", "days": "3"},
    )
    assert taken.status_code == 400 and "exists already" in taken.text


def test_a_round_that_could_never_open_is_refused_on_the_page_and_not_created(client, db, people):
    as_hr(client, people)
    refused = post_form(
        client, "/admin/rounds", "/admin/rounds", {"name": "Late", "opens": "2020-01-06", "days": "14"}
    )
    assert refused.status_code == 400
    assert "Round &#39;Late&#39; was due to close 2020-01-20 00:00 UTC; it cannot open." in refused.text
    with db.session() as session:
        assert session.exec(select(Round)).all() == []


def test_response_rates_hide_small_teams_and_one_more_count_so_none_can_be_derived(client, db, people):
    from survey.db.models import Unit
    from survey.vocabulary import UnitKind

    # The org has FL1..FL3 with 6 staff each; add a kiosk of 2.

    with db.session() as session:
        tiny = Unit(code="FL9", name="Kiosk", kind=UnitKind.FRONT_LINE, public_slug="kiosk-slug")
        session.add(tiny)
        session.flush()
        session.add_all(Employee(email=f"k{n}@example.com", name=f"K {n}", unit_id=tiny.id) for n in range(2))
        session.commit()
    opened = start_round(db)
    with db.session() as session:
        for invitation in session.exec(select(Invitation)).all()[:3]:
            invitation.answered = True
            session.add(invitation)
        session.commit()
    as_hr(client, people)
    page = client.get(f"/admin/rounds/{opened.id}").text
    rows = {line.split("</td>")[0].split(">")[-1]: line for line in page.split("<tr>") if "(FL" in line}
    assert "hidden" in rows["Kiosk (FL9)"]
    hidden = [label for label, row in rows.items() if "hidden" in row]
    total_row = next(line for line in page.split("<tr>") if "All teams" in line)
    # The kiosk, and one more count, so the kiosk's is not the total minus the others: here the total, since the
    # kiosk is in no region and the other teams' region shows its own count elsewhere.
    assert hidden == ["Kiosk (FL9)"] and "hidden" in total_row
    # Every other page shows the round's total the same way.
    assert ">hidden</td>" in client.get("/admin").text
    assert "hidden / 20" in client.get("/admin/rounds").text
    assert "20" in page  # 3 teams x 6 + 2 invited


def test_the_api_gives_the_same_rates_with_hidden_counts_as_null(client, db, people):
    from datetime import UTC, datetime

    from survey.accounts.api_tokens import create_api_token

    opened = start_round(db)
    with db.session() as session:
        _, token = create_api_token(session, "dash", ["rounds:read"], None, datetime.now(UTC))
    rates = client.get(
        f"/api/rounds/{opened.id}/response-rates", headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert rates["invited"] == 18 and rates["answered"] == 0 and rates["minimum_group_size"] == 5
    assert {t["team_code"] for t in rates["teams"]} == {"FL1", "FL2", "FL3"}
    assert all(t["answered"] == 0 for t in rates["teams"])  # 6 invitees each: shown


def test_exported_links_are_shown_once_and_work(client, db, people):
    as_hr(client, people)
    with db.session() as session:
        from datetime import UTC, datetime, timedelta

        from survey.rounds.lifecycle import create_round

        now = datetime.now(UTC)
        a_round = create_round(session, "Manual", now - timedelta(days=1), now + timedelta(days=5))
    page = f"/admin/rounds/{a_round.id}"
    first = post_form(client, page, f"{page}/links")
    assert first.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(first.text)))
    assert len(rows) == 18
    second = post_form(client, page, f"{page}/links")
    assert list(csv.DictReader(io.StringIO(second.text))) == []
    post_form(client, page, f"{page}/open")
    survey = client.get(urlsplit(rows[0]["link"]).path, follow_redirects=True)
    assert survey.status_code == 200 and 'name="round"' in survey.text


def test_a_lost_link_is_replaced_and_the_old_one_stops_working(client, db, people):
    opened = start_round(db)
    email = sorted(opened.links)[0]
    as_hr(client, people)
    page = f"/admin/rounds/{opened.id}"
    answer = post_form(client, page, f"{page}/reissue", {"email": email})
    assert answer.status_code == 200 and "shown this once" in answer.text
    new_link = answer.text.split("<code>")[1].split("</code>")[0]
    assert client.get(opened.path(email)).status_code == 404
    assert client.get(urlsplit(new_link).path, follow_redirects=True).status_code == 200
    unknown = post_form(client, page, f"{page}/reissue", {"email": "stranger@example.com"})
    assert unknown.status_code == 400 and "was not invited" in unknown.text


def test_hr_creates_an_account_and_the_person_gets_a_link_to_set_a_password(client, db, people):
    as_hr(client, people)
    made = post_form(
        client,
        "/admin/users",
        "/admin/users",
        {"email": "New.Head@Example.com", "name": "New Head", "role": "head", "units": "FL3"},
        follow_redirects=False,
    )
    assert made.status_code == 303
    with db.session() as session:
        user = session.exec(select(User).where(User.email == "new.head@example.com")).one()
        assert user.password_hash is None
        mail = session.exec(select(OutboxMessage).where(OutboxMessage.recipient == user.email)).one()
        assert mail.kind == MailKind.PASSWORD_RESET
    bad = post_form(
        client, "/admin/users", "/admin/users", {"email": "x@example.com", "role": "head", "units": ""}
    )
    assert bad.status_code == 400 and "needs at least one unit" in bad.text


def test_hr_cannot_lock_themself_out(client, db, people):
    as_hr(client, people)
    with db.session() as session:
        me = session.exec(select(User).where(User.email == people.hr)).one()
    refused = post_form(client, "/admin/users", f"/admin/users/{me.id}/deactivate")
    assert refused.status_code == 409 and "your own account" in refused.text


def test_a_new_questionnaire_version_leaves_existing_rounds_alone(client, db, people):
    existing = start_round(db)
    as_hr(client, people)
    with db.session() as session:
        source = session.exec(  # the short questionnaire (0009), which new rounds ask
            select(Instrument).where(Instrument.kind == "internal").order_by(Instrument.version.desc())
        ).first()
        items = session.exec(
            select(Item).where(Item.instrument_id == source.id).order_by(Item.position)
        ).all()
    page = f"/admin/instruments/{source.id}"
    form = {f"wording-{i.id}": i.wording for i in items} | {"title": source.title}
    form[f"wording-{items[0].id}"] = "{function} gets it right the first time."
    made = post_form(client, page, f"{page}/new-version", form, follow_redirects=False)
    assert made.status_code == 303
    with db.session() as session:
        versions = session.exec(
            select(Instrument).where(Instrument.kind == "internal").order_by(Instrument.version)
        ).all()
        assert [v.version for v in versions] == [1, 2, 3]
        assert session.get(Round, existing.id).internal_instrument_id == source.id
    with db.session() as session:
        newest = session.exec(select(Item).where(Item.instrument_id == versions[-1].id)).all()
    broken = {f"wording-{i.id}": i.wording for i in newest} | {f"wording-{newest[1].id}": "No placeholder."}
    refused = post_form(
        client,
        f"/admin/instruments/{versions[-1].id}",
        f"/admin/instruments/{versions[-1].id}/new-version",
        broken,
    )
    assert refused.status_code == 400 and "keep {function}" in refused.text


def test_api_tokens_are_shown_once_and_revoked_from_the_page(client, db, people):
    as_hr(client, people)
    page = client.get("/admin/tokens")
    made = client.post(
        "/admin/tokens",
        data={
            "name": "BI dashboard",
            "scope": ["rounds:read", "roster:read"],
            "_csrf_token": csrf_from(page.text),
        },
    )
    token = made.text.split("<code>svy_")[1].split("</code>")[0]
    headers = {"Authorization": f"Bearer svy_{token}"}
    assert client.get("/api/units", headers=headers).status_code == 200
    assert "svy_" + token not in client.get("/admin/tokens").text
    with db.session() as session:
        from survey.db.models import ApiToken

        row = session.exec(select(ApiToken)).one()
        assert row.scopes == "rounds:read roster:read" or row.scopes == "roster:read rounds:read"
    post_form(client, "/admin/tokens", f"/admin/tokens/{row.id}/revoke")
    assert client.get("/api/units", headers=headers).status_code == 401


def test_employee_search_finds_by_name_email_or_unit(client, db, people):
    as_hr(client, people)
    page = client.get("/admin/employees?q=FL2")
    assert page.text.count("@example.com</td>") == 6


def test_pages_escape_what_the_roster_holds(client, db, people):
    with db.session() as session:
        employee = session.exec(select(Employee)).first()
        employee.name = "<script>alert(1)</script>"
        session.add(employee)
        session.commit()
    as_hr(client, people)
    page = client.get("/admin/employees")
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;" in page.text


def test_open_now_invites_and_queues_a_mail_per_employee(client, db, people):
    from datetime import UTC, datetime, timedelta

    from survey.rounds.lifecycle import create_round

    with db.session() as session:
        start = datetime.now(UTC) + timedelta(days=10)
        a_round = create_round(session, "Early", start, start + timedelta(days=14))
    as_hr(client, people)
    page = f"/admin/rounds/{a_round.id}"
    assert post_form(client, page, f"{page}/open", follow_redirects=False).status_code == 303
    with db.session() as session:
        invited = session.exec(select(Invitation).where(Invitation.round_id == a_round.id)).all()
        mails = session.exec(select(OutboxMessage).where(OutboxMessage.kind == MailKind.INVITATION)).all()
    assert len(invited) == 18 and sorted(m.invitation_id for m in mails) == sorted(i.id for i in invited)
    again = post_form(client, page, f"{page}/open")
    assert again.status_code == 409 and "only a scheduled round can be opened" in again.text


def test_hr_sets_a_quarterly_schedule_and_sees_its_next_round(client, db, people):
    as_hr(client, people)
    form = {
        "name": "Quarterly", "months": "jan,apr,jul,oct", "week": "1", "weekday": "0", "open_time": "09:00",
        "timezone": "Europe/Berlin", "days_open": "14", "reminder_days": "5,10", "lead_days": "28", "units": "",
    }  # fmt: skip
    saved = post_form(client, "/admin/schedules", "/admin/schedules", form, follow_redirects=False)
    assert saved.status_code == 303
    page = client.get("/admin/schedules").text
    assert "first Monday" in page and "Europe/Berlin" in page and "opens" in page


def test_a_bad_schedule_names_every_wrong_field_and_saves_nothing(client, db, people):
    as_hr(client, people)
    form = {
        "name": "Broken", "months": "13", "week": "1", "weekday": "0", "open_time": "25:00",
        "timezone": "Mars/Olympus", "days_open": "0", "reminder_days": "30", "lead_days": "28", "units": "NOPE",
    }  # fmt: skip
    refused = post_form(client, "/admin/schedules", "/admin/schedules", form)
    assert refused.status_code == 400
    for field in ("months", "open_time", "timezone", "days_open", "units"):
        assert f'id="{field}-error"' in refused.text, field
    assert 'value="Mars/Olympus"' in refused.text
    from survey.db.models import Schedule

    with db.session() as session:
        assert session.exec(select(Schedule)).all() == []


def test_a_schedule_can_be_paused_and_resumed(client, db, people):
    from survey.rounds.scheduler import create_schedule

    with db.session() as session:
        schedule = create_schedule(session, "Quarterly")
    as_hr(client, people)
    page = f"/admin/schedules/{schedule.id}"
    post_form(client, page, page, {"action": "pause"})
    assert "paused" in client.get(page).text
    post_form(client, page, page, {"action": "resume"})
    assert ">active<" in client.get(page).text


def test_without_a_mail_server_hr_reads_invitations_in_the_outbox(client, db, settings, people):
    import asyncio
    from datetime import UTC, datetime, timedelta

    from survey.mail.delivery import deliver_pending
    from survey.rounds.lifecycle import create_round
    from survey.rounds.scheduler import open_now

    with db.session() as session:
        start = datetime.now(UTC) + timedelta(days=3)
        a_round = create_round(session, "Mailed", start, start + timedelta(days=14))
    open_now(db, settings, a_round.id)
    asyncio.run(deliver_pending(db, settings))
    as_hr(client, people)
    listing = client.get("/admin/outbox")
    assert (
        "No mail server is configured" in listing.text
        and listing.text.count('class="badge stored">stored<') == 18
    )
    with db.session() as session:
        message = session.exec(select(OutboxMessage)).first()
    shown = client.get(f"/admin/outbox/{message.id}")
    link = shown.text.split("https://testserver.local/i/")[1].split()[0]
    assert client.get(f"/i/{link}", follow_redirects=True).status_code == 200
    assert 'action="/admin/outbox/' not in shown.text  # nothing to send it with


def test_with_a_mail_server_hr_never_sees_personal_or_password_links(client, db, settings, people):
    from datetime import UTC, datetime

    from survey.accounts.sign_in import start_password_reset

    with db.session() as session:
        start_password_reset(session, people.executive, settings, datetime.now(UTC))
        message = session.exec(select(OutboxMessage)).one()
    app = create_app(settings.with_(smtp_url="smtp://127.0.0.1:2525"))
    with TestClient(app, base_url=BASE_URL) as browser:
        as_hr(browser, people)
        shown = browser.get(f"/admin/outbox/{message.id}").text
    assert "/password/reset/[redacted]" in shown and "links are hidden here" in shown


def test_a_lost_link_form_does_not_tell_who_has_answered(client, db, people):
    opened = start_round(db)
    email = sorted(opened.links)[0]
    with db.session() as session:
        from survey.db.models import Employee

        employee = session.exec(select(Employee).where(Employee.email == email)).one()
        invitation = session.exec(select(Invitation).where(Invitation.employee_id == employee.id)).one()
        invitation.answered = True
        session.add(invitation)
        session.commit()
    as_hr(client, people)
    page = f"/admin/rounds/{opened.id}"
    answer = post_form(client, page, f"{page}/reissue", {"email": email})
    assert answer.status_code == 200 and "shown this once" in answer.text


def test_watching_a_round_live_reloads_the_page_but_only_when_asked(client, db, people):
    opened = start_round(db)
    as_hr(client, people)
    assert 'http-equiv="refresh"' in client.get(f"/admin/rounds/{opened.id}?live=1").text
    assert (
        'http-equiv="refresh"' not in client.get(f"/admin/rounds/{opened.id}").text
    )  # forms keep what is typed


def test_the_outbox_pages_and_finds_a_recipient(client, db, settings, people):
    from datetime import UTC, datetime, timedelta

    from survey.rounds.lifecycle import create_round
    from survey.rounds.scheduler import open_now

    extra_staff = [f"extra{n}@example.com" for n in range(100)]
    with db.session() as session:
        from survey.db.models import Employee, Unit

        team = session.exec(select(Unit).where(Unit.code == "FL1")).one()
        session.add_all(Employee(email=e, name=e, unit_id=team.id) for e in extra_staff)
        session.commit()
        start = datetime.now(UTC) + timedelta(days=3)
        a_round = create_round(session, "Big", start, start + timedelta(days=14))
    open_now(db, settings, a_round.id)  # 118 invitation mails
    as_hr(client, people)
    first = client.get("/admin/outbox").text
    assert first.count('<tr><td><a href="/admin/outbox/') == 100 and "Older" in first
    second = client.get("/admin/outbox?page=2").text
    assert second.count('<tr><td><a href="/admin/outbox/') == 18 and "Newer" in second
    found = client.get("/admin/outbox?q=EXTRA42@").text
    assert found.count('<tr><td><a href="/admin/outbox/') == 1 and "extra42@example.com" in found


def test_hr_changes_which_units_a_head_sees(client, db, people):
    with db.session() as session:
        head = session.exec(select(User).where(User.email == people.head_fl1)).one()
        units = {u.code: u.id for u in session.exec(select(Unit))}
    as_hr(client, people)
    saved = post_form(
        client, "/admin/users", f"/admin/users/{head.id}/units", {"units": "FL2 FL3"}, follow_redirects=False
    )
    assert saved.status_code == 303
    refused = post_form(client, "/admin/users", f"/admin/users/{head.id}/units", {"units": "NOPE"})
    assert refused.status_code == 400 and "No unit with code NOPE." in refused.text
    client.cookies.clear()
    log_in(client, people.head_fl1)
    assert client.get(f"/units/{units['FL2']}").status_code == 200
    assert client.get(f"/units/{units['FL1']}").status_code == 404
