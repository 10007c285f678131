"""Reports benchmark: a support-function head's PDF against a plain-text PDF of the same page count, every
report of a 40-unit round on all cores, and every report of a 400-team round rendered at publish by the
claim-based report work in two processes.

    python bench/reports.py [--repeats 5] [--seed 1] [--workers N] [--keep] [--skip-size | --size-only]

Writes a demo-sized organisation (`survey.demo.simulate_into`) into a fresh SQLite database: 30 front-line
teams in 3 regions, 7 support functions, 12 staff and about 150 customers per team, 6 closed quarterly rounds,
so the latest round has four before it for the trends. 30 teams, 7 functions and 3 regions are the 40 units
whose reports (and the organisation's) the second part renders.

1. The planted driver's support-function report, rendered `--repeats` times from its gathered data (the data
   itself is gathered once, as a web request or `survey reports` does per round), interleaved with the baseline:
   WeasyPrint rendering a plain-text document of as many pages (paragraphs of text, the same stylesheet and
   fonts), calibrated to the page count first. Medians are printed, and `ratio N` = report / baseline.
2. `survey reports` on the latest round: every report, the data gathered once and rendered by one process per
   core (`render_round`), wall-clock from the start of the data gathering to the last file written.

3. At size (issue 15): 400 front-line teams in 5 regions and 10 support functions (12 staff and 60 customers per
   team, 4 closed rounds). The latest round is published as HR publishes it (`scheduler.publish_round`: one
   piece of report work per report), then two processes, as two servers would, each run the report work's pass
   (`reports.work.reports_pass`: claim a report, render it, keep the PDF in the database) until none is left.
   Wall-clock from the processes' start (each gathers the round's data itself) to the last report kept.

Targets: ratio at most 1.5 (issue 15; 2.0 in issue 5); every report of the 40-unit round in at most 20 s; every
report of the 400-team round in at most 4 minutes, on these 2-core machines.
Printed as PASS/FAIL; the exit status is 0 whatever the figures (they are figures, not a timed test).
With --keep the databases are $TMPDIR/survey-bench-reports-<seed>.db and survey-bench-reports-size-<seed>.db,
kept and reused by the next run with --keep (the 400-team round's report work is queued afresh each run).
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path

from pypdf import PdfReader
from sqlalchemy import delete, func, update
from sqlmodel import select

from survey.db.engine import Database, upgrade
from survey.db.models import ReportWork, Round, RoundStatus, utc_now
from survey.demo.build import simulate_into
from survey.demo.simulation import OrgShape
from survey.reports import work as report_work
from survey.reports.catalogue import FUNCTION, ReportRef, round_reports
from survey.reports.data import RoundData, round_data
from survey.reports.render import (
    ASSETS,
    _fetcher,
    _print_stylesheet,
    render_pdf,
    render_round,
    report_context,
)
from survey.rounds.results_work import results_pass
from survey.rounds.scheduler import publish_round
from survey.settings import Settings

SHAPE = OrgShape(functions=7, teams=30, staff_per_team=12, customers_per_team=150, rounds=6, regions=3)
AT_SIZE = OrgShape(functions=10, teams=400, staff_per_team=12, customers_per_team=60, rounds=4, regions=5)
TARGET_RATIO = 1.5
TARGET_ROUND_SECONDS = 20.0
TARGET_AT_SIZE_SECONDS = 240.0
SIZE_WORKERS = 2
PARAGRAPH = (
    "Front-line staff rate the service they get from each support function on five dimensions, and the "
    "customers of each team rate the team in turn. The two are paired through the team, so a department head "
    "sees where internal shortfalls line up with what customers feel, and which come first. "
) * 3


def pages(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def plain_text_pdf(paragraphs: int) -> bytes:
    """The baseline: as `render_pdf` renders a report (the same stylesheet, parsed once, and fonts)."""
    from weasyprint import HTML

    body = "".join(f"<h2>Section {i + 1}</h2><p>{PARAGRAPH}</p>" for i in range(paragraphs))
    html = f'<!doctype html><html lang="en"><head></head><body>{body}</body></html>'
    document = HTML(string=html, base_url=str(ASSETS) + "/", url_fetcher=_fetcher())
    stylesheet, fonts = _print_stylesheet()
    return document.write_pdf(stylesheets=[stylesheet], font_config=fonts, pdf_tags=True)


def calibrate(page_count: int) -> int:
    """The number of paragraphs whose plain-text document has `page_count` pages."""
    paragraphs = 4
    while pages(plain_text_pdf(paragraphs)) < page_count:
        paragraphs += 2
    while paragraphs > 1 and pages(plain_text_pdf(paragraphs - 1)) >= page_count:
        paragraphs -= 1
    return paragraphs


def timed(work) -> tuple[float, object]:
    start = time.perf_counter()
    result = work()
    return time.perf_counter() - start, result


def cpu_timed(work) -> tuple[float, float]:
    """Wall-clock and CPU seconds of `work` (WeasyPrint is single-threaded: CPU time is steadier on a busy
    machine)."""
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def bench_database(
    seed: int, keep: bool, scratch: Path, shape: OrgShape = SHAPE, name: str = "reports"
) -> tuple[Database, str]:
    """The benchmark's organisation: written now into `scratch`, or kept in the temporary folder across runs
    (`--keep`) and written only the first time."""
    path = Path(tempfile.gettempdir()) / f"survey-bench-{name}-{seed}.db" if keep else scratch / f"{name}.db"
    url = f"sqlite:///{path}"
    fresh = not path.exists()
    upgrade(url)  # a kept database made by older code gets the newer tables
    db = Database(url)
    if fresh:
        print(
            f"Writing {shape.teams} teams, {shape.functions} functions, {shape.rounds} rounds...", flush=True
        )
        simulate_into(db, shape, seed, drop_round=shape.rounds - 2)
    return db, url


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--workers", type=int, default=None, help="processes for the whole round (default: cores)"
    )
    parser.add_argument("--keep", action="store_true")
    parts = parser.add_mutually_exclusive_group()
    parts.add_argument("--skip-size", action="store_true", help="leave out the 400-team round")
    parts.add_argument("--size-only", action="store_true", help="only the 400-team round")
    args = parser.parse_args()

    scratch = tempfile.TemporaryDirectory()
    if not args.size_only:
        demo_sized(args, Path(scratch.name))
    if not args.skip_size:
        at_size(args, Path(scratch.name))
    scratch.cleanup()
    return 0


def demo_sized(args: argparse.Namespace, scratch: Path) -> None:
    """Parts 1 and 2: the ratio against plain text, and the 40-unit round on every core."""
    db, url = bench_database(args.seed, args.keep, scratch)
    settings = Settings(database_url=url)
    with db.session() as session:
        latest = session.exec(select(Round).order_by(Round.opens_at.desc())).first()
        refs = round_reports(session, latest)
    function_refs = [r for r in refs if r.kind == FUNCTION]
    print(f"Round {latest.name}: {len(refs)} reports ({len(refs) - 1} units and the organisation)")

    # The rounds' results are computed as the scheduler does after each close (a request only reads them).
    seconds, computed = timed(lambda: results_pass(db, settings))
    assert not computed.problems, computed.problems
    print(f"Computing the rounds' results (the scheduler's work): {seconds:.2f} s", end="")
    seconds, data = timed(lambda: round_data(db, latest.id, settings))
    print(f"; gathering the round's stored results: {seconds:.2f} s")
    # The fullest function report: the one with the most hotspots (the planted driver's, when it is found).
    ref = max(function_refs, key=lambda r: hotspot_count(data, r))
    context = report_context(data, ref)
    pdf = render_pdf(context)
    page_count = pages(pdf)
    paragraphs = calibrate(page_count)
    print(
        f"Support-function report for {ref.name}: {page_count} pages; baseline: {paragraphs} paragraphs of "
        f"plain text, {pages(plain_text_pdf(paragraphs))} pages"
    )
    report_times, baseline_times = [], []
    for _ in range(args.repeats):
        report_times.append(cpu_timed(lambda: render_pdf(context)))
        baseline_times.append(cpu_timed(lambda: plain_text_pdf(paragraphs)))
    report_s, baseline_s = (
        statistics.median(t[0] for t in times) for times in (report_times, baseline_times)
    )
    report_cpu, baseline_cpu = (
        statistics.median(t[1] for t in times) for times in (report_times, baseline_times)
    )
    ratio = report_s / baseline_s
    print(
        f"report {report_s:.3f} s, CPU {report_cpu:.3f} s (runs {', '.join(f'{t:.2f}' for t, _ in report_times)})"
    )
    print(
        f"baseline {baseline_s:.3f} s, CPU {baseline_cpu:.3f} s "
        f"(runs {', '.join(f'{t:.2f}' for t, _ in baseline_times)})"
    )
    fastest = min(t for t, _ in report_times) / min(t for t, _ in baseline_times)
    print(f"ratio of CPU times {report_cpu / baseline_cpu:.2f}; of the fastest runs {fastest:.2f}")
    print(f"ratio {ratio:.2f}  target <= {TARGET_RATIO}: {'PASS' if ratio <= TARGET_RATIO else 'FAIL'}")

    with tempfile.TemporaryDirectory() as out:
        seconds, written = timed(
            lambda: render_round(db, latest.id, settings, Path(out), refs, workers=args.workers)
        )
        total_pages = sum(pages(p.read_bytes()) for p in written)
    print(
        f"every report of the round: {len(written)} PDFs, {total_pages} pages, {seconds:.1f} s "
        f"target <= {TARGET_ROUND_SECONDS:.0f} s: {'PASS' if seconds <= TARGET_ROUND_SECONDS else 'FAIL'}"
    )
    db.dispose()


def at_size(args: argparse.Namespace, scratch: Path) -> None:
    """Part 3: the 400-team round, published and rendered by the report work in two processes."""
    db, url = bench_database(args.seed, args.keep, scratch, AT_SIZE, "reports-size")
    settings = Settings(database_url=url)
    seconds, computed = timed(lambda: results_pass(db, settings))
    assert not computed.problems, computed.problems
    with db.session() as session:
        latest = session.exec(select(Round).order_by(Round.opens_at.desc())).first()
    with db.write() as connection:  # a kept database: the round is closed again, its work queued afresh
        connection.execute(delete(ReportWork).where(ReportWork.round_id == latest.id))
        connection.execute(update(Round).where(Round.id == latest.id).values(status=RoundStatus.CLOSED))
    publish_round(db, latest.id, utc_now())
    queued = len(report_work.due(db, utc_now(), [latest.id]))
    print(
        f"At size: {AT_SIZE.teams} teams, {AT_SIZE.functions} functions, {AT_SIZE.regions} regions; results "
        f"computed in {seconds:.1f} s; round {latest.name} published: {queued} reports queued",
        flush=True,
    )
    context = multiprocessing.get_context("spawn")
    done = context.Queue()
    workers = [context.Process(target=size_worker, args=(url, done)) for _ in range(SIZE_WORKERS)]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    counts, cpu = zip(*(done.get() for _ in workers), strict=True)
    seconds = time.perf_counter() - start
    for worker in workers:
        worker.join()
    with db.engine.connect() as connection:
        ready, total, size = connection.execute(
            select(func.count(ReportWork.done_at), func.count(), func.sum(func.length(ReportWork.pdf))).where(
                ReportWork.round_id == latest.id
            )
        ).one()
    print(
        f"every report of the 400-team round by the report work, {SIZE_WORKERS} processes: {ready} of {total} "
        f"ready ({' + '.join(str(c) for c in counts)} rendered by each; {size / 1e6:.0f} MB of PDF kept), "
        f"{seconds:.1f} s, target <= {TARGET_AT_SIZE_SECONDS:.0f} s: "
        f"{'PASS' if seconds <= TARGET_AT_SIZE_SECONDS and ready == total else 'FAIL'}"
    )
    print(
        f"CPU seconds of the processes: {' + '.join(f'{c:.0f}' for c in cpu)} ({sum(cpu) / total:.2f} s a "
        f"report); on an idle machine the wall-clock would be about {max(cpu):.0f} s"
    )
    db.dispose()


def size_worker(url: str, done) -> None:
    """One server process's part: the report work's passes until nothing is left; puts how many it rendered."""
    db = Database(url)
    report = report_work.reports_pass(db, Settings(database_url=url))
    assert not report.problems, report.problems
    done.put((len(report.rendered), time.process_time()))
    db.dispose()


def hotspot_count(data: RoundData, ref: ReportRef) -> int:
    return sum(1 for h in data.linkage.hotspots if h.function.code == ref.code)


if __name__ == "__main__":
    sys.exit(main())
