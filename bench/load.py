"""Crash-and-load test: nothing lost, nothing stored twice, when a server process dies under load.

    python bench/load.py [--clients 16] [--submissions 1000] [--kill-at 6] [--down 3] [--drop-share 0.05]
                         [--forged-share 0.05] [--postgres URL] [--seed 1]

Creates a fresh PostgreSQL database (`survey_bench_<pid>`, with the role of `--postgres URL`, default
$SURVEY_BENCH_DATABASE_URL, else the CI role `survey_ci`), migrates it and builds an organisation with an open round
(`bench/intake.py`'s builder: 7 support functions, 50 front-line teams with public customer links, one invitation
per employee submission). Starts two `survey serve` processes on it with the same secret key, then `--clients`
concurrent clients submit the forms, half employee (open the invitation link, read the served form, post it) and
half customer (open a team's public link, read the served form with its form key, post it), each client starting
on its own server. Every submission carries a unique marker in a comment field.

After `--kill-at` seconds one server is killed with SIGKILL (at a moment when it has a submission in flight) and
started again `--down` seconds later. A client whose request gets no answer does what a browser user does: tries
again, the same form with the same cookies (same survey session, same form key), on the other server first, then
on either, with short waits, until one answers. For `--drop-share` of the submissions the client itself drops
the first POST after 2 to 40 ms and sends it again at once to the other server (a dropped connection, a user
pressing send again), so that both servers may be working on the same form at once. For `--forged-share` of the
customer forms it alters the served form key's signature, as a stuffer would: the server must refuse them.

Then it reconciles what the clients saw with what the database holds, counting rows per marker: every accepted
submission (a thanks page; or the "already answered" page after a try that got no answer) stored exactly once,
every refused one (a page with its status and reason) stored never, invitations marked answered equal to
employee responses stored. Exits 1 if anything was lost or duplicated (or another check failed: a server error or
an error in a server's log, a submission that never got an answer, a response stored incomplete, no submission in
flight at the kill), 2 on a bad argument or when the database cannot be created. The server processes are stopped
and the database is dropped however the run ends.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import httpx
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import OperationalError

from analytics import CI_POSTGRES, PostgresBackend
from intake import FUNCTIONS, SECRET, TEAMS, free_port, prepare
from survey.db.engine import normalise_url
from survey.db.models import RoundUnit, Unit

MAX_TRIES = 40  # a client gives up on a request after this many tries without an answer (about a minute)
REQUEST_TIMEOUT = 30.0  # seconds without an answer before a client gives up waiting and tries again


# --- The forms, as a browser reads them ------------------------------------------------------------------------


@dataclass
class Page:
    """What a client reads of a served page: its first POST form's fields, its title and what it says is wrong."""

    action: str = ""
    hidden: dict[str, str] = field(default_factory=dict)
    radios: dict[str, list[str]] = field(default_factory=dict)  # name -> the values offered, in order
    textareas: list[str] = field(default_factory=list)
    title: str = ""
    heading: str = ""
    errors: list[str] = field(default_factory=list)  # its error paragraphs and error summary's items
    paragraphs: list[str] = field(default_factory=list)  # the text of its other paragraphs

    @property
    def reason(self) -> str:
        """Why the page refuses: its first error message, else its heading and first paragraph."""
        if self.errors:
            return self.errors[0]
        said = ": ".join(text for text in (self.heading or self.title, *self.paragraphs[:1]) if text)
        return said or "(no reason given)"


class PageReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self._in_form = False
        self._form_seen = False
        self._in_summary = False  # inside the list of what a refused form got wrong
        self._text_of: str | None = None  # "title", "h1", "p" or "error" while inside one
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {name: value or "" for name, value in attrs}
        if tag == "form" and a.get("method", "").lower() == "post" and not self._form_seen:
            self._in_form = self._form_seen = True
            self.page.action = a.get("action", "")
        elif tag == "input" and self._in_form and a.get("name"):
            if a.get("type") == "hidden":
                self.page.hidden[a["name"]] = a.get("value", "")
            elif a.get("type") == "radio":
                self.page.radios.setdefault(a["name"], []).append(a.get("value", ""))
        elif tag == "textarea" and self._in_form and a.get("name"):
            self.page.textareas.append(a["name"])
        elif tag == "div" and "error-summary" in a.get("class", "").split():
            self._in_summary = True
        elif tag in ("title", "h1", "p", "li"):
            is_error = (tag == "p" and "error" in a.get("class", "").split()) or (
                tag == "li" and self._in_summary
            )
            if tag != "li" or is_error:
                self._text_of, self._text = ("error" if is_error else tag), []

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False
        elif tag == "div":
            self._in_summary = False
        elif self._text_of and tag in ("title", "h1", "p", "li"):
            words = " ".join("".join(self._text).split())
            if self._text_of == "error":
                self.page.errors.append(words)
            elif self._text_of == "p":
                self.page.paragraphs.append(words)
            elif self._text_of == "title":
                self.page.title = words
            else:
                self.page.heading = self.page.heading or words
            self._text_of = None

    def handle_data(self, data: str) -> None:
        if self._text_of:
            self._text.append(data)


def read_page(html: str) -> Page:
    reader = PageReader()
    reader.feed(html)
    return reader.page


def employee_answers(page: Page, marker: str, rng: random.Random) -> dict[str, str]:
    """Answers to the served employee form, as templates/employee/survey.html names its fields (made by
    `survey.surveys.questionnaire.FunctionSection`): `use-<function>` yes or no, every rating, and the marker as
    the comment (`comment-<function>`) of the first function used; other comments empty."""
    if not page.textareas:
        raise ValueError(f"the employee form has no comment field: {page.title!r}")
    answers = dict(page.hidden)
    for name, values in page.radios.items():
        if set(values) == {"yes", "no"}:
            answers[name] = "yes" if rng.random() < 0.85 else "no"
        else:
            answers[name] = rng.choice(values)
    used = [c for c in page.textareas if answers.get(c.replace("comment-", "use-", 1)) == "yes"]
    marked = used[0] if used else page.textareas[0]
    answers[marked.replace("comment-", "use-", 1)] = "yes"
    for name in page.textareas:
        answers[name] = marker if name == marked else ""
    return answers


def customer_answers(page: Page, marker: str, rng: random.Random) -> dict[str, str]:
    """Answers to the served customer form: its hidden fields as served (the form key), every rating, and the
    marker as the comment."""
    if page.textareas != ["comment"]:
        raise ValueError(f"the customer form's comment fields are {page.textareas}, expected ['comment']")
    return {
        **page.hidden,
        **{name: rng.choice(values) for name, values in page.radios.items()},
        "comment": marker,
    }


# --- The two servers -------------------------------------------------------------------------------------------


class Servers:
    """Two `survey serve` processes on one database, with the same secret key."""

    def __init__(self, url: str, folder: Path):
        self.ports = [free_port(), free_port()]
        self.processes: list[subprocess.Popen | None] = [None, None]
        self.folder = folder
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.ports)
        self.env = {
            **os.environ,
            "SURVEY_DATABASE_URL": url,
            "SURVEY_SECRET_KEY": SECRET,
            "SURVEY_BASE_URL": f"http://127.0.0.1:{self.ports[0]}",
            "SURVEY_ALLOWED_HOSTS": hosts,  # each server's own address (behind a proxy, both would have one)
            "SURVEY_COOKIE_SECURE": "false",
            "SURVEY_SCHEDULER": "false",
            "SURVEY_CUSTOMER_RATE_LIMIT": "1000000",  # every request comes from 127.0.0.1
        }
        self.in_flight: list[Counter[str]] = [
            Counter(),
            Counter(),
        ]  # per server: requests sent and not answered yet, by method

    def log(self, index: int) -> Path:
        return self.folder / f"server-{index + 1}.log"

    def start(self, index: int) -> None:
        quiet = "import logging; logging.disable(logging.INFO); from survey.cli import main; main()"
        with self.log(index).open("a") as log:
            self.processes[index] = subprocess.Popen(
                [sys.executable, "-c", quiet, "serve", "--port", str(self.ports[index])],
                env=self.env,
                stdout=log,
                stderr=log,
            )

    async def wait_ready(self, index: int) -> None:
        process = self.processes[index]
        assert process is not None
        async with httpx.AsyncClient() as client:
            for _ in range(600):
                if process.poll() is not None:
                    tail = self.log(index).read_text()[-2000:]
                    raise RuntimeError(f"server {index + 1} exited with {process.returncode}:\n{tail}")
                try:
                    if (await client.get(f"http://127.0.0.1:{self.ports[index]}/health")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"server {index + 1} did not answer /health within a minute")

    def kill(self, index: int) -> None:
        process = self.processes[index]
        assert process is not None
        process.send_signal(signal.SIGKILL)
        process.wait()

    def stop_all(self) -> None:
        for process in self.processes:
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in self.processes:
            if process is None:
                continue
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def server_errors(self) -> list[str]:
        """Tracebacks and errors the servers logged (their access logs are off)."""
        return [
            line
            for index in range(2)
            if self.log(index).exists()
            for line in self.log(index).read_text().splitlines()
            if "Traceback" in line or "ERROR" in line
        ]


# --- The clients -----------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    kind: str  # "employee" or "customer"
    verdict: str  # accepted, refused, server error, no answer, form not reached
    detail: str = ""  # how it was accepted, or the status and reason of a refusal
    retried: bool = False  # a try of its POST got no answer


@dataclass
class Tally:
    outcomes: dict[str, Outcome] = field(default_factory=dict)  # marker -> what the client saw
    # Tries that got no answer, by (server, method, how): "refused" (no connection: nothing was sent) or "cut"
    # (sent, and the connection closed or reset before an answer: the server may or may not have acted on it).
    no_answer: Counter = field(default_factory=Counter)
    started: float = field(default_factory=time.perf_counter)
    kill: dict[str, float | int] = field(default_factory=dict)  # what happened at the kill

    def count(self, verdict: str) -> int:
        return sum(o.verdict == verdict for o in self.outcomes.values())


class Browser:
    """One client: a cookie jar (cleared for each submission, as a new user's browser) and a home server; a try
    that gets no answer is tried again on the other server, then on either, until one answers."""

    def __init__(self, servers: Servers, tally: Tally, home: int, drop_share: float, forged_share: float):
        self.servers, self.tally, self.home = servers, tally, home
        self.drop_share, self.forged_share = drop_share, forged_share
        self.client = httpx.AsyncClient(
            timeout=REQUEST_TIMEOUT, follow_redirects=False, headers={"Accept": "text/html,*/*;q=0.8"}
        )

    async def send(
        self, method: str, path: str, data: dict[str, str] | None = None, drop_after: float | None = None
    ) -> tuple[httpx.Response | None, int]:
        """The first answer to the request, and how many tries got none before it (None: no answer at all).
        With `drop_after`, the first try's connection is closed that many seconds after it starts, answered or
        not (a dropped connection, a user pressing send again)."""
        for attempt in range(MAX_TRIES):
            server = (self.home + attempt) % 2
            url = f"http://127.0.0.1:{self.servers.ports[server]}{path}"
            self.servers.in_flight[server][method] += 1
            try:
                request = self.client.request(method, url, data=data)
                if attempt == 0 and drop_after is not None:
                    return await asyncio.wait_for(request, drop_after), attempt
                return await request, attempt
            except TimeoutError:  # the client dropped it (httpx's own timeouts are TransportErrors)
                self.tally.no_answer[(server + 1, method, "dropped")] += 1
            except httpx.ConnectError:
                self.tally.no_answer[(server + 1, method, "refused")] += 1
            except httpx.TransportError:
                self.tally.no_answer[(server + 1, method, "cut")] += 1
            finally:
                self.servers.in_flight[server][method] -= 1
            if attempt:
                await asyncio.sleep(min(0.1 * attempt, 2.0))
        return None, MAX_TRIES

    async def form(self, kind: str, path: str) -> Page | Outcome:
        """GET the form, following redirects (as a browser does); or what the user saw instead of a form."""
        for _ in range(5):
            response, _ = await self.send("GET", path)
            if response is None:
                return Outcome(kind, "form not reached", f"no answer in {MAX_TRIES} tries")
            if response.status_code not in (302, 303):
                break
            path = response.headers["location"]
        else:
            raise RuntimeError(f"too many redirects from {path}")
        page = read_page(response.text)
        if page.radios:
            return page
        verdict = "refused" if 400 <= response.status_code < 500 else "form not reached"
        return Outcome(kind, verdict, f"{response.status_code} for the form: {page.reason}")

    def drop_after(self, rng: random.Random) -> float | None:
        """For a share of submissions, when the first POST is dropped: within 2 to 40 ms, often before the
        server has answered, sometimes after it has stored the answers."""
        return rng.uniform(0.002, 0.04) if rng.random() < self.drop_share else None

    async def employee(self, link_path: str, marker: str, rng: random.Random) -> Outcome:
        self.client.cookies.clear()
        page = await self.form("employee", link_path)  # the link gives the survey cookie, moves to /survey
        if isinstance(page, Outcome):
            return page
        answers = employee_answers(page, marker, rng)
        response, failed = await self.send("POST", page.action, answers, self.drop_after(rng))
        return judge("employee", response, failed, "/survey/thanks")

    async def customer(self, slug: str, marker: str, rng: random.Random) -> Outcome:
        self.client.cookies.clear()
        page = await self.form("customer", f"/c/{slug}")
        if isinstance(page, Outcome):
            return page
        answers = customer_answers(page, marker, rng)
        if rng.random() < self.forged_share:  # a stuffer's form: the served key with its signature altered
            key = answers["form_key"]
            answers["form_key"] = key[:-1] + ("A" if key[-1] != "A" else "B")
        response, failed = await self.send("POST", page.action, answers, self.drop_after(rng))
        return judge("customer", response, failed, f"/c/{slug}/thanks")


def judge(kind: str, response: httpx.Response | None, failed: int, thanks: str) -> Outcome:
    """What the user saw after posting the form, `failed` tries having got no answer before."""
    if response is None:
        return Outcome(kind, "no answer", f"no answer in {MAX_TRIES} tries", retried=True)
    status = response.status_code
    if status == 303 and response.headers.get("location") == thanks:
        return Outcome(kind, "accepted", "thanks page", retried=failed > 0)
    page = read_page(response.text)
    if status == 200 and page.title == "Already answered" and failed:
        return Outcome(kind, "accepted", '"already answered" after a try without an answer', retried=True)
    if status >= 500:
        return Outcome(kind, "server error", f"{status} {page.reason}", retried=failed > 0)
    where = f" to {response.headers.get('location')}" if status in (302, 303) else ""
    return Outcome(kind, "refused", f"{status}{where} {page.reason}", retried=failed > 0)


async def run_clients(servers: Servers, tally: Tally, work: list[tuple[str, str, str]], arguments) -> None:
    """`arguments.clients` browsers take the submissions (kind, link or slug, marker) from one queue, in order."""
    queue = list(reversed(work))

    async def client(number: int) -> None:
        browser = Browser(
            servers,
            tally,
            home=number % 2,
            drop_share=arguments.drop_share,
            forged_share=arguments.forged_share,
        )
        rng = random.Random(arguments.seed * 1000 + number)
        try:
            while queue:
                kind, target, marker = queue.pop()
                submit = browser.employee if kind == "employee" else browser.customer
                tally.outcomes[marker] = await submit(target, marker, rng)
        finally:
            await browser.client.aclose()

    await asyncio.gather(*(client(number) for number in range(arguments.clients)))


async def crash(servers: Servers, tally: Tally, kill_at: float, down: float, victim: int = 1) -> None:
    """Kill a server with SIGKILL once `kill_at` seconds have passed and a POST is in flight on it; start it
    again `down` seconds later."""
    await asyncio.sleep(kill_at)
    for _ in range(2000):  # up to about 2 s for a submission in flight on it
        if servers.in_flight[victim]["POST"]:
            break
        await asyncio.sleep(0.001)
    tally.kill.update(
        at=time.perf_counter() - tally.started,
        posts=servers.in_flight[victim]["POST"],
        gets=servers.in_flight[victim]["GET"],
        done=len(tally.outcomes),
    )
    servers.kill(victim)
    print(f"{tally.kill['at']:6.1f} s  server {victim + 1} killed (SIGKILL) with {tally.kill['posts']} POSTs and "
          f"{tally.kill['gets']} GETs in flight, {tally.kill['done']} submissions done", flush=True)  # fmt: skip
    await asyncio.sleep(down)
    servers.start(victim)
    await servers.wait_ready(victim)
    tally.kill["back"] = time.perf_counter() - tally.started
    print(f"{tally.kill['back']:6.1f} s  server {victim + 1} answers again", flush=True)


async def progress(tally: Tally, total: int) -> None:
    while True:
        await asyncio.sleep(3)
        print(f"{time.perf_counter() - tally.started:6.1f} s  {len(tally.outcomes)}/{total} submissions done, "
              f"{tally.count('accepted')} accepted, {sum(tally.no_answer.values())} tries without an answer",
              flush=True)  # fmt: skip


async def load(servers: Servers, tally: Tally, work: list[tuple[str, str, str]], arguments) -> None:
    for index in range(2):
        servers.start(index)
    for index in range(2):
        await servers.wait_ready(index)
    print(f"two servers on ports {servers.ports[0]} and {servers.ports[1]}; {arguments.clients} clients, "
          f"{len(work)} submissions; server 2 killed at {arguments.kill_at:g} s, back after {arguments.down:g} s",
          flush=True)  # fmt: skip
    tally.started = time.perf_counter()
    background = [
        asyncio.create_task(crash(servers, tally, arguments.kill_at, arguments.down)),
        asyncio.create_task(progress(tally, len(work))),
    ]
    try:
        await run_clients(servers, tally, work, arguments)
        if not tally.kill:
            print(
                "the run ended before the kill: nothing was tested under a crash (lower --kill-at)",
                flush=True,
            )
        elif "back" not in tally.kill:
            await background[0]  # the restart, so that its failure to start is seen
    finally:
        for task in background:
            task.cancel()
    tally.kill["seconds"] = time.perf_counter() - tally.started


# --- Reconciling -----------------------------------------------------------------------------------------------


@dataclass
class Stored:
    employee: Counter  # marker -> internal reviews carrying it
    customer: Counter  # marker -> customer responses carrying it
    incomplete: int  # marked employee responses with fewer or more reviews than the form's functions
    internal_responses: int
    invitations_answered: int
    customer_responses: int


def stored(url: str, round_id: int, prefix: str, functions: int) -> Stored:
    engine = create_engine(normalise_url(url))
    like = {"like": prefix + "%", "round": round_id}
    try:
        with engine.connect() as connection:
            marked = connection.execute(
                text(
                    "SELECT r.comment, (SELECT count(*) FROM internal_review x WHERE x.response_id = r.response_id)"
                    " FROM internal_review r WHERE r.comment LIKE :like"
                ),
                like,
            ).all()
            customer = connection.execute(
                text("SELECT comment FROM external_response WHERE comment LIKE :like"), like
            ).scalars()
            figures = [
                connection.execute(text(sql), like).scalar_one()
                for sql in (
                    "SELECT count(*) FROM internal_response WHERE round_id = :round",
                    "SELECT count(*) FROM invitation WHERE round_id = :round AND answered",
                    "SELECT count(*) FROM external_response WHERE round_id = :round",
                )
            ]
            return Stored(
                Counter(comment for comment, _ in marked),
                Counter(customer),
                sum(reviews != functions for _, reviews in marked),
                *figures,
            )
    finally:
        engine.dispose()


def reconcile_kind(
    kind: str, outcomes: list[Outcome], markers: list[str], per_marker: Counter, responses: int
):
    """Print one survey's counts; returns its checks as (what, how many are wrong)."""
    stored_of = dict(zip(markers, (per_marker[m] for m in markers), strict=True))
    by_verdict: dict[str, list[int]] = {}  # verdict -> rows stored per submission
    for marker, outcome in zip(markers, outcomes, strict=True):
        # A refusal after a try that got no answer says nothing of that try: it may have stored the answers.
        verdict = (
            "refused after a try without an answer"
            if outcome.verdict == "refused" and outcome.retried
            else outcome.verdict
        )
        by_verdict.setdefault(verdict, []).append(stored_of[marker])
    accepted = [o for o in outcomes if o.verdict == "accepted"]
    print(f"{kind}: attempted {len(markers)}, accepted {len(accepted)} "
          f"({', '.join(f'{n} {how}' for how, n in Counter(o.detail for o in accepted).most_common())}; "
          f"{sum(o.retried for o in accepted)} of them after a try without an answer)")  # fmt: skip
    for verdict, rows in sorted(by_verdict.items()):
        print(
            f"    {verdict}: {len(rows)}; rows stored per submission: {dict(sorted(Counter(rows).items()))}"
        )
    for reason, count in Counter(o.detail for o in outcomes if o.verdict != "accepted").most_common(10):
        print(f"    {count} x {reason}")
    lost = by_verdict.get("accepted", []).count(0)
    duplicated = sum(count > 1 for count in per_marker.values())
    print(f"    stored: {responses} responses, {sum(per_marker.values())} with a marker of this run; "
          f"{kind} lost {lost}, duplicated {duplicated}")  # fmt: skip
    return [
        (f"{kind}: accepted submissions not stored (lost)", lost),
        (f"{kind}: submissions stored more than once (duplicated)", duplicated),
        (f"{kind}: refused submissions stored", sum(by_verdict.get("refused", []))),
        (f"{kind}: submissions that got no answer", len(by_verdict.get("no answer", []))),
        (f"{kind}: forms never reached", len(by_verdict.get("form not reached", []))),
        (f"{kind}: server errors", len(by_verdict.get("server error", []))),
        (f"{kind}: responses without a marker of this run", responses - sum(per_marker.values())),
    ]


def reconcile(tally: Tally, rows: Stored, work: list[tuple[str, str, str]]) -> bool:
    """Print the counts; True when every check holds."""
    print(f"\nreconciliation ({len(work)} submissions in {tally.kill.get('seconds', 0):.1f} s)")
    checks: list[tuple[str, int]] = []
    for kind, per_marker, responses in (
        ("employee", rows.employee, rows.internal_responses),
        ("customer", rows.customer, rows.customer_responses),
    ):
        markers = [marker for k, _, marker in work if k == kind]
        outcomes = [tally.outcomes.get(m) or Outcome(kind, "not run") for m in markers]
        checks += reconcile_kind(kind, outcomes, markers, per_marker, responses)
    print(f"invitations answered {rows.invitations_answered}, internal responses stored {rows.internal_responses}; "
          f"employee responses with a review missing or extra: {rows.incomplete}")  # fmt: skip
    checks += [
        (
            "invitations answered minus internal responses",
            rows.invitations_answered - rows.internal_responses,
        ),
        ("employee responses stored incomplete", rows.incomplete),
        ("submissions not run", sum(m not in tally.outcomes for _, _, m in work)),
    ]
    lost = sum(n for what, n in checks if "(lost)" in what)
    duplicated = sum(n for what, n in checks if "(duplicated)" in what)
    print(f"lost {lost}, duplicated {duplicated}")
    failed = [(what, n) for what, n in checks if n]
    for what, n in failed:
        print(f"FAILED: {what}: {n}")
    return not failed


# --- The run ---------------------------------------------------------------------------------------------------


def build(url: str, employees: int, customers: int) -> tuple[list[tuple[str, str, str]], int, int]:
    """The organisation and its open round (`bench/intake.py`'s builder), and the submissions to make, shuffled:
    (kind, link path or team slug, marker). Returns them with the round's id and its number of functions."""
    links, sections, round_id = prepare(url, employees, "http://127.0.0.1")
    engine = create_engine(normalise_url(url))
    try:
        with engine.connect() as connection:
            slugs = (
                connection.execute(
                    select(Unit.public_slug)
                    .join(RoundUnit, RoundUnit.unit_id == Unit.id)
                    .where(RoundUnit.round_id == round_id, Unit.public_slug.is_not(None))
                    .order_by(Unit.code)
                )
                .scalars()
                .all()
            )
    finally:
        engine.dispose()
    prefix = marker_prefix()
    work = [
        ("employee", re.sub(r"^https?://[^/]+", "", link), f"{prefix}e{n:06d}")
        for n, link in enumerate(links)
    ]
    work += [("customer", slugs[n % len(slugs)], f"{prefix}c{n:06d}") for n in range(customers)]
    random.Random(len(work)).shuffle(work)
    return work, round_id, len(sections)


RUN = secrets.token_hex(4)


def marker_prefix() -> str:
    """Markers of this run start with it (no `_` or `%`, which LIKE would read as wildcards)."""
    return f"load{RUN}x"


def whole_number(minimum: int):
    def read(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {raw!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return read


def number_between(low: float, high: float, what: str):
    """An argument reader for a number from `low` to `high`, `what` naming it in the message."""

    def read(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {raw!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected {what}, got {raw}")
        return value

    return read


seconds = number_between(0, 3600, "0 to 3600 seconds")
share = number_between(0, 1, "a share from 0 to 1")


def postgres_url(raw: str) -> str:
    if not raw.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        raise argparse.ArgumentTypeError(
            f"expected a postgresql://user:password@host:port/database URL, got {raw!r}"
        )
    return raw


def arguments_from(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument(
        "--clients", type=whole_number(1), default=16, help="concurrent clients (default %(default)s)"
    )
    parser.add_argument(
        "--submissions", type=whole_number(2), default=1000,
        help="forms submitted, half employee and half customer (default %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--kill-at", type=seconds, default=6.0, metavar="SECONDS",
        help="when to kill server 2 with SIGKILL, from the start of the load (default %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--down", type=seconds, default=3.0, metavar="SECONDS",
        help="how long it stays down before it is started again (default %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--postgres", metavar="URL", type=postgres_url,
        default=os.environ.get("SURVEY_BENCH_DATABASE_URL", CI_POSTGRES),
        help="a PostgreSQL server and a role that may create databases "
        "(default: $SURVEY_BENCH_DATABASE_URL, else %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--drop-share", type=share, default=0.05, metavar="SHARE",
        help="share of submissions whose first POST the client drops after 2 to 40 ms and sends again at once "
        "to the other server, so that both may be working on it (default %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--forged-share", type=share, default=0.05, metavar="SHARE",
        help="share of customer forms posted with their form key altered, as a stuffer would: each must be "
        "refused with a reason and stored never (default %(default)s)",
    )  # fmt: skip
    parser.add_argument("--seed", type=whole_number(0), default=1, help="the answers' random seed")
    return parser.parse_args(argv)


def main() -> int:
    arguments = arguments_from()
    employees = arguments.submissions // 2
    backend = PostgresBackend(arguments.postgres, seed=arguments.seed, keep=False)
    folder: Path | None = None  # the servers' logs
    servers: Servers | None = None
    ok = False
    try:
        try:
            backend.create()
        except OperationalError as error:
            print(
                f"error: --postgres: cannot create a database there: {str(error.orig).strip()}",
                file=sys.stderr,
            )
            return 2
        print(f"database {backend.database}: migrating, then {employees} invitations, {TEAMS} front-line teams, "
              f"{FUNCTIONS} support functions ...", flush=True)  # fmt: skip
        work, round_id, functions = build(backend.url, employees, arguments.submissions - employees)
        folder = Path(tempfile.mkdtemp(prefix="survey-load-"))
        servers = Servers(backend.url, folder)
        tally = Tally()
        asyncio.run(load(servers, tally, work, arguments))
        servers.stop_all()
        reconciled = reconcile(tally, stored(backend.url, round_id, marker_prefix(), functions), work)
        ok = after_the_run(tally, servers) and reconciled
        return 0 if ok else 1
    finally:
        if servers is not None:
            servers.stop_all()
        backend.cleanup()
        if folder is not None and ok:
            shutil.rmtree(folder, ignore_errors=True)
        elif folder is not None:
            print(f"the servers' logs are in {folder}", flush=True)


def after_the_run(tally: Tally, servers: Servers) -> bool:
    """Print what the kill did and what the servers logged; False when the kill hit no submission in flight or a
    server logged an error."""
    killed = int(tally.kill.get("posts", 0))
    print(f"server 2 killed at {tally.kill.get('at', 0):.1f} s with {killed} submissions in flight")
    print("tries without an answer (server, method, how: refused = no connection; cut = sent, then the connection "
          "closed; dropped = dropped by the client): "
          + ", ".join(f"{key} {n}" for key, n in sorted(tally.no_answer.items())))  # fmt: skip
    if not killed:
        print("FAILED: no submission was in flight on server 2 when it was killed")
    errors = servers.server_errors()
    print(f"errors logged by the servers: {len(errors)}" + "".join(f"\n    {e}" for e in errors[:10]))
    if errors:
        print(f"FAILED: the servers logged {len(errors)} errors")
    return bool(killed) and not errors


if __name__ == "__main__":
    sys.exit(main())
