"""What a round's Excel workbook holds for one reader: the released figures of the reports that reader may read,
one table per kind of figure, each figure with its n, and every figure the release gate hides marked as hidden.

Who may read which report is decided elsewhere (`reports.catalogue`); `Sight` says what those reports show:
- a support function's report: that function's scores at every team, group and in all, its comments, its
  findings and hotspots, and its evidence against the customer outcome;
- a front-line team's report, or a region's: every function's scores at those teams and groups and across all
  teams, their customers' figures, their response rates, their hotspots, and the organisation's evidence told
  without naming other teams;
- the executive report (HR and executives): everything.

Pure: no web, no database.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from survey.analysis.results import (
    CustomerCell,
    Driver,
    Figure,
    Finding,
    FunctionScores,
    Hotspot,
    Linkage,
    LinkTest,
    ScoreCell,
    Scores,
)
from survey.reports.content.common import RateRow, driver_evidence
from survey.reports.xlsx import HIDDEN, HIDDEN_TEXT, Column, Sheet, Value
from survey.vocabulary import (
    CES,
    CSAT_MEAN,
    CSAT_PCT,
    DIMENSIONS,
    FAVOURABLE_MEASURES,
    IMPACT,
    MEASURE_LABELS,
    NPS,
    OUTCOME_LABELS,
    outcome_decimals,
)

LEVELS = {"front_line": "team", "group": "group", "total": "all teams"}
CUSTOMER_MEASURES = (CSAT_PCT, NPS, CES, CSAT_MEAN, *DIMENSIONS)
HIDDEN_REASON = (
    "hidden to protect anonymity: fewer than {k} people answered, they all gave the same answer, or the figure "
    "could be worked out from others"
)
ONE = "0.0"  # a mean, as the pages and reports print it
WHOLE = "0"
SHARE = "0%"


@dataclass(frozen=True)
class Sight:
    """What one reader may see of a round, from the reports they may read: `everything` (the executive report),
    the `functions` whose reports they read (codes), and the `units` (codes of teams and groups) whose reports
    they read, with every team and group below a group's."""

    everything: bool = False
    functions: frozenset[str] = frozenset()
    units: frozenset[str] = frozenset()

    def sees_node(self, code: str | None, kind: str) -> bool:
        """A team's, group's or all teams' figures (a team's report compares the team with all teams)."""
        return self.everything or code in self.units or (kind == "total" and bool(self.units))

    def sees_staff(self, function: str, cell: ScoreCell) -> bool:
        return function in self.functions or self.sees_node(cell.code, cell.kind)

    def names_teams(self, function: str) -> bool:
        """Whether the reader may read which teams carry a function's evidence (its report, or every report)."""
        return self.everything or function in self.functions


@dataclass(frozen=True)
class About:
    """The facts of the "Read me" sheet."""

    round_name: str
    opens: str
    closes: str
    made_for: str
    made_on: str


def workbook_sheets(
    about: About, scores: Scores, linkage: Linkage, participation: Sequence[RateRow], sight: Sight
) -> list[Sheet]:
    """The workbook's sheets for a reader: "Read me" first, then each table the reader sees something of."""
    functions = [f for f in scores.functions if any(sight.sees_staff(f.code, c) for c in f.cells)]
    customers = [c for c in scores.customers if sight.sees_node(c.code, c.kind)]
    rates = [p for p in participation if sight.everything or p.code in sight.units]
    comments = [f for f in functions if sight.names_teams(f.code) and f.comments]
    findings = [f for f in linkage.findings if sight.names_teams(f.function.code)]
    hotspots = [
        h for h in linkage.hotspots if sight.names_teams(h.function.code) or h.team.code in sight.units
    ]
    drivers = [d for d in linkage.drivers if sight.units or sight.names_teams(d.function.code)]
    sheets = []
    if functions:
        sheets += [_function_sheet(scores, functions, sight), _team_sheet(scores, functions, sight)]
    if customers:
        sheets.append(_customer_sheet(customers))
    if drivers:
        sheets.append(_driver_sheet(linkage, drivers, sight))
    if findings:
        sheets.append(_finding_sheet(linkage, findings))
    if hotspots:
        sheets.append(_hotspot_sheet(linkage, hotspots))
    if rates:
        sheets.append(_participation_sheet(rates))
    if comments:
        sheets.append(_comment_sheet(comments))
    return [_read_me(about, scores, linkage, sheets), *sheets]


def _figure(figure: Figure | None) -> tuple[Value, Value]:
    """A released figure as (mean, n), or hidden twice: a hidden figure's n is not shown either."""
    return (HIDDEN, HIDDEN) if figure is None else (figure.mean, figure.n)


def _with_share(figure: Figure | None) -> tuple[Value, Value, Value]:
    """A released figure as (mean, share favourable as a fraction, n), hidden three times; the share is blank for
    a measure without one (harm, an imported figure without its distribution)."""
    if figure is None:
        return HIDDEN, HIDDEN, HIDDEN
    share = None if figure.favourable is None else figure.favourable / 100
    return figure.mean, share, figure.n


def _label(measure: str) -> str:
    return OUTCOME_LABELS[measure][0] if measure in OUTCOME_LABELS else MEASURE_LABELS[measure]


def _unit_columns() -> list[Column]:
    return [Column("Unit code", 12), Column("Unit", 30), Column("Level", 10)]


def _unit(cell_code: str | None, name: str, kind: str) -> list[Value]:
    return [cell_code, name, LEVELS.get(kind, kind)]


# --- Read me ------------------------------------------------------------------------------------------------------


def _read_me(about: About, scores: Scores, linkage: Linkage, sheets: list[Sheet]) -> Sheet:
    k = scores.min_group_size
    harm = f" {MEASURE_LABELS[IMPACT]} runs the other way: higher is worse." * (IMPACT in scores.measures)
    rows: list[tuple[str, str | int]] = [
        ("Round", about.round_name),
        ("Open from", about.opens),
        ("Closed on", about.closes),
        ("Made for", about.made_for),
        ("Made on", about.made_on),
        ("Fewest people behind a figure (k)", k),
        (
            "Hidden cells",
            f'A grey cell reading "{HIDDEN_TEXT}" is {HIDDEN_REASON.format(k=k)}. Which of these applies to a '
            "cell is not said, since that could tell the answer; its n is hidden too. A team or group missing "
            "from a table had no answers.",
        ),
        (
            "Staff scores",
            "Staff rate each support function they used from 1 (strongly disagree) to 7 (strongly agree); "
            "higher is better. Overall is each person's mean of the five dimensions (and of the overall rating, "
            f"where the questionnaire asks one).{harm}",
        ),
        (
            "Customer figures",
            "CSAT% is the share of customers answering 4 or 5 of 5 to how satisfied they are; NPS is the share "
            "answering 9 or 10 of 10 to how likely they are to recommend the team, minus the share answering 0 "
            "to 6 (-100 to 100); CES is how easy it was to get what they needed, 1 to 7; mean satisfaction and "
            "the dimensions are 1 to 5.",
        ),
        (
            "Share favourable",
            "Beside each mean: the share of answers in the top of the scale (5 to 7 of 1 to 7, 4 or 5 of 1 to 5), "
            "each person weighing as one, over the same n. Blank for a measure without one (harm, CSAT%, NPS).",
        ),
        (
            "Numbers",
            "Every figure is a number with its n (people behind it) in the next column, shown rounded as the "
            "pages and reports print it: means to one decimal, CSAT% and NPS to whole points, response rates "
            "to whole percents. The cell holds the released value.",
        ),
        ("Customer outcome the linkage reads", linkage.outcome.label),
        ("Sheets", "; ".join(sheet.title for sheet in sheets)),
    ]
    return Sheet("Read me", [Column("", 34), Column("", 110)], rows, table=False)


# --- Staff's scores -----------------------------------------------------------------------------------------------


def _function_sheet(scores: Scores, functions: list[FunctionScores], sight: Sight) -> Sheet:
    """Each function's score of every measure across all teams."""
    columns = [
        Column("Function code", 12),
        Column("Function", 30),
        Column("Measure", 26),
        Column("Mean (1 to 7)", 12, ONE),
        Column("Share favourable", 12, SHARE),
        Column("n", 8, WHOLE),
    ]

    def rows() -> Iterator[list[Value]]:
        for function in functions:
            total = function.cell(None)
            if total is None or not sight.sees_staff(function.code, total):
                continue
            for measure in scores.measures:
                figure = None if total.suppressed else total.scores.of(measure)
                yield [function.code, function.name, MEASURE_LABELS[measure], *_with_share(figure)]

    return Sheet("Functions by dimension", columns, rows())


def _team_sheet(scores: Scores, functions: list[FunctionScores], sight: Sight) -> Sheet:
    """Each function's scores at each team and group the reader sees, with usage."""
    columns = [
        Column("Function code", 12),
        Column("Function", 24),
        *_unit_columns(),
        Column("Answered", 10, WHOLE),
        Column("Used the function", 10, WHOLE),
    ]
    for measure in scores.measures:
        columns += [
            Column(f"{MEASURE_LABELS[measure]} mean", 12, ONE),
            Column(f"{MEASURE_LABELS[measure]} favourable", 12, SHARE),
            Column(f"{MEASURE_LABELS[measure]} n", 8, WHOLE),
        ]

    def rows() -> Iterator[list[Value]]:
        for function in functions:
            for cell in function.cells:
                if not sight.sees_staff(function.code, cell):
                    continue
                usage: list[Value] = (
                    [HIDDEN, HIDDEN] if cell.usage is None else [cell.usage.answered, cell.usage.used]
                )
                figures: list[Value] = []
                for measure in scores.measures:
                    figures += _with_share(None if cell.suppressed else cell.scores.of(measure))
                yield [
                    function.code,
                    function.name,
                    *_unit(cell.code, cell.name, cell.kind),
                    *usage,
                    *figures,
                ]

    return Sheet("Functions by team", columns, rows())


# --- Customers ----------------------------------------------------------------------------------------------------


def _customer_sheet(customers: list[CustomerCell]) -> Sheet:
    columns = _unit_columns()
    for measure in CUSTOMER_MEASURES:
        decimals = WHOLE if outcome_decimals(measure) == 0 else ONE
        columns.append(Column(_label(measure), 11, decimals))
        if measure in FAVOURABLE_MEASURES:
            columns.append(Column(f"{_label(measure)} favourable", 12, SHARE))
        columns.append(Column(f"{_label(measure)} n", 8, WHOLE))

    def rows() -> Iterator[list[Value]]:
        for cell in customers:
            figures: list[Value] = []
            for measure in CUSTOMER_MEASURES:
                figure = cell.scores.of(measure)
                figures += _with_share(figure) if measure in FAVOURABLE_MEASURES else _figure(figure)
            yield [*_unit(cell.code, cell.name, cell.kind), *figures]

    return Sheet("Customers by team", columns, rows())


# --- Linkage ------------------------------------------------------------------------------------------------------


def _test_values(test: LinkTest | None) -> list[Value]:
    if test is None:
        return [None] * 5
    return [test.effect, test.low, test.high, test.q, test.n]


def _test_columns(name: str, effect: str, fmt: str) -> list[Column]:
    return [
        Column(f"{name}: {effect}", 12, fmt),
        Column(f"{name}: 90% low", 10, fmt),
        Column(f"{name}: 90% high", 10, fmt),
        Column(f"{name}: q", 8, "0.000"),
        Column(f"{name}: n teams", 8, WHOLE),
    ]


def _driver_sheet(linkage: Linkage, drivers: list[Driver], sight: Sight) -> Sheet:
    """Each function's evidence against the customer outcome; told without naming teams to a reader who may not
    read which teams' ratings fell."""
    unit = linkage.outcome.unit
    columns = [
        Column("Function code", 12),
        Column("Function", 24),
        Column("Score", 14),
        Column("Claim", 14),
        Column("Share of the outcome's differences", 14, SHARE),
        Column("Share: 90% low", 10, SHARE),
        Column("Share: 90% high", 10, SHARE),
        Column("n teams", 8, WHOLE),
        *_test_columns("Teams whose rating fell", f"customers' shift ({unit})", ONE),
        *_test_columns("Same round", "rho", "0.00"),
        Column("Evidence", 80),
    ]

    def rows() -> Iterator[list[Value]]:
        for d in drivers:
            evidence = d.sentence if sight.names_teams(d.function.code) else driver_evidence(d, linkage)
            yield [
                d.function.code,
                d.function.name,
                MEASURE_LABELS[d.measure],
                d.claim or "not claimed",
                d.weight,
                d.weight_low,
                d.weight_high,
                d.n,
                *_test_values(d.tests.change),
                *_test_values(d.tests.same_round),
                evidence,
            ]

    return Sheet("Drivers", columns, rows())


def _finding_sheet(linkage: Linkage, findings: list[Finding]) -> Sheet:
    unit = linkage.outcome.unit
    columns = [
        Column("Function code", 12),
        Column("Function", 24),
        Column("Score", 14),
        Column("Status", 10),
        Column("Claim", 14),
        Column("Since", 12),
        Column("Teams", 40),
        Column(f"Customers' shift ({unit})", 12, ONE),
        Column("90% low", 10, ONE),
        Column("90% high", 10, ONE),
        Column("q", 8, "0.000"),
        Column("n teams", 8, WHOLE),
        Column("Finding", 80),
    ]
    rows = [
        [
            f.function.code,
            f.function.name,
            MEASURE_LABELS[f.measure],
            f.status,
            f.claim,
            f.since,
            "; ".join(t.team.name for t in f.teams),
            f.effect,
            f.low,
            f.high,
            f.q,
            f.n,
            f.sentence,
        ]
        for f in findings
    ]
    return Sheet("Findings", columns, rows)


def _hotspot_sheet(linkage: Linkage, hotspots: list[Hotspot]) -> Sheet:
    outcome = linkage.outcome
    fmt = WHOLE if outcome_decimals(outcome.measure) == 0 else ONE
    columns = [
        Column("Function code", 12),
        Column("Function", 24),
        Column("Team code", 12),
        Column("Team", 30),
        Column("Score", 14),
        Column("Since", 12),
        Column("Rating before", 10, ONE),
        Column("Rating now", 10, ONE),
        Column("Rating n", 8, WHOLE),
        Column(f"{outcome.label} before", 12, fmt),
        Column(f"{outcome.label} now", 12, fmt),
        Column(f"{outcome.label} n", 8, WHOLE),
        Column(f"Customers' shift ({outcome.unit})", 12, ONE),
        Column("Hotspot", 80),
    ]
    rows = [
        [
            h.function.code,
            h.function.name,
            h.team.code,
            h.team.name,
            MEASURE_LABELS[h.measure],
            h.since,
            h.score_before,
            *_pair(h.score, h.score_n),
            h.outcome_before,
            *_pair(h.outcome, h.outcome_n),
            h.outcome_shift,
            h.sentence,
        ]
        for h in hotspots
    ]
    return Sheet("Hotspots", columns, rows)


def _pair(value: float | None, n: int | None) -> tuple[Value, Value]:
    """A figure a finding reads this round, with its n, or hidden ("not shown")."""
    return (HIDDEN, HIDDEN) if value is None else (value, n)


# --- Participation and comments -----------------------------------------------------------------------------------


def _participation_sheet(rates: list[RateRow]) -> Sheet:
    columns = [
        *_unit_columns(),
        Column("Invited", 10, WHOLE),
        Column("Answered", 10, WHOLE),
        Column("Response rate", 10, SHARE),
        Column("Below 60%", 10),
    ]
    rows = [
        [
            *_unit(p.code, p.name, p.kind),
            p.invited,
            HIDDEN if p.answered is None else p.answered,
            HIDDEN if p.rate is None else p.rate,
            "below 60%" if p.low else None,
        ]
        for p in rates
    ]
    return Sheet("Participation", columns, rows)


def _comment_sheet(functions: list[FunctionScores]) -> Sheet:
    columns = [
        Column("Function code", 12),
        Column("Function", 24),
        Column("Team", 14),
        Column("Comment", 100),
    ]
    rows = [
        [f.code, f.name, group.team or "pooled, from several teams", text]
        for f in functions
        for group in f.comments
        for text in group.comments
    ]
    return Sheet("Comments", columns, rows)
