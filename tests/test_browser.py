"""Real browsers (Debian's chromium, headless): an employee on a phone answers the survey; a new HR user finds
their way around the administration on a laptop."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright
from sqlmodel import select

from conftest import make_org, make_people, start_round
from helpers import PASSWORD, compute_results, free_port
from survey.db.engine import Database, upgrade
from survey.settings import Settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run",
]  # fmt: skip


@pytest.fixture
def server(tmp_path):
    """`survey serve` on a fresh database with a small organisation, one account of each role and an open
    round; yields the round's personal links (by e-mail) and the base URL under the key "base"."""
    assert shutil.which(CHROMIUM), (
        "the browser test needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"
    )
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    url = f"sqlite:///{tmp_path}/browser.db"
    upgrade(url)
    db = Database(url)
    make_org(db, functions=3, teams=2, staff=5)
    make_people(db)
    a_round = start_round(db)
    db.dispose()
    links = {
        email: link.replace("https://testserver.local", base_url) for email, link in a_round.links.items()
    }
    with serving(url, base_url, port):
        yield {**links, "base": base_url}


@contextlib.contextmanager
def serving(url: str, base_url: str, port: int):
    """`survey serve` on the database at `url`, until the block ends."""
    env = {
        **os.environ,
        "SURVEY_DATABASE_URL": url,
        "SURVEY_SECRET_KEY": "browser-test-secret-key-0123456789",
        "SURVEY_BASE_URL": base_url,
        "SURVEY_COOKIE_SECURE": "false",  # plain HTTP on loopback
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "survey", "serve", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base_url}/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=15)


@pytest.mark.browser
def test_an_employee_answers_on_a_phone_and_sees_the_thank_you_page(server, tmp_path):
    link = next(v for k, v in server.items() if k != "base")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
        page = phone.new_page()
        page.goto(link)
        assert page.url.endswith("/survey")  # the token left the address bar

        # The page fits the phone: nothing wider than the screen.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390

        # Sending nothing names every unanswered question.
        page.get_by_role("button", name="Send my answers").click()
        expect(page.get_by_role("alert")).to_contain_text("Some answers need another look")

        sections = page.locator("section.function")
        for index in range(sections.count()):
            section = sections.nth(index)
            name = section.get_by_role("heading").inner_text()
            if index == 2:
                section.get_by_role("group", name=f"Did you use {name} this quarter?").get_by_role(
                    "radio", name="No, I did not use it"
                ).check()
                # Its questions fold away without any script.
                expect(section.locator(".questions")).to_be_hidden()
                continue
            section.get_by_role("group", name=f"Did you use {name} this quarter?").get_by_role(
                "radio", name="Yes"
            ).check()
            groups = section.locator("fieldset.question:not(.use)")
            for q in range(groups.count()):
                groups.nth(q).get_by_role("radio", name="5", exact=True).check()
            # The keyboard works too: arrow keys move along a scale.
            first = groups.nth(0).get_by_role("radio", name="5", exact=True)
            first.focus()
            page.keyboard.press("ArrowRight")
            expect(groups.nth(0).get_by_role("radio", name="6", exact=True)).to_be_checked()
        page.get_by_label(
            f"Anything else about {sections.nth(0).get_by_role('heading').inner_text()}? (optional)"
        ).fill("The new ticket form is much better.")
        page.get_by_role("button", name="Send my answers").click()

        expect(page.get_by_role("heading", level=1)).to_have_text("Thank you: your answers are in")
        page.screenshot(path=str(tmp_path / "thanks.png"))

        # The same link, opened again, will not take a second set of answers.
        page.goto(link)
        expect(page.get_by_role("heading", level=1)).to_have_text("You have already answered")
        browser.close()


@pytest.mark.browser
def test_a_new_hr_user_logs_in_sets_a_schedule_and_reads_the_outbox(server, tmp_path):
    base = server["base"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.goto(f"{base}/admin/rounds")
        expect(page.get_by_role("heading", level=1)).to_have_text("Log in")  # sent to log in first
        page.get_by_label("E-mail address").fill("hr@example.com")
        page.get_by_label("Password").fill("not my password")
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("alert")).to_contain_text("Wrong e-mail address or password")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Rounds")  # back where they were going

        page.get_by_role("link", name="2026 Q4").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("2026 Q4")
        expect(page.get_by_role("row", name="All teams")).to_contain_text("10")

        page.get_by_role("navigation", name="Administration").get_by_role("link", name="Schedules").click()
        page.get_by_label("Name").fill("Quarterly")
        page.get_by_label("Time zone").fill("Atlantis/Capital")
        page.get_by_role("button", name="Save the schedule").click()
        expect(page.get_by_role("alert")).to_contain_text("Atlantis/Capital")
        page.get_by_label("Time zone").fill("Europe/Berlin")
        page.get_by_role("button", name="Save the schedule").click()
        expect(page.get_by_role("status")).to_contain_text("Schedule saved")
        expect(page.get_by_role("row", name="Quarterly")).to_contain_text(
            "first Monday of Jan, Apr, Jul, Oct"
        )

        page.get_by_role("navigation", name="Administration").get_by_role("link", name="Accounts").click()
        page.get_by_label("E-mail address").fill("new.head@example.com")
        page.get_by_label("Units (codes, for department heads)").fill("FL1")
        page.get_by_role("button", name="Create and send a password link").click()
        expect(page.get_by_role("status")).to_contain_text("Account created")
        page.get_by_role("navigation", name="Administration").get_by_role("link", name="Outbox").click()
        page.get_by_role("row", name="new.head@example.com").get_by_role("link").click()
        expect(page.locator("pre.mail")).to_contain_text("/password/reset/")
        page.screenshot(path=str(tmp_path / "outbox-message.png"), full_page=True)

        page.get_by_role("button", name="Log out").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
        page.goto(f"{base}/admin")
        expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
        browser.close()


@pytest.mark.browser
def test_a_head_reads_their_report_in_the_browser_as_the_pdf_lays_it_out(tmp_path):
    """The HTML view of a report loads its stylesheet and fonts under the site's content security policy (no
    inline styles), so its heat map's figures sit in their shaded cells as in the PDF."""
    from survey.accounts.users import create_user
    from survey.db.models import Role, Round, RoundStatus
    from survey.demo.build import simulate_into
    from survey.demo.simulation import OrgShape
    from survey.rounds.lifecycle import advance_round

    url = f"sqlite:///{tmp_path}/reports.db"
    upgrade(url)
    db = Database(url)
    sim = simulate_into(
        db, OrgShape(functions=2, teams=6, staff_per_team=6, customers_per_team=10, rounds=2), 3
    )
    compute_results(db, Settings(database_url=url))  # as the server's scheduler does after the closes
    with db.session() as session:
        for a_round in session.exec(select(Round)).all():
            advance_round(session, a_round, RoundStatus.PUBLISHED)
        create_user(
            session, "head@example.com", "Head", Role.HEAD, [sim.functions[0].code], password=PASSWORD
        )
    db.dispose()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with serving(url, base_url, port), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto(f"{base_url}/login")
        page.fill("#email", "head@example.com")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{base_url}/reports")
        links = page.locator("a", has_text="view in the browser")
        assert links.count() == 2  # the function's report in each published round, and nothing else
        links.first.click()
        expect(page.locator("h1")).to_contain_text(sim.functions[0].name)
        assert "Report Sans" in page.evaluate("getComputedStyle(document.body).fontFamily")
        grid = page.locator(".grid-body pre").first
        assert "Report Mono" in grid.evaluate("e => getComputedStyle(e).fontFamily")
        # the page's fonts load after it shows: wait for them (on a busy machine the check ran before they had)
        assert page.evaluate("document.fonts.ready.then(() => document.fonts.check('7pt \\'Report Mono\\''))")
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        with page.expect_download() as download:
            page.goto(f"{base_url}/reports")
            page.locator("a", has_text="PDF").first.click()
        assert download.value.suggested_filename.endswith(".pdf")
        browser.close()


@pytest.mark.browser
def test_a_customer_on_a_phone_sees_each_scale_on_one_row_and_may_answer_only_the_first_question(
    server, tmp_path
):
    from survey.db.models import ExternalResponse, Unit

    db = Database(f"sqlite:///{tmp_path}/browser.db")
    with db.session() as session:
        slug = session.exec(select(Unit.public_slug).where(Unit.code == "FL1")).one()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
        page = phone.new_page()
        page.goto(f"{server['base']}/c/{slug}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        # Each scale: one column per point, all on one row, every point at least 24 px square (WCAG 2.2).
        scales = page.evaluate(
            """[...document.querySelectorAll('fieldset.question')].map(f => ({
                 legend: f.querySelector('legend').innerText,
                 boxes: [...f.querySelectorAll('.choice span')].map(s => s.getBoundingClientRect().toJSON())}))"""
        )
        assert scales[0]["legend"].startswith("Overall, how satisfied")
        assert scales[1]["legend"].startswith("How likely are you to recommend")
        assert [len(s["boxes"]) for s in scales[:2]] == [5, 11]
        for scale in scales:
            assert len({round(box["top"]) for box in scale["boxes"]}) == 1, scale["legend"]
            assert min(min(box["width"], box["height"]) for box in scale["boxes"]) >= 24, scale["legend"]

        page.get_by_role("button", name="Send").click()  # nothing chosen: the one required question is named
        expect(page.get_by_role("alert")).to_contain_text("Overall, how satisfied")
        page.get_by_role("group", name="Overall, how satisfied").get_by_role(
            "radio", name="4", exact=True
        ).check()
        page.get_by_role("button", name="Send").click()
        expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
        browser.close()
    with db.session() as session:
        assert [len(row.answers) for row in session.exec(select(ExternalResponse)).all()] == [1]
    db.dispose()
