"""Analytics benchmark: the linkage of a round as it is computed at its close, from the database, on SQLite and on
PostgreSQL.

    python bench/analytics.py [--teams 100] [--backend both|sqlite|postgresql] [--postgres URL] [--repeats 3]
                              [--resamples 2000] [--seed 1] [--keep] [--profile N]

Writes a synthetic organisation (`survey.demo.simulate_into`) into a fresh database per backend: `--teams`
front-line teams (100 by default), 10 support functions, 8 closed quarterly rounds, 12 staff per team who all
answer (response rate 1.0) and about 150 customers per team and round (a Poisson mean). What was actually stored
is printed. Then the results of the 7 earlier rounds are computed and stored, oldest first, as the scheduler
leaves them when each round closes (`results_work.compute_now`).

Then, for each backend, in the same process and interleaved, `--repeats` times:
- the baseline: the bare SQL aggregation (`aggregation.round_sums`) of the latest round;
- the linkage of the latest round, its results not stored yet (`analytics.compute_linkage`, k=5, CSAT%, 2,000
  resamples): the latest round's SQL sums and release gate, the 7 earlier rounds' released numbers read from
  their stored scores, every test, key drivers, findings and hotspots.
The medians are printed, and the linkage's ratio to the baseline; also the linkage's CPU time in this process,
steadier on a busy machine (on PostgreSQL it leaves out the server's share, the SQL). Peak memory: the linkage
once more in a fresh process (its peak RSS, VmHWM), against a fresh process that only imports the package and
opens the database. --profile N adds a cProfile of one more linkage (top N functions).

PostgreSQL: URL (default $SURVEY_BENCH_DATABASE_URL, else the CI role below) names a server and a role allowed to
create databases; the benchmark creates `survey_bench_<pid>` there and drops it at the end. With --keep the
databases are `survey_bench_kept_<teams>_<seed>` (PostgreSQL) and $TMPDIR/survey-bench-analytics-<teams>-<seed>.db
(SQLite), kept after the run and reused by the next run with --keep; without it nothing outlives the run.

Targets (issue 12): the linkage of 100 teams at most 2 s, of 2,000 teams at most 20 s, and a peak of at most 1 GiB,
on these 2-core machines. Printed as PASS/FAIL; the exit status is 0 whatever the figures (they are figures, not
a timed test); 1 when a backend could not be measured (no PostgreSQL server, say: the other backend is still
measured), and other non-zero on a crash.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from survey.analysis.aggregation import round_sums
from survey.analysis.analytics import HISTORY, compute_linkage
from survey.db.engine import Database, normalise_url, upgrade
from survey.db.models import ExternalResponse, InternalResponse, InternalReview, Round, Unit
from survey.demo.simulation import OrgShape
from survey.vocabulary import CSAT_PCT


def shape_of(teams: int) -> OrgShape:
    return OrgShape(
        functions=10, teams=teams, staff_per_team=12, customers_per_team=150, rounds=8, response_rate=1.0
    )


SHAPE = shape_of(100)  # --teams sets it
K = 5
OUTCOME = CSAT_PCT
TARGETS = {100: 2.0, 2000: 20.0}  # seconds, issue 12; otherwise the 2,000 teams' target
TARGET_MIB = 1024.0
CI_POSTGRES = "postgresql://survey_ci:survey_ci@127.0.0.1:5432/survey_ci"


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def peak_rss_mib() -> float:
    """This process's peak resident set size. VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss across
    fork and exec, so a child would report at least its parent's size at the fork."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux; an upper bound


# --- Databases --------------------------------------------------------------------------------------------------


def holds_organisation(url: str) -> bool:
    db = Database(url)
    try:
        with db.engine.connect() as connection:
            return connection.execute(select(Unit.id).limit(1)).first() is not None
    finally:
        db.dispose()


def fill(url: str, seed: int, name: str) -> None:
    from survey.demo.build import (
        simulate_into,  # here: the children measured for memory import only what they use
    )

    upgrade(url)
    db = Database(url)
    try:
        started = time.perf_counter()
        simulate_into(
            db,
            SHAPE,
            seed,
            progress=lambda step: say(f"  {name}: {time.perf_counter() - started:5.1f} s  {step}"),
        )
        say(f"  {name}: written in {time.perf_counter() - started:.1f} s")
    finally:
        db.dispose()


class SqliteBackend:
    name = "sqlite"

    def __init__(self, seed: int, keep: bool):
        if keep:
            self.directory = None
            self.path = Path(tempfile.gettempdir()) / f"survey-bench-analytics-{SHAPE.teams}-{seed}.db"
        else:
            self.directory = tempfile.TemporaryDirectory(prefix="survey-bench-analytics-")
            self.path = Path(self.directory.name) / "bench.db"
        self.url = f"sqlite:///{self.path}"
        self.seed, self.keep = seed, keep

    def prepare(self) -> None:
        if self.keep and self.path.exists() and holds_organisation(self.url):
            say(f"sqlite: reusing the kept database {self.path}")
            return
        say(f"sqlite: writing the organisation and {SHAPE.rounds} rounds into {self.path}")
        fill(self.url, self.seed, self.name)

    def cleanup(self) -> None:
        if self.directory is not None:
            self.directory.cleanup()


class PostgresBackend:
    name = "postgresql"

    def __init__(self, server_url: str, seed: int, keep: bool):
        self.server_url = normalise_url(server_url)
        self.database = f"survey_bench_kept_{SHAPE.teams}_{seed}" if keep else f"survey_bench_{os.getpid()}"
        self.url = make_url(self.server_url).set(database=self.database).render_as_string(hide_password=False)
        self.seed, self.keep = seed, keep
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
                return bool(
                    connection.execute(
                        text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": self.database}
                    ).first()
                )
        finally:
            engine.dispose()

    def create(self) -> None:
        """Create the database unless it exists; `cleanup` drops a database created here (unless kept)."""
        if not self._exists():
            self._admin(f'CREATE DATABASE "{self.database}"')
            self.created = True

    def prepare(self) -> None:
        shown = make_url(self.url).render_as_string(hide_password=True)
        if self.keep and self._exists() and holds_organisation(self.url):
            say(f"postgresql: reusing the kept database {shown}")
            return
        self.create()
        say(f"postgresql: writing the organisation and {SHAPE.rounds} rounds into {shown}")
        fill(self.url, self.seed, self.name)

    def cleanup(self) -> None:
        """Drop the benchmark's database. An autovacuum worker visiting it may hold it for a moment, and this role
        may not end that worker (WITH (FORCE) needs pg_signal_backend), so try again for a while."""
        if not self.created or self.keep:
            return
        for _ in range(30):
            try:
                self._admin(f'DROP DATABASE IF EXISTS "{self.database}"')
                return
            except Exception:
                time.sleep(1)
        say(f"postgresql: could not drop {self.database}; drop it by hand")


# --- What was stored --------------------------------------------------------------------------------------------


def stored(url: str, round_ids: list[int]) -> str:
    db = Database(url)
    try:
        with db.engine.connect() as connection:
            responses = dict(
                connection.execute(
                    select(InternalResponse.round_id, func.count())
                    .where(InternalResponse.round_id.in_(round_ids))
                    .group_by(InternalResponse.round_id)
                ).all()
            )
            reviews = {
                r.round_id: (r.reviews, r.used)
                for r in connection.execute(
                    select(
                        InternalResponse.round_id,
                        func.count().label("reviews"),
                        func.count().filter(InternalReview.used).label("used"),
                    )
                    .join(InternalResponse, InternalResponse.id == InternalReview.response_id)
                    .where(InternalResponse.round_id.in_(round_ids))
                    .group_by(InternalResponse.round_id)
                )
            }
            customers = dict(
                connection.execute(
                    select(ExternalResponse.round_id, func.count())
                    .where(ExternalResponse.round_id.in_(round_ids))
                    .group_by(ExternalResponse.round_id)
                ).all()
            )
    finally:
        db.dispose()

    def spread(values: list[int]) -> str:
        low, high = min(values), max(values)
        return f"{low:,}" if low == high else f"{low:,}-{high:,}"

    return (
        f"{len(round_ids)} closed rounds, per round: {spread([responses.get(r, 0) for r in round_ids])} "
        f"staff responses, {spread([reviews.get(r, (0, 0))[0] for r in round_ids])} function reviews "
        f"({spread([reviews.get(r, (0, 0))[1] for r in round_ids])} of them rated, the rest 'did not use'), "
        f"{spread([customers.get(r, 0) for r in round_ids])} customer answers"
    )


def rounds_read(url: str) -> list[Round]:
    """The rounds the linkage of the latest round reads, oldest first (every round here is closed)."""
    db = Database(url)
    try:
        with db.engine.connect() as connection:
            rows = connection.execute(select(Round).order_by(Round.opens_at.desc()).limit(HISTORY)).all()
    finally:
        db.dispose()
    return [Round.model_validate(r._mapping) for r in reversed(rows)]


# --- Measurements -----------------------------------------------------------------------------------------------


def child(mode: str, url: str, round_id: int, resamples: int) -> None:
    """Runs in a fresh process: the linkage once ('linkage'), or nothing ('baseline'); prints its peak RSS."""
    db = Database(url)
    started = time.perf_counter()
    with db.engine.connect() as connection:
        a_round = Round.model_validate(
            connection.execute(select(Round).where(Round.id == round_id)).one()._mapping
        )
        if mode == "linkage":
            compute_linkage(connection, a_round, K, OUTCOME, resamples)
    seconds = time.perf_counter() - started
    db.dispose()
    print(json.dumps({"peak_mib": peak_rss_mib(), "seconds": seconds}))


def in_child(mode: str, url: str, round_id: int, resamples: int) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--child", mode, url, str(round_id), str(resamples)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def store_earlier_results(url: str, rounds: list[Round]) -> None:
    """The earlier rounds' results, as the scheduler leaves them: computed at each one's close, oldest first.
    The latest round's are not stored: its linkage is what is measured."""
    from survey.rounds.results_work import compute_now
    from survey.settings import Settings

    db = Database(url)
    try:
        started = time.perf_counter()
        compute_now(db, Settings(min_group_size=K), rounds[-2].id)
        say(
            f"  the {len(rounds) - 1} earlier rounds' results stored in {time.perf_counter() - started:.1f} s"
        )
    finally:
        db.dispose()


def measure(backend, repeats: int, resamples: int, profile: int) -> dict:
    rounds = rounds_read(backend.url)
    latest = rounds[-1]
    print(f"{backend.name}: stored {stored(backend.url, [r.id for r in rounds])}", flush=True)
    store_earlier_results(backend.url, rounds)
    db = Database(backend.url)
    sql, linkage, linkage_cpu = [], [], []
    loads = [load()]
    try:
        with db.engine.connect() as connection:
            round_sums(connection, latest.id)  # warm-up: caches, statement compilation
            for repeat in range(repeats):
                started = time.perf_counter()
                round_sums(connection, latest.id)
                sql.append(time.perf_counter() - started)
                started, cpu = time.perf_counter(), time.process_time()
                result = compute_linkage(connection, latest, K, OUTCOME, resamples)
                linkage.append(time.perf_counter() - started)
                linkage_cpu.append(time.process_time() - cpu)
                say(
                    f"  {backend.name} run {repeat + 1}/{repeats}: sql aggregation {sql[-1]:.2f} s, "
                    f"linkage {linkage[-1]:.2f} s ({linkage_cpu[-1]:.2f} s CPU)"
                )
            if profile:
                profiler = cProfile.Profile()
                profiler.runcall(compute_linkage, connection, latest, K, OUTCOME, resamples)
                print(f"{backend.name}: profile of one more linkage (cProfile, cumulative):")
                pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(profile)
    finally:
        db.dispose()
    loads.append(load())
    say(f"  {backend.name}: peak memory, in fresh processes")
    baseline = in_child("baseline", backend.url, latest.id, resamples)
    fresh = in_child("linkage", backend.url, latest.id, resamples)
    return {
        "rounds": [r.name for r in rounds],
        "latest": latest.name,
        "sql": sql,
        "linkage": linkage,
        "linkage_cpu": linkage_cpu,
        "loads": loads,
        "result": result,
        "baseline_mib": baseline["peak_mib"],
        "peak_mib": fresh["peak_mib"],
        "fresh_seconds": fresh["seconds"],
    }


def report(name: str, figures: dict, resamples: int) -> None:
    sql, linkage = statistics.median(figures["sql"]), statistics.median(figures["linkage"])
    cpu = statistics.median(figures["linkage_cpu"])
    ratio = linkage / sql
    result = figures["result"]

    def runs(values: list[float]) -> str:
        return ", ".join(f"{v:.2f}" for v in values)

    print(f"{name}: rounds read {figures['rounds'][0]} .. {figures['latest']}; {result.message} "
          f"{len(result.tests)} tests, {len(result.hotspots)} hotspots")  # fmt: skip
    print(f"{name}: sql aggregation of the latest round {sql:.2f} s; linkage of the latest round "
          f"{linkage:.2f} s; ratio {ratio:.1f}; peak {figures['peak_mib']:.0f} MiB "
          f"(baseline {figures['baseline_mib']:.0f} MiB)")  # fmt: skip
    print(f"{name}: runs: sql aggregation {runs(figures['sql'])} s; linkage {runs(figures['linkage'])} s, "
          f"CPU of this process {runs(figures['linkage_cpu'])} s (median {cpu:.2f}); linkage in a fresh process "
          f"{figures['fresh_seconds']:.2f} s; {figures['loads'][0]} before, {figures['loads'][1]} after")  # fmt: skip
    print(f"linkage {name} {linkage:.2f} s (ratio {ratio:.1f} to SQL aggregation {sql:.2f} s; "
          f"k={K}, {OUTCOME}, {resamples} resamples)")  # fmt: skip
    target = TARGETS.get(SHAPE.teams, TARGETS[2000])
    print(f"{name}: target linkage <= {target:.0f} s: {'PASS' if linkage <= target else 'FAIL'}; "
          f"target peak <= {TARGET_MIB:.0f} MiB: {'PASS' if figures['peak_mib'] <= TARGET_MIB else 'FAIL'}",
          flush=True)  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--teams", type=int, default=100, help="front-line teams (default %(default)s)")
    parser.add_argument("--backend", choices=["both", "sqlite", "postgresql"], default="both")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default=os.environ.get("SURVEY_BENCH_DATABASE_URL", CI_POSTGRES),
        help="a PostgreSQL server and a role that may create databases (default: $SURVEY_BENCH_DATABASE_URL, "
        "else %(default)s)",
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--resamples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the databases, and reuse kept ones")
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="profile one more linkage; print the top N functions",
    )
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        mode, url, round_id, resamples = arguments.child
        child(mode, url, int(round_id), int(resamples))
        return 0
    global SHAPE
    SHAPE = shape_of(arguments.teams)
    print(f"shape: {SHAPE.teams} front-line teams, {SHAPE.functions} support functions, {SHAPE.rounds} rounds, "
          f"{SHAPE.staff_per_team} staff per team (response rate {SHAPE.response_rate}), "
          f"{SHAPE.customers_per_team} customers per team and round (Poisson mean); seed {arguments.seed}; "
          f"{os.cpu_count()} CPUs", flush=True)  # fmt: skip
    backends = []
    if arguments.backend in ("both", "sqlite"):
        backends.append(SqliteBackend(arguments.seed, arguments.keep))
    if arguments.backend in ("both", "postgresql"):
        backends.append(PostgresBackend(arguments.postgres, arguments.seed, arguments.keep))
    status = 0
    for backend in backends:
        try:
            backend.prepare()
            figures = measure(backend, arguments.repeats, arguments.resamples, arguments.profile)
        except OperationalError as error:  # most likely no server: say so, and go on with the other backend
            print(f"{backend.name}: not measured: {str(error.orig).strip()}", flush=True)
            status = 1
            continue
        finally:
            backend.cleanup()
        report(backend.name, figures, arguments.resamples)
    return status


if __name__ == "__main__":
    sys.exit(main())
