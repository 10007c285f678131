"""Respondents read the surveys, their messages and their mails in their own language: every message translated,
an employee's language from the roster, a customer's from the browser, and a switcher that keeps what was typed."""

from __future__ import annotations

import asyncio
import html
import importlib.util
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import update
from sqlmodel import select

from helpers import (
    csrf_from,
    customer_answers,
    employee_answers,
    english_left_in,
    open_survey,
    step_survey,
)
from survey.db.models import Employee, MailKind, OutboxMessage, Round
from survey.imports.roster import import_roster
from survey.imports.tabular import ImportFile
from survey.languages import Message, from_accept_language, supported_languages
from survey.mail.delivery import deliver_pending
from survey.mail.outbox import render_message
from survey.rounds.lifecycle import create_round
from survey.rounds.scheduler import tick
from survey.surveys.intake import Intake

ROOT = Path(__file__).resolve().parents[1]
_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def messages_tool():
    """tools/messages.py, which `make messages` runs: the extraction the catalogs are made from."""
    spec = importlib.util.spec_from_file_location("messages_tool", ROOT / "tools" / "messages.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def german_catalog():
    with (ROOT / "src/survey/locale/de/LC_MESSAGES/messages.po").open("rb") as file:
        return read_po(file, locale="de")


# --- The catalogs -------------------------------------------------------------------------------------------------


def untranslated(catalog, extracted) -> list[str]:
    """What a catalog lacks: each message extracted from the sources now that it has no translation for, or a
    fuzzy one, or one whose placeholders differ from the English."""
    problems = []
    for source in extracted:
        if not source.id:
            continue
        message = catalog.get(source.id)
        english = source.id if isinstance(source.id, tuple) else (source.id,)
        if message is None:
            problems.append(f"missing: {english[0]!r}")
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            problems.append(f"untranslated or fuzzy: {english[0]!r}")
            continue
        wanted = {name for text in english for name in _PLACEHOLDER.findall(text)}
        for text in strings:
            if set(_PLACEHOLDER.findall(text)) != wanted:
                problems.append(f"placeholders differ: {english[0]!r} -> {text!r}")
    return problems


def test_every_message_a_respondent_reads_is_translated_into_german():
    extracted = messages_tool().extract()
    assert len(extracted) > 90  # the templates, the Python messages and the mails were all read
    assert untranslated(german_catalog(), extracted) == []


def test_a_new_message_without_a_german_translation_fails_the_check():
    extracted = messages_tool().extract()
    extracted.add("A sentence added to a template today", None, [("templates/employee/thanks.html", 1)])
    assert untranslated(german_catalog(), extracted) == ["missing: 'A sentence added to a template today'"]
    catalog = german_catalog()
    catalog.get("Send my answers").string = "Antworten %(wrong)s absenden"
    catalog.get("Back").flags.add("fuzzy")
    assert sorted(untranslated(catalog, extracted)) == [
        "missing: 'A sentence added to a template today'",
        "placeholders differ: 'Send my answers' -> 'Antworten %(wrong)s absenden'",
        "untranslated or fuzzy: 'Back'",
    ]


def test_english_and_german_are_the_supported_languages_and_a_message_reads_in_either():
    assert supported_languages() == ("en", "de")
    message = Message("Choose an answer from %(low)d to %(high)d.", low=1, high=7)
    assert message == "Choose an answer from 1 to 7."
    assert message.in_language("de") == "Bitte wählen Sie eine Antwort von 1 bis 7."


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("de-DE,de;q=0.9", "de"),
        ("fr", None),
        ("fr-FR,fr;q=0.9,de;q=0.5", "de"),
        ("en;q=0.4,de", "de"),
        ("", None),
    ],
)
def test_the_browser_language_is_the_first_supported_one_it_asks_for(header, language):
    assert from_accept_language(header) == language


# --- Employees: the roster's language ------------------------------------------------------------------------


def roster(db, *employees: str):
    files = [
        ImportFile("units.csv", b"code,name,kind\nSF1,IT Service Desk,support\nFL1,Store 1,front_line\n"),
        ImportFile(
            "employees.csv", ("email,name,unit_code,language\n" + "\n".join(employees) + "\n").encode()
        ),
    ]
    return import_roster(db, files, actor="hr@example.com")


def test_the_roster_refuses_a_language_without_a_catalog_naming_row_and_value(db):
    report = roster(db, "ann@example.com,Ann,FL1,de", "bob@example.com,Bob,FL1,xx")
    assert [(p.file, p.line, p.column) for p in report.problems] == [("employees.csv", 3, "language")]
    assert "'xx' is not a language the surveys are written in (en, de" in report.problems[0].message
    with db.session() as session:
        assert session.exec(select(Employee)).all() == []


def test_a_roster_language_is_stored_blank_means_the_default_and_a_file_without_the_column_keeps_it(db):
    assert roster(db, "ann@example.com,Ann,FL1,DE", "bob@example.com,Bob,FL1,").ok
    with db.session() as session:
        assert dict(session.exec(select(Employee.email, Employee.language)).all()) == {
            "ann@example.com": "de",
            "bob@example.com": None,
        }
    files = [
        ImportFile(
            "employees.csv", b"email,name,unit_code\nann@example.com,Ann,FL1\nbob@example.com,Bob,FL1\n"
        )
    ]
    assert import_roster(db, files, actor="hr@example.com").ok
    with db.session() as session:
        assert (
            session.exec(select(Employee.language).where(Employee.email == "ann@example.com")).one() == "de"
        )


NOW = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)


def test_a_german_employee_gets_invitation_and_reminder_in_german_and_an_english_one_in_english(db, settings):
    assert roster(db, "ann@example.com,Anna Becker,FL1,de", "bob@example.com,Bob Baker,FL1,").ok
    with db.session() as session:
        create_round(
            session, "2027 Q1", NOW, NOW + timedelta(days=14), reminders_at=[NOW + timedelta(days=5)], now=NOW
        )
    tick(db, settings, NOW + timedelta(minutes=1))
    tick(db, settings, NOW + timedelta(days=5))
    asyncio.run(deliver_pending(db, settings, NOW + timedelta(days=5)))
    with db.session() as session:
        ids = {
            (message.recipient, message.kind): message.id for message in session.exec(select(OutboxMessage))
        }
        assert session.exec(select(Round.status)).one() == "open"

    invitation = render_message(db, settings, ids["ann@example.com", MailKind.INVITATION])
    assert invitation.subject == "Befragung 2027 Q1: Wie gut werden Sie unterstützt?"
    assert invitation.text.startswith("Guten Tag Anna Becker,")
    assert "Die Befragung läuft bis Montag, 18. Januar 2027, 08:00 Uhr (UTC)." in invitation.text
    assert 'lang="de"' in invitation.html and "Befragung starten" in invitation.html
    reminder = render_message(db, settings, ids["ann@example.com", MailKind.REMINDER])
    assert reminder.subject == "Erinnerung: Die Befragung 2027 Q1 läuft bis Montag, 18. Januar"
    assert "fehlt uns noch" in reminder.text and "Zur Befragung" in reminder.html
    for mail in (invitation, reminder):
        for text in (mail.subject, mail.text, html.unescape(re.sub(r"<[^>]+>", " ", mail.html))):
            assert english_left_in(text) == [], text

    other = render_message(db, settings, ids["bob@example.com", MailKind.INVITATION])
    assert other.subject == "Survey 2027 Q1: how well are you supported?"
    assert "The survey is open until Monday 18 January 2027, 08:00 (UTC)." in other.text


def test_the_default_language_setting_applies_to_employees_without_one(db, settings):
    assert roster(db, "bob@example.com,Bob Baker,FL1,").ok
    with db.session() as session:
        create_round(session, "2027 Q1", NOW, NOW + timedelta(days=14), now=NOW)
    german_by_default = settings.with_(default_language="de")
    tick(db, german_by_default, NOW + timedelta(minutes=1))
    with db.session() as session:
        message_id = session.exec(select(OutboxMessage.id)).one()
    assert render_message(db, german_by_default, message_id).subject.startswith("Befragung 2027 Q1")


# --- Employees: the survey ---------------------------------------------------------------------------------------


def make_german(db, email: str) -> None:
    with db.write() as connection:
        connection.execute(update(Employee).where(Employee.email == email).values(language="de"))


def visible_text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page.split("<body", 1)[1]))


def test_a_german_employee_opens_the_survey_in_german(client, db, open_round):
    email = next(iter(open_round.links))
    make_german(db, email)
    page = open_survey(client, open_round.path(email))
    assert '<html lang="de">' in page.text
    assert "Welche dieser Bereiche haben Sie in diesem Quartal genutzt?" in page.text
    assert 'name="lang" value="de"' in page.text
    assert "Which of these did you use" not in page.text


def test_a_refused_step_tells_a_german_employee_what_is_wrong_in_german(client, db, open_round):
    email = next(iter(open_round.links))
    make_german(db, email)
    page = open_survey(client, open_round.path(email))
    section = Intake(db).sections(open_round.id, "de")[0]
    item = section.fields[0][0]
    answers = {section.use_field: "yes", item: "99", "lang": "de"}
    refused = step_survey(client, page.text, answers, step=1)
    assert refused.status_code == 422
    assert "„99“ ist keine der möglichen Antworten (1 bis 7)." in refused.text
    assert "Einige Antworten bitte noch einmal prüfen" in refused.text
    assert "2 Fragen unten brauchen eine Antwort oder eine Korrektur." in refused.text  # the other: used?
    assert "Bitte geben Sie an, ob Sie Logistics in diesem Quartal genutzt haben." in refused.text
    assert "is not one of the answers" not in refused.text and "need another look" not in refused.text

    bad_step = step_survey(client, page.text, {"lang": "de"}, step=1, go="sideways")
    assert bad_step.status_code == 400
    assert "„sideways“ ist keine Möglichkeit, sich durch die Befragung zu bewegen" in bad_step.text


def test_the_switcher_changes_the_language_mid_survey_and_keeps_the_answers(client, db, open_round):
    email = next(iter(open_round.links))
    page = open_survey(client, open_round.path(email))
    assert '<html lang="en">' in page.text and ">Deutsch</button>" in page.text
    answers = employee_answers(db, open_round.id, value=6, comment="Schnell und freundlich.")
    section = Intake(db).sections(open_round.id, "en")[0]
    on_step_one = {k: v for k, v in answers.items() if k.startswith("use-")}
    first = step_survey(client, page.text, on_step_one, step=0)
    assert first.status_code == 200 and "Function 1 of 2" in first.text
    typed = {**on_step_one, **{k: v for k, v in answers.items() if k.startswith(f"q-{section.function_id}-")}}
    typed[section.comment_field] = "Schnell und freundlich."

    switched = client.post(
        "/survey",
        data={
            "_csrf_token": csrf_from(first.text),
            "round": str(open_round.id),
            "step": "1",
            "lang": "en",
            "switch_language": "de",
            **typed,
        },
    )

    assert switched.status_code == 200
    assert '<html lang="de">' in switched.text and "Bereich 1 von 2" in switched.text
    assert "Schnell und freundlich.</textarea>" in switched.text
    for name, _ in section.fields:
        assert re.search(rf'name="{name}" value="6"\s+checked', switched.text), name
    assert 'name="lang" value="de"' in switched.text


def test_pages_of_an_employee_without_a_session_follow_the_browser(client):
    page = client.get("/i/not-a-real-token", headers={"accept-language": "de-DE,de;q=0.9"})
    assert page.status_code == 404 and "Dieser Link wurde nicht erkannt" in page.text
    assert client.get("/survey/thanks?lang=de").text.count("Vielen Dank") >= 1


# --- Customers: the browser's language --------------------------------------------------------------------------


def test_a_german_browser_gets_the_german_customer_survey_and_a_french_one_english(client, org, open_round):
    slug = org.team_slugs[0]
    german = client.get(f"/c/{slug}", headers={"accept-language": "de-DE,de;q=0.9"})
    assert '<html lang="de">' in german.text and "Wie zufrieden waren Sie mit Store 1?" in german.text
    assert "(freiwillig)" in german.text and "Absenden" in german.text
    french = client.get(f"/c/{slug}", headers={"accept-language": "fr"})
    assert '<html lang="en">' in french.text and "How did Store 1 do?" in french.text


def test_a_german_customer_keeps_german_through_an_error_and_the_thanks_page(client, org, open_round):
    slug = org.team_slugs[0]
    headers = {"accept-language": "fr"}
    data, _ = customer_answers(client, slug)
    switched = client.post(f"/c/{slug}", data={**data, "switch_language": "de"}, headers=headers)
    assert switched.status_code == 200 and '<html lang="de">' in switched.text
    assert re.search(r'value="4"\s+checked', switched.text)  # what was chosen stays chosen

    required = next(k for k in data if k.startswith("q-"))
    refused = client.post(f"/c/{slug}", data={**data, required: "", "lang": "de"}, headers=headers)
    assert refused.status_code == 422 and "Bitte wählen Sie eine Antwort von 1 bis 5." in refused.text

    sent = client.post(f"/c/{slug}", data={**data, "lang": "de"}, headers=headers, follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"] == f"/c/{slug}/thanks?lang=de"
    thanks = client.get(sent.headers["location"], headers=headers)
    assert "Ihre Antworten sind angekommen" in visible_text(thanks.text)


def test_a_respondent_error_page_is_in_their_language(client):
    page = client.get(
        "/c/no-such-team/nothing/here", headers={"accept-language": "de", "accept": "text/html"}
    )
    assert page.status_code == 404
    assert '<html lang="de">' in page.text and "Seite nicht gefunden" in page.text
    staff = client.get("/admin/nothing", headers={"accept-language": "de", "accept": "text/html"})
    assert "Seite nicht gefunden" not in staff.text
