"""How long the `survey` command takes to start: `survey --help` and a few commands against a migrated demo-sized
database, each against the bare interpreter (`python -c pass`) measured in the same run.

    python bench/cli.py [--repeats 7]

Prints each command's median wall-clock time, its ratio to the interpreter's, the libraries it loaded of those
that are heavy (numpy, scipy, WeasyPrint, Alembic, Litestar), and whether `survey --help` is under 0.4 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from survey.db.engine import Database, upgrade
from survey.demo.build import simulate_into
from survey.demo.simulation import OrgShape

HELP_TARGET_S = 0.4
HEAVY = ("numpy", "scipy", "weasyprint", "alembic", "litestar")
COMMANDS = [
    ["--help"],
    ["round", "--help"],
    ["schedule", "list"],
    ["mail", "status"],
    ["round", "open", "no such round"],  # refused after the database is opened: exit 2
]


def timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started


def heavy_imports(args: list[str], env: dict[str, str]) -> list[str]:
    """The heavy libraries a command loads (from `python -X importtime`)."""
    report = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "survey", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    ).stderr
    loaded = {line.rsplit("|", 1)[-1].strip() for line in report.splitlines() if "|" in line}
    return [name for name in HEAVY if name in loaded]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        upgrade(url)
        db = Database(url)
        simulate_into(
            db, OrgShape(functions=7, teams=30, staff_per_team=12, customers_per_team=20, rounds=3), 1
        )
        db.dispose()
        env = {**os.environ, "SURVEY_DATABASE_URL": url, "SURVEY_SECRET_KEY": "bench"}
        survey = [sys.executable, "-m", "survey"]
        runs: dict[str, list[float]] = {"python -c pass": []}
        runs |= {" ".join(command): [] for command in COMMANDS}
        for _ in range(args.repeats):  # interleaved, so that the machine's moods fall on every command alike
            runs["python -c pass"].append(timed([sys.executable, "-c", "pass"], env))
            for command in COMMANDS:
                runs[" ".join(command)].append(timed([*survey, *command], env))
        baseline = statistics.median(runs["python -c pass"])
        print(f"python -c pass: {baseline:.3f} s (median of {args.repeats})")
        for command in COMMANDS:
            seconds = statistics.median(runs[" ".join(command)])
            heavy = ", ".join(heavy_imports(command, env)) or "none"
            print(
                f"survey {' '.join(command)}: {seconds:.3f} s, ratio {seconds / baseline:.1f}; heavy: {heavy}"
            )
        help_s = statistics.median(runs["--help"])
        verdict = "PASS" if help_s < HELP_TARGET_S else "FAIL"
        print(f"survey --help {help_s:.3f} s  target < {HELP_TARGET_S} s: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
