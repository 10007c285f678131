"""What a person does with a browser, as functions: open a link, fill in a form, send it."""

from __future__ import annotations

import functools
import re
import socket
from pathlib import Path

from survey.db.engine import Database
from survey.rounds.results_work import compute_now, results_pass
from survey.settings import Settings
from survey.surveys.intake import Intake


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')
_FORM_KEY = re.compile(r'name="form_key" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def form_key_from(html: str) -> str:
    match = _FORM_KEY.search(html)
    assert match, "the page has no form key"
    return match.group(1)


def employee_answers(
    db: Database, round_id: int, value: int = 5, unused: tuple[int, ...] = (), comment=None
) -> dict:
    """A complete employee form: every function used (except `unused`) and every item rated `value`."""
    data = {}
    for section in Intake(db).sections(round_id, "en"):
        if section.function_id in unused:
            data[section.use_field] = "no"
            continue
        data[section.use_field] = "yes"
        for question in section.questions:
            data[section.field(question)] = str(value)
        if comment:
            data[section.comment_field] = comment
    return data


def open_survey(client, link_path: str):
    """Open a personal link and follow it to the survey form."""
    return client.get(link_path, follow_redirects=True)


_ROUND = re.compile(r'name="round" value="(\d+)"')


def submit_survey(client, form_page_html: str, data: dict):
    """Send the survey's last step as the page's browser would, with every answer (`data`, as hidden fields and
    the last step's own), the page's CSRF token and hidden round field, and the Send button."""
    hidden = {"_csrf_token": csrf_from(form_page_html), "go": "submit"}
    if match := _ROUND.search(form_page_html):
        hidden["round"] = match.group(1)
    return client.post("/survey", data={**hidden, **data}, follow_redirects=False)


def step_survey(client, form_page_html: str, data: dict, step: int, go: str = "next"):
    """Send one step of the survey (Next, Back or Stay) with the answers so far, as the page's browser would."""
    hidden = {"_csrf_token": csrf_from(form_page_html), "step": str(step), "go": go}
    if match := _ROUND.search(form_page_html):
        hidden["round"] = match.group(1)
    return client.post("/survey", data={**hidden, **data}, follow_redirects=False)


def customer_answers(client, slug: str, value: int = 4) -> tuple[dict, str]:
    """Open a team's customer page and fill in every question with `value` (within each scale)."""
    page = client.get(f"/c/{slug}")
    assert page.status_code == 200, page.text
    data = {"_csrf_token": csrf_from(page.text), "form_key": form_key_from(page.text)}
    for field, low, high in _scales(page.text):
        data[field] = str(min(max(value, low), high))
    return data, page.text


def _scales(html: str) -> list[tuple[str, int, int]]:
    values: dict[str, list[int]] = {}
    for field, value in re.findall(r'name="(q-\d+)" value="(\d+)"', html):
        values.setdefault(field, []).append(int(value))
    return [(field, min(v), max(v)) for field, v in values.items()]


PASSWORD = "correct horse battery staple"


def log_in(client, email: str, password: str = PASSWORD):
    """Log in through the login form, as a browser would; returns the final response."""
    page = client.get("/login")
    return client.post(
        "/login",
        data={"email": email, "password": password, "_csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )


def post_form(client, page_path: str, action: str, data: dict | None = None, **kwargs):
    """Open a page, then send one of its forms with the page's CSRF token."""
    page = client.get(page_path)
    return client.post(action, data={**(data or {}), "_csrf_token": csrf_from(page.text)}, **kwargs)


def compute_results(db: Database, settings: Settings, *round_ids: int) -> None:
    """What the scheduler does after rounds close: compute their results (these rounds' and those of the rounds
    before them, whose findings their linkage carries on; every closed round's without any), which pages,
    reports and the API then read."""
    reports = [compute_now(db, settings, r) for r in round_ids] if round_ids else [results_pass(db, settings)]
    assert not [problem for report in reports for problem in report.problems], reports


_PLACEHOLDER_OR_TAG = re.compile(r"%\(\w+\)[sd]|<[^>]+>")


@functools.cache
def english_fragments() -> frozenset[str]:
    """The pieces of English (between placeholders and tags) of every message whose German translation differs,
    that the German translation does not use too: on a German page, any of them is an English string left over."""
    from babel.messages.pofile import read_po

    catalog_path = Path(__file__).resolve().parents[1] / "src/survey/locale/de/LC_MESSAGES/messages.po"
    with catalog_path.open("rb") as file:
        catalog = read_po(file, locale="de")
    found = set()
    for message in catalog:
        if not message.id:
            continue
        english = message.id if isinstance(message.id, tuple) else (message.id,)
        german = " ".join(message.string if isinstance(message.string, tuple) else (message.string,))
        for text in english:
            for piece in _PLACEHOLDER_OR_TAG.split(text):
                piece = piece.strip(" .,:;?!()")
                if re.search(r"[A-Za-z]{3}", piece) and piece not in german:
                    found.add(piece)
    return frozenset(found)


def english_left_in(text: str) -> list[str]:
    """The English fragments (`english_fragments`) found in `text`, as whole words."""
    return sorted(f for f in english_fragments() if re.search(rf"(?<!\w){re.escape(f)}(?!\w)", text))
