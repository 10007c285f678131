"""Signing in with the company's identity provider in a real browser (Debian's chromium, headless), with password
login off: a region head is sent to the provider from the page they asked for, signs in there and comes back to
it; signs out here and at the provider; someone without an account reads why they cannot come in. The login and
refusal pages pass axe-core and fit a 390 px phone."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect, sync_playwright

from conftest import make_org, make_people
from helpers import free_port
from identity_provider import CLIENT_ID, CLIENT_SECRET, running_provider
from survey.db.engine import Database, upgrade
from test_browser import CHROMIUM, CHROMIUM_FLAGS, axe_violations, phone_page_for_axe, serving

SHOTS = os.environ.get(
    "SURVEY_SCREENSHOTS"
)  # a folder to keep the pages' screenshots in, for a person to look at


def _shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def _sign_in_at_provider(page, login: str) -> None:
    page.locator('input[name="login"]').fill(login)
    page.locator('input[name="password"]').fill("any password")
    page.get_by_role("button", name="Sign-in").click()
    page.get_by_role("button", name="Continue").click()


@pytest.mark.browser
def test_a_head_signs_in_and_out_through_the_provider_in_a_browser(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    url = f"sqlite:///{tmp_path}/browser.db"
    upgrade(url)
    db = Database(url)
    make_org(db)
    make_people(db)
    db.dispose()
    with (
        running_provider(base) as issuer,
        serving(
            url,
            base,
            port,
            SURVEY_OIDC_ISSUER=issuer,
            SURVEY_OIDC_CLIENT_ID=CLIENT_ID,
            SURVEY_OIDC_CLIENT_SECRET=CLIENT_SECRET,
            SURVEY_OIDC_SCOPES="openid email groups",
            SURVEY_OIDC_NAME="Example Corp",
            SURVEY_OIDC_GROUPS_CLAIM="groups",
            SURVEY_OIDC_GROUP_ROLES="survey-hr=hr,leadership=executive",
            SURVEY_PASSWORD_LOGIN="off",
            SURVEY_BREAK_GLASS_EMAIL="hr@example.com",
        ),
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        found: dict[str, list[str]] = {}
        page = phone_page_for_axe(browser)
        page.goto(f"{base}/my")
        assert page.url.startswith(f"{base}/login?next=")
        expect(page.get_by_role("link", name="Sign in with Example Corp")).to_be_visible()
        expect(page.get_by_label("Password")).to_be_hidden()  # folded away for the break-glass account
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        found["login"] = axe_violations(page)
        _shot(page, "login-390")

        page.get_by_role("link", name="Sign in with Example Corp").click()
        assert page.url.startswith(issuer)
        _sign_in_at_provider(page, "rita")
        page.wait_for_url(f"{base}/my")
        expect(page.get_by_text("Rita Region (department head)")).to_be_visible()
        expect(page.get_by_text("Store 1").first).to_be_visible()

        page.get_by_role("button", name="Log out").click()
        page.get_by_role("button", name="Yes, sign me out").click()  # the provider asks
        page.wait_for_url(f"{base}/login")
        page.goto(f"{base}/my")
        assert page.url.startswith(f"{base}/login?next=")

        page.get_by_role("link", name="Sign in with Example Corp").click()
        _sign_in_at_provider(page, "stranger")
        expect(page.get_by_role("heading", name="Sign-in did not complete")).to_be_visible()
        expect(page.get_by_text("There is no account for stranger@example.com")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        found["refused"] = axe_violations(page)
        _shot(page, "refused-390")

        desktop = browser.new_page(viewport={"width": 1280, "height": 800})
        desktop.goto(f"{base}/login")
        desktop.get_by_text("Emergency access for HR").click()
        expect(desktop.get_by_label("Password")).to_be_visible()
        _shot(desktop, "login-1280")
        browser.close()
    assert found == {"login": [], "refused": []}
