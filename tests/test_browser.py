"""Real browsers (Debian's chromium, headless): an employee on a phone answers the survey; a new HR user finds
their way around the administration on a laptop."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright
from pypdf import PdfReader
from sqlmodel import select

from conftest import make_org, make_people, start_round
from helpers import PASSWORD, compute_results, english_left_in, free_port
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
def serving(url: str, base_url: str, port: int, **more_settings: str):
    """`survey serve` on the database at `url` (and any more SURVEY_* settings), until the block ends."""
    env = {
        **os.environ,
        "SURVEY_DATABASE_URL": url,
        "SURVEY_SECRET_KEY": "browser-test-secret-key-0123456789",
        "SURVEY_BASE_URL": base_url,
        "SURVEY_COOKIE_SECURE": "false",  # plain HTTP on loopback
        **more_settings,
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
def test_an_employee_answers_on_a_phone_step_by_step_and_resumes_a_draft(server, tmp_path):
    link = next(v for k, v in server.items() if k != "base")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
        page = phone.new_page()
        sent_elsewhere = []
        page.on("request", lambda r: r.url.startswith(server["base"]) or sent_elsewhere.append(r.url))
        page.goto(link)
        assert page.url.endswith("/survey")  # the token left the address bar
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # fits the phone
        expect(page.get_by_text("kept in this browser on this device only")).to_be_visible()

        # The checklist: two of the three functions used.
        names = page.locator("label.check span").all_inner_texts()
        page.get_by_role("checkbox", name=names[0]).check()
        page.get_by_role("checkbox", name=names[2]).check()
        page.get_by_role("button", name="Next").click()
        expect(page.get_by_role("heading", level=2)).to_have_text(f"Function 1 of 2: {names[0]}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        groups = page.locator("fieldset.question")
        for q in range(groups.count()):
            groups.nth(q).get_by_role("radio", name="5", exact=True).check()
        groups.nth(0).get_by_role("radio", name="Not applicable / don't know").check()
        # The 7 points sit on one row, "not applicable" below them.
        tops = groups.nth(1).locator(".scale .choice").evaluate_all("els => els.map(e => e.offsetTop)")
        assert len(set(tops)) == 1, tops
        page.get_by_label(f"Anything else about {names[0]}? (optional)").fill(
            "The new ticket form is better."
        )
        page.get_by_role("button", name="Next").click()
        expect(page.get_by_role("heading", level=2)).to_have_text(f"Function 2 of 2: {names[2]}")
        page.locator("fieldset.question").nth(0).get_by_role("radio", name="3", exact=True).check()

        # The tab is closed; the same device comes back later and continues where it was.
        page.close()
        page = phone.new_page()
        page.goto(f"{server['base']}/survey")
        page.get_by_role("button", name="Continue where I left off").click()
        expect(page.get_by_role("heading", level=2)).to_have_text(f"Function 2 of 2: {names[2]}")
        expect(
            page.locator("fieldset.question").nth(0).get_by_role("radio", name="3", exact=True)
        ).to_be_checked()
        draft_keys = page.evaluate("Object.keys(localStorage)")
        assert draft_keys and all(k.startswith("survey-draft-round-") for k in draft_keys), draft_keys
        page.get_by_role("button", name="Send my answers").click()

        expect(page.get_by_role("heading", level=1)).to_have_text("Thank you: your answers are in")
        # The draft is gone once sent: the thank-you page's script clears it as it loads (waited for, since the
        # heading can show before the script has run on a busy machine; fails if it never clears).
        page.wait_for_function("Object.keys(localStorage).length === 0", timeout=10_000)
        assert sent_elsewhere == []

        # The same link, opened again, will not take a second set of answers.
        page.goto(link)
        expect(page.get_by_role("heading", level=1)).to_have_text("You have already answered")
        browser.close()


@pytest.fixture(params=[None, 1])
def four_functions_server(request, tmp_path):
    """`survey serve` with four support functions and an open round on the default (short) questionnaire or on
    the full one (version 1); yields one personal link, the base URL and the questionnaire's items per function."""
    from survey.surveys.intake import Intake

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    url = f"sqlite:///{tmp_path}/keyboard.db"
    upgrade(url)
    db = Database(url)
    make_org(db, functions=4, teams=1, staff=5)
    a_round = start_round(db, internal_version=request.param)
    items = len(Intake(db).sections(a_round.id, "en")[0].questions)
    db.dispose()
    link = next(iter(a_round.links.values())).replace("https://testserver.local", base_url)
    with serving(url, base_url, port):
        yield {"link": link, "base": base_url, "items": items, "db": url}


# The respondent's ratings, in turn: a mix of the scale's points and "not applicable".
RATINGS = [5, 6, 4, 7, "na", 6, 3, 5, 2, 6, 1]


def keys_for(rating) -> list[str]:
    """The fewest arrow presses from a scale's first point (where Tab lands) to `rating`: right along the scale,
    or left round to "not applicable" and down from 7; Space takes the first point itself."""
    if rating == "na":
        return ["ArrowLeft"]
    if rating == 1:
        return ["Space"]
    right, left = rating - 1, 1 + (7 - rating)
    return ["ArrowRight"] * right if right <= left else ["ArrowLeft"] * left


@pytest.mark.browser
def test_four_functions_by_keyboard_only_on_a_phone(four_functions_server, tmp_path):
    """Tab, arrows, Space and Enter only, at 390 px: tick four functions, rate each on its step, send."""
    server = four_functions_server
    presses, answers = [], 0
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()

        def press(*keys: str) -> None:
            for key in keys:
                page.keyboard.press(key)
                presses.append(key)

        page.goto(server["link"])
        for _ in range(4):  # the checklist
            press("Tab", "Space")
            answers += 1
        press("Enter")
        for number in range(1, 5):
            expect(page.get_by_role("heading", level=2)).to_contain_text(f"Function {number} of 4")
            for item in range(server["items"]):
                press("Tab", *keys_for(RATINGS[(item + number) % len(RATINGS)]))
                answers += 1
            press("Enter")  # Next, or Send on the last step
        expect(page.get_by_role("heading", level=1)).to_have_text("Thank you: your answers are in")
        browser.close()
    print(
        f"\nkeyboard only, 4 functions, {server['items']} items each: {answers} answers, {len(presses)} key presses"
    )
    db = Database(server["db"])
    with db.engine.connect() as connection:
        from sqlalchemy import text

        rows = connection.execute(text("SELECT answers FROM internal_review WHERE used")).all()
    db.dispose()
    assert len(rows) == 4 and all(len(json.loads(r[0])) == server["items"] for r in rows)
    if server["items"] <= 6:  # the target, for the short questionnaire
        assert answers <= 30 and len(presses) <= 120, (answers, len(presses))


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


# axe-core, installed by `make axe` (npm) into .cache/axe; the rule sets of WCAG 2.0, 2.1 and 2.2 at A and AA.
AXE = Path(__file__).resolve().parent.parent / ".cache/axe/node_modules/axe-core/axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def axe_violations(page) -> list[str]:
    """What axe-core finds against WCAG 2.2 AA on the page as it is now: one line per rule and element."""
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}}).then(r => r.violations)", WCAG_AA
    )
    return [f"{v['id']} ({v['help']}): {' '.join(node['target'])}" for v in violations for node in v["nodes"]]


def phone_page_for_axe(browser):
    """A 390 px page that lets the test inject axe-core: the app's CSP forbids the inline script that
    add_script_tag makes, so this test's context alone bypasses it."""
    assert AXE.exists(), f"axe-core is missing at {AXE}: run `make axe` (npm install) first"
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, bypass_csp=True)
    return context.new_page()


@pytest.mark.browser
def test_every_employee_step_passes_axe_at_390_px(server):
    link = next(v for k, v in server.items() if k != "base")
    found: dict[str, list[str]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = phone_page_for_axe(browser)
        page.goto(link)
        found["checklist"] = axe_violations(page)
        # A move no page offers (a tampered button), in a second tab: refused, nothing kept.
        other = page.context.new_page()
        other.goto(f"{server['base']}/survey")
        other.get_by_role("button", name="Next").evaluate("e => { e.value = 'sideways' }")
        other.get_by_role("button", name="Next").click()
        expect(other.get_by_role("heading", level=1)).to_have_text(
            "This step of the survey could not be shown"
        )
        found["a refused step"] = axe_violations(other)
        other.close()
        page.locator("label.check input").nth(0).check()
        page.locator("label.check input").nth(1).check()
        page.get_by_role("button", name="Next").click()
        expect(page.get_by_role("heading", level=2)).to_contain_text("Function 1 of 2")
        found["a function's step"] = axe_violations(page)
        # A tampered answer (a point the scale does not have): the step comes back with its errors.
        page.locator("fieldset.question input[type=radio]").first.evaluate(
            "e => { e.value = '99'; e.checked = true }"
        )
        page.get_by_role("button", name="Next").click()
        expect(page.get_by_role("alert")).to_contain_text("Some answers need another look")
        found["a step with errors"] = axe_violations(page)
        page.locator("fieldset.question").first.get_by_role("radio", name="5", exact=True).check()
        page.get_by_role("button", name="Next").click()
        expect(page.get_by_role("heading", level=2)).to_contain_text("Function 2 of 2")
        found["the last step"] = axe_violations(page)
        page.get_by_role("button", name="Send my answers").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Thank you: your answers are in")
        found["thanks"] = axe_violations(page)
        browser.close()
    assert {name: lines for name, lines in found.items() if lines} == {}


def customer_slug(tmp_path) -> str:
    """The public link's slug of the browser tests' first front-line team."""
    from survey.db.models import Unit

    db = Database(f"sqlite:///{tmp_path}/browser.db")
    with db.session() as session:
        slug = session.exec(select(Unit.public_slug).where(Unit.code == "FL1")).one()
    db.dispose()
    return slug


@pytest.mark.browser
def test_the_customer_survey_passes_axe_at_390_px(server, tmp_path):
    slug = customer_slug(tmp_path)
    found: dict[str, list[str]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = phone_page_for_axe(browser)
        page.goto(f"{server['base']}/c/{slug}")
        found["blank"] = axe_violations(page)
        page.get_by_role("button", name="Send").click()
        expect(page.get_by_role("alert")).to_contain_text("Overall, how satisfied")
        found["with errors"] = axe_violations(page)
        page.get_by_role("group", name="Overall, how satisfied").get_by_role(
            "radio", name="4", exact=True
        ).check()
        page.get_by_role("button", name="Send").click()
        expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
        found["thanks"] = axe_violations(page)
        browser.close()
    assert {name: lines for name, lines in found.items() if lines} == {}


def contrast(one: str, other: str) -> float:
    """The WCAG contrast ratio of two opaque CSS colours as getComputedStyle gives them ("rgb(r, g, b)")."""

    def luminance(colour: str) -> float:
        channels = [int(c) / 255 for c in colour[colour.index("(") + 1 : -1].split(",")[:3]]
        r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    light, dark = sorted((luminance(one), luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


# Focuses each visible focusable element in turn and reads the outline where it shows (a radio button's on its
# label's box, a checkbox's on its label) and the colour of what lies behind that outline.
FOCUS_RINGS = """els => els.filter(e => e.checkVisibility()).map(e => {
  e.focus();
  const shown = e.type === 'radio' ? e.nextElementSibling : e.type === 'checkbox' ? e.closest('label') : e;
  const style = getComputedStyle(shown);
  let behind = shown.parentElement;
  while (behind && getComputedStyle(behind).backgroundColor === 'rgba(0, 0, 0, 0)') behind = behind.parentElement;
  return {element: e.outerHTML.slice(0, 80), focused: document.activeElement === e, style: style.outlineStyle,
          width: parseFloat(style.outlineWidth), colour: style.outlineColor,
          background: behind ? getComputedStyle(behind).backgroundColor : 'rgb(255, 255, 255)'};
})"""
FOCUSABLE = "main a[href], main button, main textarea, main input:not([type=hidden])"


def weak_focus_rings(page) -> list[str]:
    """The focusable elements on the page whose keyboard focus outline is missing, thinner than 2 px, or under
    3:1 against its background; fails if the page has nothing to focus."""
    page.keyboard.press("Tab")  # the keyboard is in use: focus now shows as it does for a keyboard user
    rings = page.locator(FOCUSABLE).evaluate_all(FOCUS_RINGS)
    assert rings and all(ring["focused"] for ring in rings), rings
    return [
        f"{ring['element']}: {ring['style']} {ring['width']}px {ring['colour']} on {ring['background']}"
        for ring in rings
        if ring["style"] == "none" or ring["width"] < 2 or contrast(ring["colour"], ring["background"]) < 3
    ]


@pytest.mark.browser
def test_the_keyboard_focus_shows_at_3_to_1_on_everything_focusable_in_both_surveys(server, tmp_path):
    slug = customer_slug(tmp_path)
    link = next(v for k, v in server.items() if k != "base")
    weak: dict[str, list[str]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
        page.goto(link)
        weak["checklist"] = weak_focus_rings(page)
        page.locator("label.check input").first.check()
        page.locator("label.check input").nth(1).check()
        page.get_by_role("button", name="Next").click()
        page.locator("fieldset.question input[type=radio]").first.evaluate(
            "e => { e.value = '99'; e.checked = true }"
        )
        page.get_by_role("button", name="Next").click()  # back with an error: the summary's links too
        expect(page.get_by_role("alert")).to_be_visible()
        weak["a function's step with errors"] = weak_focus_rings(page)
        radio = page.locator("fieldset.question").nth(1).get_by_role("radio", name="4", exact=True)
        radio.focus()
        radio.evaluate("e => e.closest('fieldset').scrollIntoView()")
        page.screenshot(path=str(tmp_path / "focused-radio-390.png"))
        page.goto(f"{server['base']}/c/{slug}")
        weak["customer, blank"] = weak_focus_rings(page)
        page.get_by_role("button", name="Send").click()
        expect(page.get_by_role("alert")).to_be_visible()
        weak["customer, with errors"] = weak_focus_rings(page)
        browser.close()
    assert {name: lines for name, lines in weak.items() if lines} == {}


@pytest.mark.browser
def test_a_customer_who_sends_without_the_required_answer_lands_on_the_error_summary(server, tmp_path):
    slug = customer_slug(tmp_path)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
        page.goto(f"{server['base']}/c/{slug}")
        page.get_by_role("group", name="How likely are you to recommend").get_by_role(
            "radio", name="9", exact=True
        ).check()
        page.get_by_role("button", name="Send").click()  # the satisfaction question (CSAT) left out
        expect(page.get_by_role("alert")).to_contain_text("Overall, how satisfied")
        # Focused by a script as the page loads: waited for (the alert can show before the script has run).
        expect(page.locator(".error-summary[role=alert]")).to_be_focused()
        expect(page.locator(".error-summary")).to_contain_text("Overall, how satisfied")
        page.keyboard.press("Tab")  # on from the summary to its first link, which leads to the question
        expect(page.locator(".error-summary a").first).to_be_focused()
        expect(page.locator(".error-summary a").first).to_contain_text("Overall, how satisfied")
        browser.close()


def english_on_page(page, wording: list[str]) -> list[str]:
    """The English strings left on a German page, in its visible text and in its aria-label, title, placeholder
    and alt attributes: the catalog's (those German translates differently) and the questionnaire's own English
    wording (`wording`, translated per instrument version)."""
    text = page.evaluate(
        """() => [document.body.innerText,
                  ...Array.from(document.querySelectorAll('[aria-label],[title],[placeholder],[alt]'))
                     .flatMap(e => ['aria-label', 'title', 'placeholder', 'alt'].map(a => e.getAttribute(a) || ''))
                 ].join('\\n')"""
    )
    return [words for words in wording if words in text] + english_left_in(text)


def instrument_wording(url: str) -> list[str]:
    """Every item's English wording and scale labels, as the instruments hold them ({team} and {function} filled in
    with each name)."""
    from survey.db.models import Item, Unit

    db = Database(url)
    with db.session() as session:
        items = session.exec(select(Item)).all()
        names = session.exec(select(Unit.name)).all()
    db.dispose()
    texts = set()
    for item in items:
        texts |= {item.low_label, item.high_label}
        for name in names:
            texts.add(item.wording.replace("{team}", name).replace("{function}", name))
    return sorted(texts)


@pytest.mark.browser
def test_a_german_respondent_sees_no_english_string_in_either_survey(server, tmp_path):
    from survey.db.models import Employee

    email, link = next((k, v) for k, v in server.items() if k != "base")
    url = f"sqlite:///{tmp_path}/browser.db"
    db = Database(url)
    with db.write() as connection:
        connection.execute(Employee.__table__.update().where(Employee.email == email).values(language="de"))
    db.dispose()
    wording = instrument_wording(url)
    slug = customer_slug(tmp_path)
    found: dict[str, list[str]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        context = browser.new_context(
            viewport={"width": 390, "height": 844}, is_mobile=True, locale="en-GB", bypass_csp=True
        )  # the employee's browser says English: the roster's German comes first
        page = context.new_page()

        def look(name: str) -> None:
            assert page.evaluate("document.documentElement.lang") == "de", name
            assert page.evaluate("document.documentElement.scrollWidth") <= 390, name
            page.screenshot(path=str(tmp_path / f"de-{len(found)}.png"), full_page=True)
            found[name] = english_on_page(page, wording) + axe_violations(page)

        page.goto(link)
        look("checklist")
        page.locator("label.check input").nth(0).check()
        page.locator("label.check input").nth(1).check()
        page.get_by_role("button", name="Weiter").click()
        expect(page.get_by_role("heading", level=2)).to_contain_text("Bereich 1 von 2")
        look("a function's step")
        page.locator("fieldset.question input[type=radio]").first.evaluate(
            "e => { e.value = '99'; e.checked = true }"
        )
        page.get_by_role("button", name="Weiter").click()
        expect(page.get_by_role("alert")).to_contain_text("Einige Antworten bitte noch einmal prüfen")
        look("a step with errors")
        page.locator("fieldset.question").first.get_by_role("radio", name="5", exact=True).check()
        page.get_by_role("button", name="Weiter").click()
        expect(page.get_by_role("heading", level=2)).to_contain_text("Bereich 2 von 2")
        look("the last step")
        page.get_by_role("button", name="Antworten absenden").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Vielen Dank: Ihre Antworten sind angekommen"
        )
        look("thanks")

        customer = browser.new_context(
            viewport={"width": 390, "height": 844}, is_mobile=True, locale="de-DE", bypass_csp=True
        )
        page = customer.new_page()
        page.goto(f"{server['base']}/c/{slug}")
        look("customer: blank")
        page.get_by_role("button", name="Absenden").click()
        expect(page.get_by_role("alert")).to_contain_text("Bitte wählen Sie eine Antwort von 1 bis 5.")
        look("customer: with errors")
        page.locator("fieldset.question").first.get_by_role("radio", name="4", exact=True).check()
        page.get_by_role("button", name="Absenden").click()
        expect(page.get_by_role("heading", name="Vielen Dank")).to_be_visible()
        look("customer: thanks")
        browser.close()
    assert {name: lines for name, lines in found.items() if lines} == {}


@pytest.fixture
def published_server(tmp_path):
    """`survey serve` on a simulated organisation whose rounds are published, with a head of a support function,
    a head of a front-line team and an executive; yields the base URL, the simulation and the units' ids."""
    from survey.accounts.users import create_user
    from survey.db.models import Role, Round, RoundStatus, Unit
    from survey.demo.build import simulate_into
    from survey.demo.simulation import OrgShape
    from survey.rounds.lifecycle import advance_round

    url = f"sqlite:///{tmp_path}/dashboards.db"
    upgrade(url)
    db = Database(url)
    shape = OrgShape(functions=4, teams=12, staff_per_team=10, customers_per_team=30, rounds=3, regions=2)
    sim = simulate_into(db, shape, 5)
    compute_results(db, Settings(database_url=url))
    with db.session() as session:
        for a_round in session.exec(select(Round)).all():
            advance_round(session, a_round, RoundStatus.PUBLISHED)
        for email, role, codes in (
            ("function.head@example.com", Role.HEAD, [sim.functions[0].code]),
            ("team.head@example.com", Role.HEAD, [sim.teams[0].code]),
            ("exec@example.com", Role.EXECUTIVE, []),
        ):
            create_user(session, email, email.split("@")[0], role, codes, password=PASSWORD)
        units = {u.code: u.id for u in session.exec(select(Unit))}
    db.dispose()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with serving(url, base_url, port):
        yield base_url, sim, units


# A figure's "(n = 145)" in a table cell that the line breaks in two: the cell's text, for the message.
CUT_NS = r"""[...document.querySelectorAll('main td')].flatMap(cell => {
  const walk = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT), cut = [];
  while (walk.nextNode()) {
    for (const m of walk.currentNode.data.matchAll(/\(n = \d+\)/g)) {
      const range = document.createRange();
      range.setStart(walk.currentNode, m.index);
      range.setEnd(walk.currentNode, m.index + m[0].length);
      const tops = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
      if (tops.size > 1) cut.push(cell.textContent.trim());
    }
  }
  return cut;
}).slice(0, 5)"""

# What sticks out of a page narrower than its content, outside the boxes that scroll on their own.
WIDER = """[...document.querySelectorAll('main *')]
  .filter(e => e.getBoundingClientRect().right > innerWidth && !e.closest('.table-scroll'))
  .slice(0, 5).map(e => e.tagName + '.' + e.className)"""


def log_in_as(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/my")


@pytest.mark.browser
@pytest.mark.parametrize("width", [390, 1280])
def test_each_head_and_the_executive_read_their_dashboard_on_a_phone_and_a_laptop(
    published_server, tmp_path, width
):
    base, sim, units = published_server
    shots = Path(os.environ.get("SURVEY_SCREENSHOTS", tmp_path))
    found: dict[str, list[str]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        for role, subject, other in (
            ("function.head", sim.functions[0], sim.functions[1]),
            ("team.head", sim.teams[0], sim.teams[1]),
            ("exec", None, None),
        ):
            context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
            page = context.new_page()
            log_in_as(page, base, f"{role}@example.com")
            # one headline first, the statistics folded away until asked for
            expect(page.locator("p.headline")).to_be_visible()
            expect(page.get_by_text("How this was worked out", exact=True)).to_be_visible()
            expect(page.locator("details.method")).not_to_have_attribute("open", "")
            assert_the_pdf_opens_with_the_pages_headline(page, base, role)
            if subject is not None:
                expect(page.get_by_role("heading", level=1)).to_have_text("Your units")
                assert subject.name in page.locator("main").inner_text()
                assert page.goto(f"{base}/units/{units[other.code]}").status == 404, role
                assert page.goto(f"{base}/units/{units[subject.code]}").status == 200, role
            else:
                assert_the_heat_map_is_told_in_words(page)
                team = sim.teams[2]  # any team, one click away
                page.get_by_role("link", name=team.name, exact=True).first.click()
                expect(page.get_by_role("heading", level=1)).to_contain_text(team.name)
                page.go_back()
            assert page.evaluate("document.documentElement.scrollWidth") <= width, (
                role,
                page.evaluate(WIDER),
            )
            assert page.evaluate(CUT_NS) == [], role  # a phone wraps before "(n = ...)", never inside it
            # a trend chart is drawn for A4: shrunk to a phone's width its words were 4 px high; it scrolls instead
            widths = page.locator("figure.trend img").evaluate_all("imgs => imgs.map(i => i.clientWidth)")
            assert all(w >= 560 for w in widths), (role, widths)
            page.screenshot(path=str(shots / f"dashboard-{role}-{width}.png"), full_page=True)
            page.locator("details.method summary").click()
            found[role] = axe_violations(page)
            context.close()
        browser.close()
    assert {role: lines for role, lines in found.items() if lines} == {}


def assert_the_pdf_opens_with_the_pages_headline(page, base: str, role: str) -> None:
    """The PDF the page links to is the same report: its text holds the page's headline word for word."""
    headline = " ".join(page.locator("p.headline").inner_text().split())
    link = page.get_by_role("link", name="Download this report as a PDF").get_attribute("href")
    pdf = page.request.get(base + link)
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.body())).pages).split())
    assert headline in text, (role, headline)


def assert_the_heat_map_is_told_in_words(page) -> None:
    """The key stands above the grid; every shaded cell says how far it lies from the organisation, every hidden
    one says so; the grid scrolls in its own box with the team names kept in view."""
    key, grid = page.locator(".heat-key").first, page.locator("table.heat").first
    assert key.bounding_box()["y"] < grid.bounding_box()["y"]
    said = page.locator("td.heat-cell").evaluate_all("cells => cells.map(c => [c.className, c.textContent])")
    assert any("shade-hidden" in css for css, _ in said) and any("shade-2" in css for css, _ in said)
    for css, words in said:
        if "shade-hidden" in css:
            assert words.strip() == "hidden"
        elif "shade" in css:
            assert re.search(r"(below|above|level with) the organisation$", words.strip()), words
    assert page.locator(".heat-scroll").nth(1).evaluate("e => getComputedStyle(e).overflowX") == "auto"
    sticky = page.locator("table.heat tbody th").first.evaluate("e => getComputedStyle(e).position")
    assert sticky == "sticky"
