"""Action pages in a real browser (Debian's chromium, headless), on the demo: the action's page, the function's
list, HR's list and the team head's request form, at 390 px and 1280 px, pass axe-core (WCAG 2.2 AA) and fit
the phone's width."""

from __future__ import annotations

import pytest
from playwright.sync_api import sync_playwright

from helpers import free_port
from survey.demo.build import DEMO_PASSWORD, build_demo
from test_browser import AXE, CHROMIUM, CHROMIUM_FLAGS, axe_violations, serving

WIDTHS = {"phone": 390, "desktop": 1280}


@pytest.mark.browser
def test_action_pages_pass_axe_and_fit_a_phone(tmp_path):
    assert AXE.exists(), f"axe-core is missing at {AXE}: run `make axe` (npm install) first"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    demo = build_demo(tmp_path / "demo.db", base, "browser-test-secret-key-0123456789")
    function_id = demo.function_ids[demo.truth.driver]
    pages = {
        "function.head@demo.example": [
            ("action", "/actions/1"),
            ("function-list", f"/units/{function_id}/actions"),
        ],
        "hr@demo.example": [("hr-list", "/admin/actions")],
        "team.head@demo.example": [("team-requests", f"/units/{demo.team_ids[0]}/requests")],
    }
    found: dict[str, list[str]] = {}
    with serving(f"sqlite:///{demo.database}", base, port), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        for email, paths in pages.items():
            for device, width in WIDTHS.items():
                context = browser.new_context(
                    viewport={"width": width, "height": 900}, is_mobile=width < 500, bypass_csp=True
                )
                page = context.new_page()
                page.goto(f"{base}/login")
                page.get_by_label("E-mail").fill(email)
                page.get_by_label("Password").fill(DEMO_PASSWORD)
                with page.expect_navigation():
                    page.get_by_role("button", name="Log in").click()
                assert "/login" not in page.url, f"{email} could not log in"
                for name, path in paths:
                    page.goto(f"{base}{path}")
                    page.screenshot(path=str(tmp_path / f"{name}-{device}.png"), full_page=True)
                    found[f"{name} at {width}"] = axe_violations(page)
                    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                    assert overflow <= 0, f"{name} is {overflow} px wider than {width} px"
                context.close()
        browser.close()
    assert not any(found.values()), {k: v for k, v in found.items() if v}
