"""External figures: customer CSAT, NPS and CES per front-line team and round, from another tool's export.

A file (CSV or XLSX) has the columns `team, period, metric` and any of `n, mean, score, distribution`:

- `team`: a front-line team's unit code (a team deactivated since is fine: its past figures still count).
  `period`: the name of a round (e.g. `2026 Q3`). `metric`: csat, nps or ces.
- A row gives one of: a `mean` with `n` (CSAT 1 to 5, CES 1 to 7, NPS answers 0 to 10); a `score` with `n`
  (CSAT% 0 to 100, the share answering 4 or 5; NPS -100 to 100; CES has no score); or a `distribution`, the
  count of answers per scale point like `1:3 2:5 3:10 4:40 5:42`, which defines n (if `n` is given it must
  match) and from which the mean and the score are derived. A mean or score given beside a distribution must
  agree with it. Decimals may use a point or a comma; a score may end in `%`.
- Checked like the roster: every problem by row and column, nothing written unless there are none. A figure
  for the same round, team and metric replaces the one stored; figures not in the file are left as they are.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import astuple, dataclass, field
from typing import TypeVar

from sqlalchemy import JSON, Connection, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError

from survey.db.engine import Database
from survey.db.models import ExternalFigure, ImportRun, Round, Unit, utc_now
from survey.imports.tabular import (
    ImportFile,
    ImportProblem,
    Table,
    check_columns,
    in_reading_order,
    read_table,
)
from survey.imports.tabular import Row as TableRow
from survey.vocabulary import Metric, UnitKind

FIGURE_COLUMNS = ("team", "period", "metric")
FIGURE_OPTIONAL_COLUMNS = ("n", "mean", "score", "distribution")
# The answer scale of each metric: (lowest, highest) point.
SCALES = {Metric.CSAT: (1, 5), Metric.NPS: (0, 10), Metric.CES: (1, 7)}
SCORE_RANGES = {Metric.CSAT: (0.0, 100.0), Metric.NPS: (-100.0, 100.0)}
# How far a mean or score written beside a distribution may be from the one it gives: tools round.
MEAN_TOLERANCE = 0.05
SCORE_TOLERANCE = 0.5
MAX_N = 10_000_000
_FIGURE_VALUES = ("n", "mean", "score", "distribution", "source", "imported_at")
# A figure without a distribution stores SQL NULL there, not the JSON value null, so `IS NULL` finds it.
_DISTRIBUTION = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


@dataclass(frozen=True)
class Figure:
    """One row's figure, complete: what was given and what could be derived from it."""

    n: int
    mean: float | None = None
    score: float | None = None
    distribution: dict[str, int] | None = None


@dataclass(frozen=True)
class FiguresReport:
    """The outcome of `import_external_figures`: the problems found (then nothing was written), or what
    changed."""

    files: tuple[str, ...]
    problems: tuple[ImportProblem, ...] = ()
    created: int = 0
    replaced: int = 0
    unchanged: int = 0
    dry_run: bool = False
    import_run_id: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def applied(self) -> bool:
        return self.ok and not self.dry_run

    def summary(self) -> str:
        if self.problems:
            count = len(self.problems)
            return f"{count} problem{'' if count == 1 else 's'}; nothing was imported."
        text = (
            f"external figures: {self.created} created, {self.replaced} replaced, {self.unchanged} unchanged"
        )
        return f"Dry run, nothing written: {text}" if self.dry_run else text

    def as_dict(self) -> dict:
        """For the JSON API."""
        return {
            "ok": self.ok,
            "applied": self.applied,
            "dry_run": self.dry_run,
            "files": list(self.files),
            "summary": self.summary(),
            "problems": [problem.as_dict() for problem in self.problems],
            "created": self.created,
            "replaced": self.replaced,
            "unchanged": self.unchanged,
            "import_run_id": self.import_run_id,
        }


# --- One row's numbers (pure) -----------------------------------------------------------------------------


def parse_number(text: str) -> float | None:
    """A decimal as people write it: `4.2`, `4,2`, `-12`, `−12` (a typographic minus). None if it is not
    one."""
    text = text.strip().replace("\u2212", "-")
    if "," in text and "." not in text and text.count(",") == 1:
        text = text.replace(",", ".")
    return float(text) if _NUMBER.fullmatch(text) else None


def parse_distribution(text: str, metric: Metric) -> dict[int, int]:
    """`1:3 2:5 3:10` as {1: 3, 2: 5, 3: 10}. Pairs may be separated by spaces, commas or semicolons.

    Raises ValueError saying what is wrong: a pair that is not `point:count`, a point off the metric's scale
    or given twice, or no answers at all."""
    low, high = SCALES[metric]
    counts: dict[int, int] = {}
    for pair in re.split(r"[\s,;]+", text.strip()):
        match = re.fullmatch(r"(-?\d+)\s*[:=]\s*(\d+)", pair)
        if match is None:
            raise ValueError(f"{pair[:20]!r} is not point:count (e.g. 5:42)")
        point, count = int(match[1]), int(match[2])
        if not low <= point <= high:
            raise ValueError(f"point {point} is off the {metric.upper()} scale {low} to {high}")
        if point in counts:
            raise ValueError(f"point {point} is given twice")
        counts[point] = count
    if sum(counts.values()) == 0:
        raise ValueError("the distribution counts no answers")
    return dict(sorted(counts.items()))


def distribution_mean(counts: dict[int, int]) -> float:
    return round(sum(point * count for point, count in counts.items()) / sum(counts.values()), 4)


def distribution_score(metric: Metric, counts: dict[int, int]) -> float | None:
    """CSAT%: share answering 4 or 5. NPS: % answering 9 or 10 minus % answering 0 to 6. CES: no score."""
    n = sum(counts.values())
    if metric == Metric.CSAT:
        return round(100 * sum(c for p, c in counts.items() if p >= 4) / n, 2)
    if metric == Metric.NPS:
        promoters = sum(c for p, c in counts.items() if p >= 9)
        detractors = sum(c for p, c in counts.items() if p <= 6)
        return round(100 * (promoters - detractors) / n, 2)
    return None


def read_figure(metric: Metric, cells: dict[str, str]) -> tuple[Figure | None, list[tuple[str, str]]]:
    """A row's figure from its n, mean, score and distribution cells, or (column, message) problems.

    Every problem of the row is found, not just the first."""
    problems: list[tuple[str, str]] = []
    n = _read_cell(cells, "n", _whole_number, problems)
    mean = _read_cell(cells, "mean", lambda text: _mean(metric, text), problems)
    score = _read_cell(cells, "score", lambda text: _score(metric, text), problems)
    counts = _read_cell(cells, "distribution", lambda text: parse_distribution(text, metric), problems)
    if not cells.get("distribution"):
        if not any(cells.get(column) for column in ("mean", "score")):
            problems.append(("", "give a mean, a score or a distribution"))
        elif not cells.get("n"):
            problems.append(("n", "n (the number of answers) is needed with a mean or a score"))
    if counts is not None:
        problems += _disagreements(metric, counts, n, mean, score)
    if problems:
        return None, problems
    if counts is None:
        return Figure(n=n, mean=mean, score=score), []
    return (
        Figure(
            n=sum(counts.values()),
            mean=distribution_mean(counts),
            score=distribution_score(metric, counts),
            distribution={str(point): count for point, count in counts.items()},
        ),
        [],
    )


T = TypeVar("T")


def _read_cell(
    cells: dict[str, str], column: str, read: Callable[[str], T], problems: list[tuple[str, str]]
) -> T | None:
    """A cell's value read by `read`, which raises ValueError saying what is wrong; None when the cell is empty
    or wrong (and then the problem is added to `problems`)."""
    if not cells.get(column):
        return None
    try:
        return read(cells[column])
    except ValueError as error:
        problems.append((column, str(error)))
        return None


def _whole_number(text: str) -> int:
    if not (text.isascii() and text.isdigit() and len(text) <= 8 and 1 <= int(text) <= MAX_N):
        raise ValueError(f"n must be a whole number from 1 to {MAX_N:,}, not {text[:20]!r}")
    return int(text)


def _mean(metric: Metric, text: str) -> float:
    low, high = SCALES[metric]
    mean = parse_number(text)
    if mean is None or not low <= mean <= high:
        scale = f"the {metric.upper()} scale"
        raise ValueError(f"the mean is a number from {low} to {high} ({scale}), not {text[:20]!r}")
    return mean


def _score(metric: Metric, text: str) -> float:
    if metric not in SCORE_RANGES:
        raise ValueError("CES has no score: give its mean or its distribution")
    low, high = SCORE_RANGES[metric]
    score = parse_number(text.removesuffix("%"))
    if score is None or not low <= score <= high:
        what = "CSAT% (share of 4 and 5)" if metric == Metric.CSAT else "NPS"
        raise ValueError(f"{what} is a number from {low:g} to {high:g}, not {text[:20]!r}")
    return score


def _disagreements(
    metric: Metric, counts: dict[int, int], n: int | None, mean: float | None, score: float | None
) -> list[tuple[str, str]]:
    problems = []
    total = sum(counts.values())
    if n is not None and n != total:
        problems.append(("n", f"n is {n} but the distribution counts {total} answers"))
    derived_mean = distribution_mean(counts)
    if mean is not None and abs(mean - derived_mean) > MEAN_TOLERANCE:
        problems.append(("mean", f"the mean is {mean:g} but the distribution gives {derived_mean:g}"))
    derived_score = distribution_score(metric, counts)
    if score is not None and derived_score is not None and abs(score - derived_score) > SCORE_TOLERANCE:
        problems.append(("score", f"the score is {score:g} but the distribution gives {derived_score:g}"))
    return problems


# --- The import -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    file: str
    line: int
    team: str
    period: str
    metric: Metric
    figure: Figure


@dataclass
class _Read:
    rows: list[_Row] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)
    # (file, line, team code, round name) of each row: the team and the round must exist in the database
    references: list[tuple[str, int, str, str]] = field(default_factory=list)


def import_external_figures(
    db: Database, files: Sequence[ImportFile], *, actor: str, dry_run: bool = False
) -> FiguresReport:
    """Check the files against the database's teams and rounds and, if nothing is wrong, store every figure in
    one transaction (replacing stored figures for the same round, team and metric) and log an ImportRun.

    Never raises for anything in the files: every problem comes back in `FiguresReport.problems`."""
    names = tuple(file.name for file in files)
    read = _read_files(files)
    if not files:
        read.problems.append(ImportProblem("", 0, "", "no file given"))
    if read.problems and not read.references:  # nothing to look up: spare the database
        return FiguresReport(names, in_reading_order(read.problems, names), dry_run=dry_run)
    try:
        with db.write() as connection:
            teams = {
                code: (unit_id, kind)
                for unit_id, code, kind in connection.execute(select(Unit.id, Unit.code, Unit.kind))
            }
            rounds: dict[str, int] = dict(connection.execute(select(Round.name, Round.id)).all())
            problems = read.problems + _reference_problems(read.references, teams, rounds)
            if problems:
                return FiguresReport(names, in_reading_order(problems, names), dry_run=dry_run)
            return _apply(connection, read.rows, teams, rounds, names, actor, dry_run)
    except IntegrityError:  # another import stored the same figure meanwhile
        problem = ImportProblem(
            "", 0, "", "the figures changed while being imported; nothing was imported: try again"
        )
        return FiguresReport(names, (problem,), dry_run=dry_run)


def _read_files(files: Sequence[ImportFile]) -> _Read:
    read = _Read()
    first_line: dict[tuple[str, str, Metric], str] = {}
    for file in files:
        table, problems = read_table(file)
        read.problems += problems
        if table is None:
            continue
        read.problems += _header_problems(file.name, table)
        if set(FIGURE_COLUMNS) - set(table.columns):
            continue  # every row would repeat the missing column
        for row in table.rows:
            where = f"{file.name} line {row.line}" if len(files) > 1 else f"line {row.line}"
            metric, figure, found = _read_row(row, where, first_line)
            read.references.append((file.name, row.line, row["team"], row["period"]))
            read.problems += [
                ImportProblem(file.name, row.line, column, message) for column, message in found
            ]
            if not found and metric is not None and figure is not None:
                read.rows.append(_Row(file.name, row.line, row["team"], row["period"], metric, figure))
    return read


def _header_problems(name: str, table: Table) -> list[ImportProblem]:
    problems = check_columns(table, FIGURE_COLUMNS, FIGURE_OPTIONAL_COLUMNS)
    if not set(FIGURE_OPTIONAL_COLUMNS[1:]) & set(table.columns):
        problems.append(
            ImportProblem(
                name, table.header_line, "", "the header needs a mean, score or distribution column"
            )
        )
    return problems


def _read_row(
    row: TableRow, where: str, first_line: dict[tuple[str, str, Metric], str]
) -> tuple[Metric | None, Figure | None, list[tuple[str, str]]]:
    """A row's metric and figure, and its problems as (column, message); `first_line` remembers where each team,
    round and metric was first given (`where`: this row), so a repeat is a problem."""
    found = [(column, f"{column} is empty") for column in FIGURE_COLUMNS if not row[column]]
    metric = figure = None
    if row["metric"]:
        try:
            metric = Metric(row["metric"].lower())
        except ValueError:
            found.append(("metric", f"unknown metric {row['metric'][:20]!r}: use csat, nps or ces"))
    if metric is not None:
        figure, figure_problems = read_figure(metric, row.cells)
        found += figure_problems
        key = (row["team"], row["period"], metric)
        if row["team"] and row["period"] and key in first_line:
            found.append(
                ("", f"{row['team']} {row['period']} {metric} appears again (first on {first_line[key]})")
            )
        elif row["team"] and row["period"]:
            first_line[key] = where
    return metric, figure, found


def _reference_problems(
    references: list[tuple[str, int, str, str]], teams: dict[str, tuple[int, str]], rounds: dict[str, int]
) -> list[ImportProblem]:
    problems = []
    lower_rounds = {name.lower(): name for name in rounds}
    for file, line, team, period in references:
        if not team:
            pass  # reported already
        elif team not in teams:
            hint = next((f" (did you mean {c!r}?)" for c in teams if c.lower() == team.lower()), "")
            problems.append(
                ImportProblem(file, line, "team", f"no front-line team has the code {team!r}{hint}")
            )
        elif teams[team][1] != UnitKind.FRONT_LINE:
            kind = "support function" if teams[team][1] == UnitKind.SUPPORT else "group"
            problems.append(
                ImportProblem(
                    file, line, "team", f"{team!r} is a {kind}; customer figures are for front-line teams"
                )
            )
        if period and period not in rounds:
            hint = (
                f" (did you mean {lower_rounds[period.lower()]!r}?)" if period.lower() in lower_rounds else ""
            )
            problems.append(
                ImportProblem(
                    file, line, "period", f"no round is named {period!r}{hint}: create the round first"
                )
            )
    return problems


def _apply(
    connection: Connection,
    rows: list[_Row],
    teams: dict[str, tuple[int, str]],
    rounds: dict[str, int],
    names: tuple[str, ...],
    actor: str,
    dry_run: bool,
) -> FiguresReport:
    round_ids = {rounds[row.period] for row in rows}
    stored = {
        (round_id, team_id, metric): (figure_id, Figure(n, mean, score, distribution))
        for figure_id, round_id, team_id, metric, n, mean, score, distribution in connection.execute(
            select(
                ExternalFigure.id,
                ExternalFigure.round_id,
                ExternalFigure.team_id,
                ExternalFigure.metric,
                ExternalFigure.n,
                ExternalFigure.mean,
                ExternalFigure.score,
                ExternalFigure.distribution,
            ).where(ExternalFigure.round_id.in_(round_ids))
        )
    }
    new, replaced = [], []
    unchanged = 0
    now = utc_now()
    for row in rows:
        key = (rounds[row.period], teams[row.team][0], row.metric.value)
        values = dict(zip(_FIGURE_VALUES, (*astuple(row.figure), row.file[:200], now), strict=True))
        if key not in stored:
            new.append({"round_id": key[0], "team_id": key[1], "metric": key[2], **values})
        elif stored[key][1] != row.figure:
            replaced.append({"figure_id": stored[key][0], **{f"new_{k}": v for k, v in values.items()}})
        else:
            unchanged += 1
    report = FiguresReport(
        names, created=len(new), replaced=len(replaced), unchanged=unchanged, dry_run=dry_run
    )
    if dry_run:
        return report
    table = ExternalFigure.__table__
    if new:
        connection.execute(
            insert(table).values(distribution=bindparam("distribution", type_=_DISTRIBUTION)), new
        )
    if replaced:
        connection.execute(
            update(table)
            .where(table.c.id == bindparam("figure_id"))
            .values({column: bindparam(f"new_{column}") for column in _FIGURE_VALUES})
            .values(distribution=bindparam("new_distribution", type_=_DISTRIBUTION)),
            replaced,
        )
    run_id = connection.execute(
        insert(ImportRun)
        .values(
            kind="external",
            source=", ".join(names)[:200],
            actor=actor[:320],
            at=now,
            summary=report.summary()[:1000],
            details={
                "files": list(names),
                "created": len(new),
                "replaced": len(replaced),
                "unchanged": unchanged,
            },
        )
        .returning(ImportRun.id)
    ).scalar_one()
    return FiguresReport(
        names, created=len(new), replaced=len(replaced), unchanged=unchanged, import_run_id=run_id
    )
