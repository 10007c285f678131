"""Results benchmark: one closed round's released numbers at a retailer's size, on SQLite and on PostgreSQL.

    python bench/results.py [--backend both|sqlite|postgresql] [--postgres URL] [--teams 2000,100]
                            [--repeats 3] [--seed 1] [--keep] [--profile N]

A closed round is aggregated, released and turned into `Scores` once, when it closes, and stored; later linkages
read the stored numbers. This measures that one computation. For each team count, a fresh database per backend
holds one closed round written by `survey.demo.simulate_into`: 10 support functions, the teams in 5 regions,
12 staff per team who all answer (response rate 1.0), about 150 customers per team (a Poisson mean). What was
stored is printed. Writing 2,000 teams takes about half a minute on SQLite and a minute on PostgreSQL (the
simulation in Python, the roster, the inserts, and closing the round, which erases the answers' arrival order):
--keep keeps the databases for the next run.

Then, for each backend and team count, in one process and interleaved, `--repeats` times:
- the baseline: a plain scan of the round's rows that reads every answer (the staff reviews joined to their
  responses, and the customers' answers: the count and the total length of their JSON), which no change to the
  results code moves;
- the SQL aggregation alone (`aggregation.round_sums`), and the release gate alone on its sums
  (`release.release_round`), to show where the time goes;
- the scores: what is computed for a round's scores when it closes (the scores step of
  `analytics.compute_results`, before the linkage): the SQL sums and the gate (`_release`), the staff part with
  comments and reliability (`_staff_part`), the customers' part (`_customers_part`), and their JSON as stored.
The medians are printed, and the scores' ratio to the baseline; also the scores' CPU time in this process
(on PostgreSQL it leaves out the server's share). Peak memory: the scores once more in a fresh process (its peak
RSS, VmHWM), against a fresh process that only imports the package and opens the database. --profile N adds a
cProfile of one more computation of the scores (top N functions).

PostgreSQL: URL (default $SURVEY_BENCH_DATABASE_URL, else the CI role below) names a server and a role allowed to
create databases; the benchmark creates `survey_bench_results_<teams>_<pid>` there and drops it at the end. With
--keep the databases are `survey_bench_results_kept_<teams>_<seed>` (PostgreSQL) and
$TMPDIR/survey-bench-results-<teams>-<seed>.db (SQLite), kept after the run and reused by the next run with --keep.

Targets (issue 12): at 2,000 teams, the scores of one round in at most 10 s and a peak of at most 1 GiB, on both
backends. Printed as PASS/FAIL; the exit status is 0 whatever the figures, 1 when a backend could not be measured
(no PostgreSQL server, say), other non-zero on a crash.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import msgspec
from sqlalchemy import String, cast, create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from survey.analysis import analytics
from survey.analysis.aggregation import round_sums
from survey.analysis.release import release_round
from survey.db.engine import Database, normalise_url, upgrade
from survey.db.models import (
    ExternalResponse,
    InternalResponse,
    InternalReview,
    Round,
    Unit,
)
from survey.demo.simulation import OrgShape
from survey.vocabulary import UnitKind

K = 5
COMMENT_K = 10
TARGET_TEAMS = 2000
TARGET_SECONDS = 10.0
TARGET_MIB = 1024.0
CI_POSTGRES = "postgresql://survey_ci:survey_ci@127.0.0.1:5432/survey_ci"
PARTS = ("scan", "sql", "gate", "scores", "scores_cpu")


def shape(teams: int) -> OrgShape:
    return OrgShape(
        functions=10,
        teams=teams,
        staff_per_team=12,
        customers_per_team=150,
        rounds=1,
        response_rate=1.0,
        regions=5,
    )


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def peak_rss_mib() -> float:
    """This process's peak resident set size (VmHWM: getrusage's ru_maxrss carries over across fork and exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    raise RuntimeError("no VmHWM in /proc/self/status")


# --- Databases --------------------------------------------------------------------------------------------------


def holds_round(url: str) -> bool:
    db = Database(url)
    try:
        with db.engine.connect() as connection:
            return connection.execute(select(Round.id).limit(1)).first() is not None
    finally:
        db.dispose()


def fill(url: str, teams: int, seed: int, name: str) -> None:
    from survey.demo import build  # here: the children measured for memory import only what they use

    upgrade(url)
    db = Database(url)
    started = time.perf_counter()

    def progress(step: str) -> None:
        say(f"  {name} {teams}: {time.perf_counter() - started:5.1f} s  {step}")

    try:
        build.simulate_into(db, shape(teams), seed, progress=progress)
        say(f"  {name} {teams}: written in {time.perf_counter() - started:.1f} s")
    finally:
        db.dispose()


class SqliteBackend:
    name = "sqlite"

    def __init__(self, teams: int, seed: int, keep: bool):
        if keep:
            self.directory = None
            self.path = Path(tempfile.gettempdir()) / f"survey-bench-results-{teams}-{seed}.db"
        else:
            self.directory = tempfile.TemporaryDirectory(prefix="survey-bench-results-")
            self.path = Path(self.directory.name) / "bench.db"
        self.url = f"sqlite:///{self.path}"
        self.teams, self.seed, self.keep = teams, seed, keep

    def prepare(self) -> None:
        if self.keep and self.path.exists() and holds_round(self.url):
            say(f"sqlite: reusing the kept database {self.path}")
            return
        say(f"sqlite: writing {self.teams} teams and their round into {self.path}")
        fill(self.url, self.teams, self.seed, self.name)

    def cleanup(self) -> None:
        if self.directory is not None:
            self.directory.cleanup()


class PostgresBackend:
    name = "postgresql"

    def __init__(self, server_url: str, teams: int, seed: int, keep: bool):
        self.server_url = normalise_url(server_url)
        kept = f"kept_{teams}_{seed}" if keep else f"{teams}_{os.getpid()}"
        self.database = f"survey_bench_results_{kept}"
        self.url = make_url(self.server_url).set(database=self.database).render_as_string(hide_password=False)
        self.teams, self.seed, self.keep = teams, seed, keep
        self.created = False

    def _admin(self, statement: str) -> None:
        engine = create_engine(self.server_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text(statement))
        finally:
            engine.dispose()

    def _exists(self) -> bool:
        engine = create_engine(self.server_url)
        try:
            with engine.connect() as connection:
                found = connection.execute(
                    text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": self.database}
                )
                return found.first() is not None
        finally:
            engine.dispose()

    def prepare(self) -> None:
        shown = make_url(self.url).render_as_string(hide_password=True)
        if self.keep and self._exists() and holds_round(self.url):
            say(f"postgresql: reusing the kept database {shown}")
            return
        if self._exists():  # a kept database that holds no round: start again
            self._admin(f'DROP DATABASE "{self.database}"')
        self._admin(f'CREATE DATABASE "{self.database}"')
        self.created = True
        say(f"postgresql: writing {self.teams} teams and their round into {shown}")
        fill(self.url, self.teams, self.seed, self.name)

    def cleanup(self) -> None:
        """Drop the benchmark's database; an autovacuum worker visiting it may hold it for a moment."""
        if not self.created or self.keep:
            return
        for _ in range(30):
            try:
                self._admin(f'DROP DATABASE IF EXISTS "{self.database}"')
                return
            except Exception:
                time.sleep(1)
        say(f"postgresql: could not drop {self.database}; drop it by hand")


# --- What is measured -------------------------------------------------------------------------------------------


def the_round(connection) -> int:
    return connection.execute(select(Round.id).order_by(Round.opens_at.desc()).limit(1)).scalar_one()


def scan(connection, round_id: int) -> tuple[int, int]:
    """The baseline: every staff review of the round (joined to its response) and every customer answer, read
    with their answers' JSON (how many, and its total length)."""
    reviews = connection.execute(
        select(func.count(), func.sum(func.length(cast(InternalReview.answers, String))))
        .select_from(InternalReview)
        .join(InternalResponse, InternalResponse.id == InternalReview.response_id)
        .where(InternalResponse.round_id == round_id)
    ).one()
    customers = connection.execute(
        select(func.count(), func.sum(func.length(cast(ExternalResponse.answers, String)))).where(
            ExternalResponse.round_id == round_id
        )
    ).one()
    return reviews[0] + customers[0], int(reviews[1] or 0) + int(customers[1] or 0)


def release_alone(connection, round_id: int) -> Callable[[], object]:
    """The release gate on the round's sums, made beforehand: a function to time."""
    sums = round_sums(connection, round_id)
    tree = analytics._current_tree(connection)
    invited, functions = analytics.release_inputs(connection, round_id)
    return lambda: release_round(sums, tree, K, invited, functions)


def scores(connection, round_id: int) -> bytes:
    """One round's scores, computed as a round's close computes them (`analytics.compute_results`), as stored."""
    tree = analytics._current_tree(connection)  # the tree a round is first shown with: today's
    released = analytics._release(connection, round_id, tree, K)
    staff = analytics._staff_part(connection, released, COMMENT_K)
    customers = analytics._customers_part(analytics._units(connection), released)
    return msgspec.json.encode([msgspec.to_builtins(staff), msgspec.to_builtins(customers)])


def stored(connection, round_id: int) -> str:
    responses = connection.execute(
        select(func.count()).select_from(InternalResponse).where(InternalResponse.round_id == round_id)
    ).scalar_one()
    reviews, used = connection.execute(
        select(func.count(), func.count().filter(InternalReview.used))
        .join(InternalResponse, InternalResponse.id == InternalReview.response_id)
        .where(InternalResponse.round_id == round_id)
    ).one()
    customers = connection.execute(
        select(func.count()).select_from(ExternalResponse).where(ExternalResponse.round_id == round_id)
    ).scalar_one()
    teams = connection.execute(
        select(func.count()).select_from(Unit).where(Unit.kind == UnitKind.FRONT_LINE)
    ).scalar_one()
    return (
        f"{teams:,} teams; one closed round: {responses:,} staff responses, {reviews:,} function reviews "
        f"({used:,} of them rated, the rest 'did not use'), {customers:,} customer answers"
    )


def cells(payload: bytes) -> str:
    """How many cells the stored scores hold, and how many of them are suppressed."""
    staff, customers = json.loads(payload)
    every = [c for f in staff["functions"] for c in f["cells"]] + customers["customers"]
    return f"{len(every):,} cells, {sum(c['suppressed'] for c in every):,} suppressed"


def child(mode: str, url: str) -> None:
    """Runs in a fresh process: the scores once ('scores'), or nothing ('baseline'); prints its peak RSS."""
    db = Database(url)
    started = time.perf_counter()
    with db.engine.connect() as connection:
        round_id = the_round(connection)
        if mode == "scores":
            scores(connection, round_id)
    seconds = time.perf_counter() - started
    db.dispose()
    print(json.dumps({"peak_mib": peak_rss_mib(), "seconds": seconds}))


def in_child(mode: str, url: str) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--child", mode, url], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def timed(run: Callable[[], object]) -> tuple[float, float, object]:
    started, cpu = time.perf_counter(), time.process_time()
    result = run()
    return time.perf_counter() - started, time.process_time() - cpu, result


def measure(backend, repeats: int, profile: int) -> dict:
    db = Database(backend.url)
    figures: dict = {part: [] for part in PARTS} | {"loads": [load()]}
    try:
        with db.engine.connect() as connection:
            round_id = the_round(connection)
            print(f"{backend.name}: stored {stored(connection, round_id)}", flush=True)
            gate = release_alone(connection, round_id)  # and a warm-up: caches, statement compilation
            figures["payload"] = scores(connection, round_id)
            for repeat in range(repeats):
                figures["scan"].append(timed(lambda: scan(connection, round_id))[0])
                figures["sql"].append(timed(lambda: round_sums(connection, round_id))[0])
                figures["gate"].append(timed(gate)[0])
                seconds, cpu, _ = timed(lambda: scores(connection, round_id))
                figures["scores"].append(seconds)
                figures["scores_cpu"].append(cpu)
                say(
                    f"  {backend.name} {backend.teams} run {repeat + 1}/{repeats}: scan {figures['scan'][-1]:.2f} s, "
                    f"sql {figures['sql'][-1]:.2f} s, gate {figures['gate'][-1]:.2f} s, scores {seconds:.2f} s "
                    f"({cpu:.2f} s CPU)"
                )
            if profile:
                profiler = cProfile.Profile()
                profiler.runcall(scores, connection, round_id)
                print(f"{backend.name} {backend.teams}: profile of one more computation of the scores:")
                pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(profile)
    finally:
        db.dispose()
    figures["loads"].append(load())
    say(f"  {backend.name} {backend.teams}: peak memory, in fresh processes")
    figures["baseline_mib"] = in_child("baseline", backend.url)["peak_mib"]
    fresh = in_child("scores", backend.url)
    figures["peak_mib"], figures["fresh_seconds"] = fresh["peak_mib"], fresh["seconds"]
    return figures


def report(name: str, teams: int, figures: dict) -> None:
    median = {part: statistics.median(figures[part]) for part in PARTS}
    ratio = median["scores"] / median["scan"]

    def runs(part: str) -> str:
        return ", ".join(f"{v:.2f}" for v in figures[part])

    print(f"{name} {teams}: scores {median['scores']:.2f} s (CPU {median['scores_cpu']:.2f} s), ratio "
          f"{ratio:.1f} to the scan {median['scan']:.2f} s; of which SQL sums {median['sql']:.2f} s, release gate "
          f"{median['gate']:.2f} s; peak {figures['peak_mib']:.0f} MiB (baseline {figures['baseline_mib']:.0f} "
          f"MiB); {cells(figures['payload'])}")  # fmt: skip
    print(f"{name} {teams}: runs: scan {runs('scan')} s; sql {runs('sql')} s; gate {runs('gate')} s; scores "
          f"{runs('scores')} s (CPU {runs('scores_cpu')} s); scores in a fresh process "
          f"{figures['fresh_seconds']:.2f} s; {figures['loads'][0]} before, {figures['loads'][1]} after")  # fmt: skip
    if teams == TARGET_TEAMS:
        time_ok = median["scores"] <= TARGET_SECONDS
        memory_ok = figures["peak_mib"] <= TARGET_MIB
        print(f"{name} {teams}: target scores <= {TARGET_SECONDS:.0f} s: {'PASS' if time_ok else 'FAIL'}; "
              f"target peak <= {TARGET_MIB:.0f} MiB: {'PASS' if memory_ok else 'FAIL'}")  # fmt: skip
    sys.stdout.flush()


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["both", "sqlite", "postgresql"], default="both")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default=os.environ.get("SURVEY_BENCH_DATABASE_URL", CI_POSTGRES),
        help="a PostgreSQL server and a role that may create databases (default: $SURVEY_BENCH_DATABASE_URL, "
        "else %(default)s)",
    )
    parser.add_argument("--teams", default=f"{TARGET_TEAMS},100", help="team counts, comma-separated")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the databases, and reuse kept ones")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="profile the scores: top N")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> int:
    options = arguments()
    if options.child:
        child(*options.child)
        return 0
    print(f"shape: 10 support functions, teams {options.teams} in 5 regions, 12 staff per team (response rate "
          f"1.0), 150 customers per team (Poisson mean), one closed round; k={K}, comments {COMMENT_K}; seed "
          f"{options.seed}; {os.cpu_count()} CPUs", flush=True)  # fmt: skip
    status = 0
    for teams in (int(t) for t in options.teams.split(",")):
        backends: list = []
        if options.backend in ("both", "sqlite"):
            backends.append(SqliteBackend(teams, options.seed, options.keep))
        if options.backend in ("both", "postgresql"):
            backends.append(PostgresBackend(options.postgres, teams, options.seed, options.keep))
        for backend in backends:
            try:
                backend.prepare()
                figures = measure(backend, options.repeats, options.profile)
            except OperationalError as error:  # no server, most likely: say so, and go on
                print(f"{backend.name}: not measured: {str(error.orig).strip()}", flush=True)
                status = 1
                continue
            finally:
                backend.cleanup()
            report(backend.name, teams, figures)
    return status


if __name__ == "__main__":
    sys.exit(main())
