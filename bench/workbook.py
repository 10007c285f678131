"""Workbook benchmark: the Excel workbook of a round of 2,000 front-line teams, as HR downloads it.

    python bench/workbook.py [--teams 2000] [--functions 10] [--regions 40] [--seed 1]

Builds released results of that size in memory (`Scores` as the results store them: every function's cells at
each team, region and in all, customers' figures per team and region, one cell in ten hidden; response rates
per team and region), then times `content.workbook.workbook_sheets` + `xlsx.build_workbook` for a reader who sees
everything, and builds it again under tracemalloc for the memory Python allocated while building (its peak,
beyond the input); and the file's size. The exit status is 0 whatever the figures (they are figures, not a timed test).
"""

from __future__ import annotations

import argparse
import random
import resource
import time
import tracemalloc

from survey.analysis.results import (
    CustomerCell,
    CustomerScores,
    Figure,
    FunctionScores,
    Linkage,
    Outcome,
    RoundRef,
    ScoreCell,
    Scores,
    StaffScores,
    Usage,
)
from survey.reports.content.common import RateRow
from survey.reports.content.workbook import About, Sight, workbook_sheets
from survey.reports.xlsx import build_workbook
from survey.vocabulary import DIMENSIONS, IMPACT, INTERNAL_MEASURES, OVERALL


def _figure(rng: random.Random, low: float, high: float, n: int) -> Figure | None:
    return None if rng.random() < 0.1 else Figure(n, round(rng.uniform(low, high), 4), round(rng.random(), 4))


def _nodes(teams: int, regions: int) -> list[tuple[int | None, str | None, str, str]]:
    nodes: list[tuple[int | None, str | None, str, str]] = [(None, None, "All teams", "total")]
    nodes += [(100_000 + r, f"R{r:03}", f"Region {r}", "group") for r in range(regions)]
    nodes += [(t, f"FL{t:05}", f"Store {t} on Long Street", "front_line") for t in range(teams)]
    return nodes


def synthetic_round(teams: int, functions: int, regions: int, seed: int) -> tuple[Scores, list[RateRow]]:
    rng = random.Random(seed)
    nodes = _nodes(teams, regions)

    def cell(node: tuple[int | None, str | None, str, str]) -> ScoreCell:
        scores = StaffScores(**{m: _figure(rng, 2, 6.5, rng.randint(5, 14)) for m in INTERNAL_MEASURES})
        return ScoreCell(*node, suppressed=scores.overall is None, scores=scores, usage=Usage(14, 12))

    function_scores = [
        FunctionScores(
            200_000 + f, f"SF{f:02}", f"Support function {f}", "support", [cell(n) for n in nodes], []
        )
        for f in range(functions)
    ]
    customers = [
        CustomerCell(
            *node,
            suppressed=False,
            scores=CustomerScores(
                csat_pct=_figure(rng, 40, 95, 150),
                nps=_figure(rng, -30, 60, 150),
                ces=_figure(rng, 3, 6.5, 150),
                csat=_figure(rng, 3, 4.8, 150),
                **{d: _figure(rng, 2.5, 4.8, 150) for d in DIMENSIONS},
            ),
        )
        for node in nodes
    ]
    scores = Scores(
        round=RoundRef(1, "2027 Q1", "closed"),
        min_group_size=5,
        min_comment_group_size=10,
        scale="internal scores 1 to 7",
        functions=function_scores,
        reliability={},
        customers=customers,
        measures=[OVERALL, *DIMENSIONS, IMPACT],
    )
    rates = [
        RateRow(code, kind, name, 14, None if rng.random() < 0.1 else 11, 11 / 14, False)
        for _, code, name, kind in nodes
    ]
    return scores, rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teams", type=int, default=2000)
    parser.add_argument("--functions", type=int, default=10)
    parser.add_argument("--regions", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    scores, rates = synthetic_round(args.teams, args.functions, args.regions, args.seed)
    linkage = Linkage(
        scores.round,
        ["2027 Q1"],
        Outcome("csat_pct", "CSAT%", "points"),
        5,
        args.teams,
        True,
        "",
        None,
        [],
        [],
        [],
        [],
    )
    about = About("2027 Q1", "2027-01-04", "2027-01-18", "HR", "2027-01-19")

    def build() -> bytes:
        return build_workbook(workbook_sheets(about, scores, linkage, rates, Sight(everything=True)))

    started, cpu = time.perf_counter(), time.process_time()
    data = build()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    tracemalloc.start()  # a second build, under tracemalloc (which slows it): the memory it allocates
    build()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rows = args.functions * (1 + args.regions + args.teams)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"{args.teams} teams, {args.functions} functions, {args.regions} regions: {rows} rows of scores by team; "
        f"built in {wall:.1f} s (CPU {cpu:.1f} s), peak {peak / 2**20:.0f} MiB allocated while building, "
        f"file {len(data) / 2**20:.1f} MiB; process max RSS {rss / 1024:.0f} MiB"
    )


if __name__ == "__main__":
    main()
