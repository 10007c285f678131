"""Linkage benchmark at real size: the statistics of a round's linkage (`linkage.link_round`) over released rounds.

    python bench/linkage.py [--teams 100 2000] [--functions 10] [--rounds 8] [--repeats 3] [--resamples 2000]

For each size, builds released rounds directly (team-level numbers as the release gate passes them: every team's
score of every function on every measure, with n, and every customer measure): stable differences between teams
and functions, noise each round, a planted function whose service falls at a fifth of the teams in the fifth round
with their customers a round later, and a decoy. Then links the latest round with the history before it: every
correlation, the shift tests over the whole history, Benjamini-Hochberg, key drivers, findings and hotspots.

Printed per size: the median wall and CPU time of `--repeats` linkages; the baseline, a fixed numpy workload run
in the same process just before (the machine's speed at that moment: these machines are shared); the ratio of
the two; and the peak RSS (VmHWM) of a fresh process that builds the rounds and links once, against one that only
builds them. The database's part of a round's results (its SQL sums and release gate, once at its close) is
measured by bench/results.py.

Targets (issue 12): 2,000 teams x 10 functions x 8 rounds at most 20 s and 1 GiB; 100 teams at most 2 s. Printed
as PASS/FAIL; exit status 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

import numpy as np

from survey.analysis.linkage import Named, link_round
from survey.analysis.release import ReleasedRound, Shown
from survey.vocabulary import EXTERNAL_MEASURES, INTERNAL_MEASURES

TARGETS = {100: 2.0, 2000: 20.0}  # seconds
MEMORY_TARGET_MIB = 1024


def released_rounds(teams: int, functions: int, rounds: int, seed: int = 1) -> list[ReleasedRound]:
    g = np.random.default_rng(seed)
    level = g.normal(5.0, 0.4, (functions, teams))
    customers = g.normal(70.0, 8.0, teams)
    hit = g.permutation(teams)[: teams // 5]
    decoy = g.permutation(teams)[: teams // 5]
    made = []
    for r in range(rounds):
        scores = level + g.normal(0, 0.25, (functions, teams))
        outcome = customers + g.normal(0, 5.0, teams)
        if r >= 4:
            scores[0, hit] -= 1.2
            scores[1, decoy] -= 1.2
        if r >= 5:
            outcome[hit] -= 6.0
        released = ReleasedRound(r + 1, 5)
        for f in range(functions):
            released.internal[f + 1] = {
                1000 + t: {m: Shown(9, float(scores[f, t]), 0.7) for m in INTERNAL_MEASURES}
                for t in range(teams)
            }
        for t in range(teams):
            released.external[1000 + t] = {m: Shown(150, float(outcome[t]), 40.0) for m in EXTERNAL_MEASURES}
        made.append(released)
    return made


def link(made: list[ReleasedRound], functions: int, teams: int, resamples: int):
    return link_round(
        made,
        [Named(f + 1, f"function {f + 1}") for f in range(functions)],
        [Named(1000 + t, f"team {t}") for t in range(teams)],
        seed=7,
        resamples=resamples,
    )


def baseline() -> float:
    """A fixed numpy workload (matrix products and sorts), in seconds: how fast the machine is just now."""
    g = np.random.default_rng(0)
    a = g.normal(size=(400, 400))
    start = time.perf_counter()
    for _ in range(20):
        a = np.tanh(a @ a / 400)
        np.sort(g.normal(size=200_000))
    return time.perf_counter() - start


def peak_mib(teams: int, functions: int, rounds: int, resamples: int, linked: bool) -> int:
    """Peak RSS of a fresh process that builds the rounds (and links them when `linked`)."""
    code = (
        "import sys; sys.path.insert(0, 'bench'); import linkage as b; "
        f"made = b.released_rounds({teams}, {functions}, {rounds}); "
        + (f"b.link(made, {functions}, {teams}, {resamples}); " if linked else "")
        + "print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return int(out.split()[-1]) // 1024


def measure(teams: int, functions: int, rounds: int, repeats: int, resamples: int) -> dict:
    made = released_rounds(teams, functions, rounds)
    walls, cpus, bases = [], [], []
    result = None
    for _ in range(repeats):
        bases.append(baseline())
        wall, cpu = time.perf_counter(), time.process_time()
        result = link(made, functions, teams, resamples)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    assert result is not None
    return {
        "teams": teams,
        "wall": statistics.median(walls),
        "runs": [round(w, 2) for w in walls],
        "cpu": statistics.median(cpus),
        "baseline": statistics.median(bases),
        "peak": peak_mib(teams, functions, rounds, resamples, True),
        "peak_data": peak_mib(teams, functions, rounds, resamples, False),
        "tests": len(result.tests),
        "message": result.message,
        "hotspots": len(result.hotspots),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--teams", type=int, nargs="+", default=[100, 2000])
    parser.add_argument("--functions", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--resamples", type=int, default=2000)
    args = parser.parse_args()
    for teams in args.teams:
        m = measure(teams, args.functions, args.rounds, args.repeats, args.resamples)
        target = TARGETS.get(teams)
        verdict = "" if target is None else (
            f" target {target:.0f} s, {MEMORY_TARGET_MIB} MiB: "
            + ("PASS" if m["wall"] <= target and m["peak"] <= MEMORY_TARGET_MIB else "FAIL")
        )  # fmt: skip
        print(
            f"{teams} teams x {args.functions} functions x {args.rounds} rounds: linkage {m['wall']:.2f} s "
            f"(runs {m['runs']}), CPU {m['cpu']:.2f} s; baseline {m['baseline']:.2f} s, ratio "
            f"{m['wall'] / m['baseline']:.1f}; peak {m['peak']} MiB (building the rounds alone {m['peak_data']} MiB);"
            f" {m['tests']} tests; {m['message']} {m['hotspots']} hotspots.{verdict}"
        )
        print(json.dumps({k: v for k, v in m.items() if k != "message"}))


if __name__ == "__main__":
    main()
