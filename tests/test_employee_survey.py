"""An employee answers the internal survey from a personal link: once, anonymously, whatever they try."""

from __future__ import annotations

import asyncio
import re
import threading

from sqlalchemy import func, select, text
from sqlmodel import SQLModel

from helpers import employee_answers, open_survey, step_survey, submit_survey
from survey.db.models import InternalResponse, InternalReview, Invitation, RoundStatus
from survey.rounds.lifecycle import advance_round, find_round
from survey.surveys.intake import Intake
from survey.surveys.pages import SESSION_COOKIE
from survey.surveys.questionnaire import Review
from survey.tokens import token_hash


def count(db, model) -> int:
    with db.session() as session:
        return session.exec(select(func.count()).select_from(model)).one()[0]


def answered(db, email_link: str) -> bool:
    token = email_link.rsplit("/", 1)[1]
    with db.session() as session:
        return session.exec(
            select(Invitation.answered).where(Invitation.token_hash == token_hash(token))
        ).one()[0]


def test_opening_the_link_swaps_the_token_for_a_cookie_and_a_clean_url(client, open_round):
    email = next(iter(open_round.links))
    token = open_round.links[email].rsplit("/", 1)[1]

    response = client.get(open_round.path(email), follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/survey"
    cookie = response.cookies.get(SESSION_COOKIE)
    assert cookie and cookie != token
    set_cookie = response.headers.get_list("set-cookie")
    survey_cookie = next(c for c in set_cookie if c.startswith(SESSION_COOKIE))
    assert "HttpOnly" in survey_cookie and "Secure" in survey_cookie and "SameSite=lax" in survey_cookie
    assert response.headers["referrer-policy"] == "no-referrer"
    page = client.get("/survey")
    assert page.status_code == 200
    assert token not in page.text
    assert "Store" in page.text and "IT Service Desk" in page.text and "Logistics" in page.text


def test_an_employee_answers_once_and_the_link_then_never_works_again(client, db, open_round):
    email = next(iter(open_round.links))
    form = open_survey(client, open_round.path(email))
    data = employee_answers(db, open_round.id, value=6, comment="Quick and friendly.")

    sent = submit_survey(client, form.text, data)

    assert sent.status_code == 303 and sent.headers["location"] == "/survey/thanks"
    assert "your answers are in" in client.get("/survey/thanks").text
    assert answered(db, open_round.links[email])
    assert count(db, InternalResponse) == 1
    with db.session() as session:
        reviews = session.exec(select(InternalReview)).scalars().all()
    assert len(reviews) == 2
    assert all(
        r.used and len(r.answers) == 6 and set(r.answers.values()) == {6} for r in reviews
    )  # the short one
    assert {r.comment for r in reviews} == {"Quick and friendly."}

    again = submit_survey(client, form.text, data)  # the back button and "send" once more
    assert again.status_code == 200 and "already answered" in again.text
    reopened = client.get(open_round.path(email), follow_redirects=True)
    assert "already answered" in reopened.text
    fresh_browser_reopened = client.__class__(client.app, base_url=str(client.base_url))
    with fresh_browser_reopened as other:
        assert "already answered" in other.get(open_round.path(email), follow_redirects=True).text
    assert count(db, InternalResponse) == 1 and count(db, InternalReview) == 2


def test_a_function_not_used_is_an_answer_and_keeps_no_ratings(client, db, org, open_round):
    email = next(iter(open_round.links))
    form = open_survey(client, open_round.path(email))
    data = employee_answers(db, open_round.id, unused=(org.functions[1],))
    # Ratings sent anyway for the unused function (radios cannot be cleared without script) are ignored.
    section = Intake(db).sections(open_round.id, "en")[1]
    data.update({section.field(q): "2" for q in section.questions})

    assert submit_survey(client, form.text, data).status_code == 303

    with db.session() as session:
        reviews = {r.function_id: r for r in session.exec(select(InternalReview)).scalars()}
    assert reviews[org.functions[1]].used is False and reviews[org.functions[1]].answers == {}
    assert reviews[org.functions[0]].used is True


def test_invalid_answers_come_back_on_their_step_with_a_message_for_each(client, db, open_round):
    email = next(iter(open_round.links))
    form = open_survey(client, open_round.path(email))
    sections = Intake(db).sections(open_round.id, "en")
    data = employee_answers(db, open_round.id, value=3)
    first, second = sections[0], sections[1]
    bogus = first.field(first.questions[1])
    data[bogus] = "9"
    del data[second.use_field]
    data[first.comment_field] = "x" * 2001

    response = submit_survey(client, form.text, data)

    assert response.status_code == 422
    page = response.text
    assert f"Function 1 of 1: {first.name}" in page  # the step of the first problem (the second unticked)
    assert f'id="{bogus}-error"' in page and "“9” is not one of the answers (1 to 7)." in page
    assert f"whether you used {second.name}" in page  # in the summary of problems
    assert "under 2000 characters (this one has 2001)" in page
    # What was typed is kept: on this step as it was chosen, the other steps' answers as hidden fields.
    kept = first.field(first.questions[2])
    assert re.search(rf'name="{kept}" value="3"\s+checked', page)
    assert "x" * 2001 in page
    assert f'type="hidden" name="{second.field(second.questions[0])}" value="3"' in page
    assert count(db, InternalResponse) == 0 and not answered(db, open_round.links[email])


def test_a_double_click_stores_one_response(client, db, open_round, settings):
    """Two submits of the same form race each other; exactly one is stored."""
    email = next(iter(open_round.links))
    form = open_survey(client, open_round.path(email))
    data = employee_answers(db, open_round.id)
    results = []
    start = threading.Barrier(2)

    def send():
        start.wait()
        results.append(submit_survey(client, form.text, data).status_code)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == [200, 303]  # one stored and redirected, one told it was already answered
    assert count(db, InternalResponse) == 1


def test_concurrent_submissions_through_the_intake_store_exactly_once(db, open_round):
    """Below the web layer: the same session submits eight times at once, in one batch and across batches."""
    intake = Intake(db)
    secret = intake.start_session(_invitation_id(db, open_round))
    reviews = [Review(f.function_id, used=False) for f in intake.sections(open_round.id, "en")]

    async def submit_many():
        return await asyncio.gather(
            *(intake.submit_internal(secret, open_round.id, reviews) for _ in range(8))
        )

    assert sorted(asyncio.run(submit_many())) == [False] * 7 + [True]
    assert count(db, InternalResponse) == 1


def test_a_form_naming_another_round_stores_nothing(client, db, open_round):
    email = next(iter(open_round.links))
    form = open_survey(client, open_round.path(email))
    data = employee_answers(db, open_round.id)
    forged = submit_survey(
        client, form.text.replace(f'value="{open_round.id}"', f'value="{open_round.id + 1}"'), data
    )
    assert forged.status_code == 303 and forged.headers["location"] == "/survey"  # back to the current form
    assert count(db, InternalResponse) == 0 and not answered(db, open_round.links[email])


def _invitation_id(db, open_round) -> int:
    with db.session() as session:
        return session.exec(select(Invitation.id).where(Invitation.round_id == open_round.id)).first()[0]


def test_a_bad_link_a_closed_round_and_a_scheduled_round_say_so_and_store_nothing(client, db, open_round):
    assert "not recognised" in client.get("/i/not-a-real-token", follow_redirects=True).text
    assert client.get("/i/not-a-real-token").status_code == 404

    email = next(iter(open_round.links))
    form = open_survey(client, open_round.path(email))
    with db.session() as session:
        advance_round(session, find_round(session, open_round.name), RoundStatus.CLOSED)
    late = submit_survey(client, form.text, employee_answers(db, open_round.id))
    assert late.status_code == 409 and "has closed" in late.text
    assert count(db, InternalResponse) == 0 and not answered(db, open_round.links[email])


def test_a_scheduled_round_is_not_open_yet(client, db, org):
    from conftest import start_round

    scheduled = start_round(db, "2027 Q1", status=RoundStatus.SCHEDULED)
    page = client.get(scheduled.path(next(iter(scheduled.links))), follow_redirects=True)
    assert page.status_code == 409 and "has not opened yet" in page.text


def test_the_survey_page_without_a_link_asks_for_the_link(client, open_round):
    assert client.get("/survey").status_code == 400
    assert "open your personal link again" in client.get("/survey").text


def test_opening_the_link_on_a_second_device_moves_the_survey_there(app, client, db, open_round):
    from litestar.testing import TestClient

    email = next(iter(open_round.links))
    first_form = open_survey(client, open_round.path(email))
    with TestClient(app, base_url=str(client.base_url)) as phone:
        phone_form = open_survey(phone, open_round.path(email))
        stale = submit_survey(client, first_form.text, employee_answers(db, open_round.id))
        assert stale.status_code == 400 and "open your personal link again" in stale.text
        assert submit_survey(phone, phone_form.text, employee_answers(db, open_round.id)).status_code == 303
    assert count(db, InternalResponse) == 1


def test_a_post_without_its_csrf_token_is_refused(client, db, open_round):
    email = next(iter(open_round.links))
    open_survey(client, open_round.path(email))
    response = client.post("/survey", data=employee_answers(db, open_round.id))
    assert response.status_code == 403
    assert "reload the page" in response.text
    assert count(db, InternalResponse) == 0


def test_nul_bytes_and_markup_in_comments_are_stored_as_plain_text(client, db, open_round):
    email = next(iter(open_round.links))
    form = open_survey(client, open_round.path(email))
    data = employee_answers(db, open_round.id, comment="<script>alert(1)</script>\x00 fine")
    assert submit_survey(client, form.text, data).status_code == 303
    with db.session() as session:
        comments = {c for (c,) in session.exec(text("SELECT comment FROM internal_review"))}
    assert comments == {"<script>alert(1)</script> fine"}


def _step_values(page_html: str) -> dict[str, str]:
    """What the step's form would send: its hidden fields (answers of the other steps, and each use)."""
    hidden = dict(re.findall(r'type="hidden" name="((?:use|q|comment)-[0-9-]+)" value="([^"]*)"', page_html))
    return hidden


def test_an_employee_ticks_two_functions_and_rates_each_on_its_own_step(client, db, open_round):
    email = next(iter(open_round.links))
    checklist = open_survey(client, open_round.path(email))
    first, second = Intake(db).sections(open_round.id, "en")
    assert "Which of these did you use this quarter?" in checklist.text
    assert 'name="q-' not in checklist.text  # no rating before the checklist

    step_one = step_survey(client, checklist.text, {first.use_field: "yes", second.use_field: "yes"}, step=0)
    assert step_one.status_code == 200
    assert (
        f"Function 1 of 2: {first.name}" in step_one.text
        and second.name not in step_one.text.split("<h2")[-1]
    )
    on_one = {first.field(q): "6" for q in first.questions} | {first.comment_field: "Quick."}
    on_one[first.field(first.questions[0])] = "na"

    step_two = step_survey(client, step_one.text, {**_step_values(step_one.text), **on_one}, step=1)
    assert step_two.status_code == 200 and f"Function 2 of 2: {second.name}" in step_two.text
    assert "Send my answers" in step_two.text and 'value="next"' not in step_two.text
    carried = _step_values(step_two.text)
    assert carried[first.field(first.questions[1])] == "6" and carried[first.comment_field] == "Quick."

    back = step_survey(client, step_two.text, carried, step=2, go="back")
    assert f"Function 1 of 2: {first.name}" in back.text
    assert re.search(rf'name="{first.field(first.questions[1])}" value="6"\s+checked', back.text)
    assert re.search(rf'name="{first.field(first.questions[0])}" value="na"\s+checked', back.text)

    # On the last step only some statements are rated: the others are skipped.
    on_two = {second.field(q): "4" for q in second.questions[:3]}
    sent = submit_survey(client, step_two.text, {**carried, **on_two})

    assert sent.status_code == 303 and sent.headers["location"] == "/survey/thanks"
    with db.session() as session:
        reviews = {r.function_id: r for r in session.exec(select(InternalReview)).scalars()}
    rated_one = reviews[first.function_id].answers
    assert rated_one[str(first.questions[0].item_id)] is None  # "not applicable": counted, never scored
    assert {rated_one[str(q.item_id)] for q in first.questions[1:]} == {6}
    rated_two = reviews[second.function_id].answers
    assert len(rated_two) == len(second.questions)  # every item has an answer, skipped ones as None
    assert [rated_two[str(q.item_id)] for q in second.questions[:4]] == [4, 4, 4, None]
    assert reviews[first.function_id].comment == "Quick."


def test_an_employee_who_used_none_confirms_and_sends_that(client, db, open_round):
    email = next(iter(open_round.links))
    checklist = open_survey(client, open_round.path(email))

    confirm = step_survey(client, checklist.text, {}, step=0)  # no box ticked

    assert confirm.status_code == 200 and "You used none of these functions this quarter" in confirm.text
    sent = submit_survey(client, confirm.text, _step_values(confirm.text))
    assert sent.status_code == 303
    with db.session() as session:
        reviews = session.exec(select(InternalReview)).scalars().all()
    assert len(reviews) == 2 and not any(r.used or r.answers for r in reviews)


def _every_row(db) -> dict[str, list]:
    with db.engine.connect() as connection:
        tables = [t.name for t in SQLModel.metadata.sorted_tables]
        return {t: sorted(map(str, connection.execute(text(f'SELECT * FROM "{t}"')).all())) for t in tables}


def test_stepping_through_to_the_last_step_stores_nothing_about_the_respondent(client, db, open_round):
    """Anonymity: before the final submit the database holds no review, no draft, and the invitation is open."""
    email = next(iter(open_round.links))
    checklist = open_survey(client, open_round.path(email))
    first, second = Intake(db).sections(open_round.id, "en")
    before = _every_row(db)

    step_one = step_survey(client, checklist.text, {first.use_field: "yes", second.use_field: "yes"}, step=0)
    answers = {first.field(q): "2" for q in first.questions} | {first.comment_field: "Slow again."}
    last = step_survey(client, step_one.text, {**_step_values(step_one.text), **answers}, step=1)
    assert f"Function 2 of 2: {second.name}" in last.text
    resumed = step_survey(client, last.text, _step_values(last.text), step=2, go="stay")
    assert resumed.status_code == 200

    assert _every_row(db) == before  # not one row written, changed or removed
    assert count(db, InternalResponse) == 0 and count(db, InternalReview) == 0
    assert not answered(db, open_round.links[email])


def test_a_step_without_its_csrf_token_is_refused(client, db, open_round):
    email = next(iter(open_round.links))
    open_survey(client, open_round.path(email))
    response = client.post("/survey", data={"round": str(open_round.id), "step": "0", "go": "next"})
    assert response.status_code == 403
