"""Intake benchmark: concurrent employee-survey submissions over real HTTP against one server process on SQLite.

    python bench/intake.py [--submissions 3000] [--connections 64]

Starts `survey serve` (one process) on a fresh SQLite database with 7 support functions (the default internal
instrument: 77 answers per submission), issues the invitations beforehand, opens each link to get its survey
cookie, then times form POSTs from 64 keep-alive connections. `/health` is measured by the same client before
and after; the figure that matters is the ratio of submissions per second to `/health` requests per second, since
both run on the same noisy machine. Finally it counts what was stored against what was accepted.

Targets (issue 2): ratio >= 0.15, p99 <= 100 ms, zero lost or duplicated.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC
from pathlib import Path
from urllib.parse import urlencode

from survey.db.engine import Database, upgrade
from survey.db.models import Employee, RoundStatus, Unit
from survey.demo.simulation import FUNCTION_NAMES
from survey.rounds.lifecycle import advance_round, create_round, issue_invitations, new_public_slug
from survey.surveys.intake import Intake
from survey.vocabulary import UnitKind

FUNCTIONS = 7
SECRET = "bench-secret-key-0123456789abcdef"
TEAMS = 50


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(url: str, employees: int, base_url: str) -> tuple[list[str], list, int]:
    """An organisation big enough for every submission, an open round, and one link per employee."""
    from datetime import datetime, timedelta

    upgrade(url)
    db = Database(url)
    with db.session() as session:
        functions = [
            Unit(code=f"SF{i}", name=n, kind=UnitKind.SUPPORT)
            for i, n in enumerate(FUNCTION_NAMES[:FUNCTIONS])
        ]
        teams = [
            Unit(code=f"FL{i}", name=f"Store {i}", kind=UnitKind.FRONT_LINE, public_slug=new_public_slug())
            for i in range(TEAMS)
        ]
        session.add_all(functions + teams)
        session.flush()
        session.add_all(
            Employee(email=f"e{n}@example.com", name=f"E {n}", unit_id=teams[n % TEAMS].id)
            for n in range(employees)
        )
        session.commit()
        now = datetime.now(UTC)
        a_round = create_round(session, "bench", now - timedelta(days=1), now + timedelta(days=13))
        links = [i.link for i in issue_invitations(session, a_round, base_url, SECRET)]
        advance_round(session, a_round, RoundStatus.OPEN)
        sections = Intake(db).sections(a_round.id, "en")
        round_id = a_round.id
    db.dispose()
    return links, sections, round_id


def form_body(sections, rng: random.Random) -> dict[str, str]:
    data = {}
    for section in sections:
        data[section.use_field] = "yes"
        for question in section.questions:
            data[section.field(question)] = str(rng.randint(question.scale_min, question.scale_max))
    return data


class Connection:
    """A keep-alive HTTP/1.1 connection that sends prepared requests and reads status and headers."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def request(self, raw: bytes) -> tuple[int, dict[str, str]]:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers.setdefault(name.strip().lower(), value.strip())
        if "chunked" in headers.get("transfer-encoding", ""):
            raise RuntimeError("chunked responses are not expected here")
        await self.reader.readexactly(int(headers.get("content-length", "0")))
        return status, headers

    def close(self) -> None:
        self.writer.close()


def get(path: str, port: int, cookie: str = "") -> bytes:
    extra = f"Cookie: {cookie}\r\n" if cookie else ""
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}\r\n".encode()


def post(path: str, port: int, body: bytes, cookie: str) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookie}\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def run_load(
    port: int, requests: list[bytes], connections: int, expect: tuple[int, str | None]
) -> tuple[float, list[float], int]:
    """Send every request over `connections` connections; returns (seconds, latencies, count answered with the
    expected status and Location)."""
    queue = list(reversed(requests))
    latencies: list[float] = []
    good = 0

    async def worker() -> None:
        nonlocal good
        connection = await Connection.open(port)
        try:
            while queue:
                raw = queue.pop()
                started = time.perf_counter()
                status, headers = await connection.request(raw)
                latencies.append(time.perf_counter() - started)
                good += (status, headers.get("location")) == expect
        finally:
            connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return time.perf_counter() - started, latencies, good


async def open_links(port: int, links: list[str]) -> tuple[list[str], str, str]:
    """Open each personal link (as the employee's browser does) to get its survey cookie; and one CSRF pair."""
    cookies: list[str] = []

    async def worker(chunk: list[str]) -> None:
        connection = await Connection.open(port)
        for link in chunk:
            status, headers = await connection.request(get(re.sub(r"^https?://[^/]+", "", link), port))
            assert status == 303, status
            cookies.append(headers["set-cookie"].split(";", 1)[0])
        connection.close()

    chunks = [links[i::16] for i in range(16)]
    await asyncio.gather(*(worker(chunk) for chunk in chunks))
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(get("/survey", port, cookies[0]))
    page = (await reader.read(1 << 22)).decode()
    while "</html>" not in page:
        page += (await reader.read(1 << 22)).decode()
    writer.close()
    csrf_cookie = re.search(r"set-cookie: (csrftoken=[^;]+)", page, re.I).group(1)
    csrf_field = re.search(r'name="_csrf_token" value="([^"]+)"', page).group(1)
    return cookies, csrf_cookie, csrf_field


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process (all its threads) has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def health_rate(port: int, count: int, connections: int, pid: int) -> tuple[float, float]:
    """(/health requests per second, server CPU milliseconds per request)."""
    cpu = cpu_seconds(pid)
    seconds, _, good = await run_load(port, [get("/health", port)] * count, connections, (200, None))
    assert good == count, f"{count - good} health checks failed"
    return count / seconds, (cpu_seconds(pid) - cpu) * 1000 / count


async def main(submissions: int, connections: int) -> int:
    work = Path(tempfile.mkdtemp(prefix="survey-bench-"))
    url = f"sqlite:///{work}/bench.db"
    port = free_port()
    print(f"preparing {submissions} invitations on {url} ...", flush=True)
    links, sections, round_id = prepare(url, submissions, f"http://127.0.0.1:{port}")
    env = {
        **os.environ,
        "SURVEY_DATABASE_URL": url,
        "SURVEY_SECRET_KEY": SECRET,
        "SURVEY_BASE_URL": f"http://127.0.0.1:{port}",
        "SURVEY_COOKIE_SECURE": "false",
    }
    quiet = "import logging; logging.disable(logging.INFO); from survey.cli import main; main()"
    server = subprocess.Popen(
        [sys.executable, "-c", quiet, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if os.environ.get("BENCH_PRINT_PID"):
        print(f"server pid {server.pid}", flush=True)
    try:
        for _ in range(200):
            try:
                connection = await Connection.open(port)
                connection.close()
                break
            except OSError:
                await asyncio.sleep(0.05)
        cookies, csrf_cookie, csrf_field = await open_links(port, links)
        rng = random.Random(1)
        hidden = {"round": round_id, "_csrf_token": csrf_field, "go": "submit"}  # the last step's Send button
        requests = [
            post(
                "/survey",
                port,
                urlencode({**form_body(sections, rng), **hidden}).encode(),
                f"{cookie}; {csrf_cookie}",
            )
            for cookie in cookies
        ]
        await health_rate(port, 2000, connections, server.pid)  # warm-up
        print(
            f"measuring /health, then {len(requests)} submissions, then /health again ({connections} connections)"
        )
        health_before, health_cpu_before = await health_rate(port, 20000, connections, server.pid)
        cpu = cpu_seconds(server.pid)
        seconds, latencies, accepted = await run_load(port, requests, connections, (303, "/survey/thanks"))
        submission_cpu = (cpu_seconds(server.pid) - cpu) * 1000 / len(requests)
        health_after, health_cpu_after = await health_rate(port, 20000, connections, server.pid)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    with sqlite3.connect(work / "bench.db") as db:
        stored = db.execute("SELECT count(*) FROM internal_response").fetchone()[0]
        answered = db.execute("SELECT count(*) FROM invitation WHERE answered").fetchone()[0]
        reviews = db.execute("SELECT count(*) FROM internal_review").fetchone()[0]
    health = (health_before + health_after) / 2
    health_cpu = (health_cpu_before + health_cpu_after) / 2
    rate = len(requests) / seconds
    p50, p99 = percentile(latencies, 0.50) * 1000, percentile(latencies, 0.99) * 1000
    ratio = rate / health
    print(f"health        {health:8.0f} req/s   (before {health_before:.0f}, after {health_after:.0f})")
    print(f"submissions   {rate:8.0f} per s   p50 {p50:.1f} ms   p99 {p99:.1f} ms")
    print(f"ratio         {ratio:8.3f}            (target >= 0.15)")
    print(f"server CPU    {submission_cpu:.3f} ms per submission, {health_cpu:.3f} ms per /health: "
          f"cost ratio {health_cpu / submission_cpu:.3f}")  # fmt: skip
    print(f"accepted {accepted}  stored {stored}  invitations answered {answered}  function reviews {reviews}"
          f"  lost {accepted - stored}  duplicated {max(0, stored - accepted)}")  # fmt: skip
    ok = ratio >= 0.15 and p99 <= 100 and accepted == stored == answered == len(requests)
    ok = ok and reviews == stored * FUNCTIONS
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--submissions", type=int, default=3000)
    parser.add_argument("--connections", type=int, default=64)
    arguments = parser.parse_args()
    gc.disable()  # the load generator's own collections would show up as server latency
    sys.exit(asyncio.run(main(arguments.submissions, arguments.connections)))
