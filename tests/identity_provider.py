"""A real OpenID provider for the tests (the `oidc-provider` npm package, run by tests/oidc/provider.mjs on
loopback), and a person signing in at it with a browser."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import httpx

from conftest import BASE_URL
from helpers import free_port

ROOT = Path(__file__).resolve().parents[1]
OIDC_MODULES = ROOT / ".cache" / "oidc" / "node_modules"
SCRIPT = Path(__file__).parent / "oidc" / "provider.mjs"
CLIENT_ID = "survey"
CLIENT_SECRET = "a-client-secret-for-the-tests"
GROUP_ROLES = (("survey-hr", "hr"), ("leadership", "executive"))

# The provider's people, by the login typed at its sign-in form: the claims it puts in their ID tokens.
ACCOUNTS = {
    "hana": {"email": "hr@example.com", "groups": ["staff", "survey-hr"]},
    "edda": {"email": "exec@example.com", "groups": ["leadership"]},
    "hugo": {"email": "Head1@Example.com", "groups": ["staff"]},  # another case than the account's
    "hugo-promoted": {"email": "head1@example.com", "groups": ["staff", "survey-hr"]},
    "heidi": {"email": "head2@example.com", "groups": []},
    "rita": {"email": "region@example.com", "groups": ["staff"]},
    "stranger": {"email": "stranger@example.com", "groups": ["staff"]},
    "edda-demoted": {"email": "exec@example.com", "groups": ["staff"]},
    "nora": {"email": "nora.new@example.com", "groups": ["staff"]},  # a head the roster names
    "nobody": {"groups": ["staff"]},  # no e-mail claim
}


def oidc_provider_missing() -> str | None:
    """Why the provider cannot run here, or None."""
    if not (OIDC_MODULES / "oidc-provider").is_dir():
        return f"oidc-provider is missing in {OIDC_MODULES}: run `make oidc` (npm install) first"
    return None


@contextlib.contextmanager
def running_provider(app_base_url: str, clock_offset_seconds: int = 0) -> Iterator[str]:
    """Start the provider on a free loopback port; yields its issuer URL."""
    problem = oidc_provider_missing()
    assert problem is None, problem
    port = free_port()
    client = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uris": [f"{app_base_url}/login/provider/callback"],
        "post_logout_redirect_uris": [f"{app_base_url}/login"],
    }
    env = {
        **os.environ,
        "OIDC_MODULES": str(OIDC_MODULES),
        "OIDC_PORT": str(port),
        "OIDC_CLIENT": json.dumps(client),
        "OIDC_ACCOUNTS": json.dumps(ACCOUNTS),
        "OIDC_CLOCK_OFFSET_SECONDS": str(clock_offset_seconds),
        "NODE_ENV": "test",
    }
    process = subprocess.Popen(
        ["node", str(SCRIPT)], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("ready "), f"the OpenID provider did not start: {line!r}"
        yield line.split()[1]
    finally:
        process.terminate()
        process.wait(timeout=10)


def at_provider(authorize_url: str, app_base_url: str, login: str, consent: bool = True) -> str:
    """A person at the provider: signs in as `login` and allows (or refuses) the sign-in. Returns the URL the
    provider sends the browser back to (on this app)."""
    with httpx.Client(trust_env=False, timeout=10) as browser:
        url = authorize_url
        for _ in range(20):
            page = browser.get(url)
            if page.is_redirect:
                url = urljoin(url, page.headers["location"])
                if url.startswith(app_base_url):
                    return url
                continue
            assert page.status_code == 200, (url, page.status_code, page.text[:500])
            if 'value="login"' in page.text:
                answer = browser.post(url, data={"prompt": "login", "login": login, "password": "any"})
            elif consent:
                answer = browser.post(url, data={"prompt": "consent"})
            else:
                answer = browser.get(url + "/abort")
            assert answer.is_redirect, (url, answer.status_code, answer.text[:500])
            url = urljoin(url, answer.headers["location"])
            if url.startswith(app_base_url):
                return url
        raise AssertionError(f"the provider never sent the browser back (last at {url})")


def sign_out_at_provider(end_session_url: str, app_base_url: str) -> str:
    """A person confirms signing out at the provider; returns where it sends the browser back to."""
    with httpx.Client(trust_env=False, timeout=10) as browser:
        page = browser.get(end_session_url)
        assert page.status_code == 200, page.text[:500]
        form = page.text.split('action="', 1)[1].split('"', 1)[0]
        xsrf = page.text.split('name="xsrf" value="', 1)[1].split('"', 1)[0]
        url = urljoin(end_session_url, form)
        answer = browser.post(url, data={"xsrf": xsrf, "logout": "yes"})
        for _ in range(5):
            assert answer.is_redirect, answer.text[:500]
            url = urljoin(url, answer.headers["location"])
            if url.startswith(app_base_url):
                return url
            answer = browser.get(url)
        raise AssertionError(f"the provider never sent the browser back (last at {url})")


def sso_settings(settings, issuer: str, **changes):
    """Single sign-on on, password login off except for HR's break-glass account."""
    sso = {
        "oidc_issuer": issuer,
        "oidc_client_id": CLIENT_ID,
        "oidc_client_secret": CLIENT_SECRET,
        "oidc_scopes": "openid email groups",
        "oidc_name": "Example Corp",
        "oidc_groups_claim": "groups",
        "oidc_group_roles": GROUP_ROLES,
        "password_login": False,
        "break_glass_email": "hr@example.com",
    }
    return settings.with_(**{**sso, **changes})


def leave_for_provider(client, next_path: str = "") -> str:
    response = client.get(
        "/login/provider" + (f"?next={next_path}" if next_path else ""), follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return response.headers["location"]


def sign_in(client, login: str, consent: bool = True):
    """The whole round trip, as a browser does it: the button, the provider's form, back here."""
    back = at_provider(leave_for_provider(client), BASE_URL, login, consent=consent)
    return client.get(back, follow_redirects=False)
