"""The report for a front-line team's head: how my team rates each support function against all teams, my
customers' scores, and which internal problems weigh most on my customers. It names no other team.

Pure: no web, no database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from survey.analysis.results import (
    CustomerCell,
    Driver,
    Figure,
    FunctionScores,
    Hotspot,
    Linkage,
    ScoreCell,
    Scores,
    UnitName,
)
from survey.reports import charts
from survey.reports.content.common import (
    CLAIM_VERBS,
    Change,
    Finding,
    RateRow,
    as_grid,
    change,
    change_words,
    driver_evidence,
    figure_dot,
    header,
    interval,
    number,
    periods,
    shown_text,
    trend,
    trend_series,
)
from survey.vocabulary import (
    CES,
    CSAT_MEAN,
    CSAT_PCT,
    DIMENSIONS,
    MEASURE_LABELS,
    NPS,
    OUTCOME_LABELS,
    OVERALL,
    STAFF_SCALE,
    outcome_decimals,
    outcome_scale,
)


@dataclass(frozen=True)
class Lowest:
    label: str
    mean: float


@dataclass(frozen=True)
class Rating:
    """How my team rates one support function overall, against all teams."""

    function: FunctionScores
    shown: Figure | None
    interval: tuple[float, float] | None
    all: Figure | None
    cell: ScoreCell | None
    driver: Driver | None
    lowest: Lowest | None  # my team's lowest dimension of it


@dataclass(frozen=True)
class CustomerRow:
    """One customer measure of my team against all teams and the round before."""

    measure: str
    label: str
    decimals: int
    shown: Figure | None
    all: Figure | None
    before: Figure | None
    before_suppressed: bool
    change: Change | None


@dataclass(frozen=True)
class Weighing:
    """A function linked with the customer outcome that my team rates below all teams."""

    function: FunctionScores
    shown: Figure
    all: Figure
    gap: float  # my team's rating minus all teams'
    weight: float | None
    driver: Driver
    evidence: str  # the organisation's evidence, naming no team


@dataclass(frozen=True)
class _Facts:
    subject: UnitName
    scores: Scores
    linkage: Linkage
    previous: Scores | None
    before_name: str
    mine: CustomerCell | None
    ratings: list[Rating]
    hotspots: list[Hotspot]


def team_report(
    subject: UnitName,
    scores: Scores,
    linkage: Linkage,
    history: Sequence[Scores],
    participation: RateRow | None,
) -> dict[str, Any]:
    """The report for the head of the front-line team `subject`. A team without results this round gets its
    report all the same, every figure of it marked as not shown."""
    previous = history[-2] if len(history) > 1 else None
    facts = _Facts(
        subject=subject,
        scores=scores,
        linkage=linkage,
        previous=previous,
        before_name=previous.round.name if previous else "an earlier round",
        mine=scores.customer(subject.code),
        ratings=[_rating(f, subject.code, linkage) for f in scores.functions],
        hotspots=[h for h in linkage.hotspots if h.team.code == subject.code],
    )
    weighing = _weighing(facts)
    title = f"{subject.name}: our support and our customers"
    return {
        **header(scores, linkage, history, "team", title, {"code": subject.code, "name": subject.name}),
        "findings": _findings(facts, weighing, participation),
        "ratings": facts.ratings,
        "customer_rows": _customer_rows(facts),
        "hotspots": facts.hotspots,
        "weighing": weighing,
        "participation": participation,
        "before_name": facts.before_name,
        "charts": _charts(facts, history),
    }


def _rating(function: FunctionScores, code: str, linkage: Linkage) -> Rating:
    cell = function.cell(code)
    overall = cell.scores.of(OVERALL) if cell else None
    dimensions = [(figure.mean, m) for m in DIMENSIONS if cell and (figure := cell.scores.of(m))]
    lowest = min(dimensions) if dimensions else None
    return Rating(
        function=function,
        shown=overall,
        interval=interval(overall),
        all=function.score(None, OVERALL),
        cell=cell,
        driver=linkage.driver(function.code),
        lowest=None if lowest is None else Lowest(MEASURE_LABELS[lowest[1]], lowest[0]),
    )


def _customer_rows(facts: _Facts) -> list[CustomerRow]:
    rows = []
    code, previous = facts.subject.code, facts.previous
    for key in (CSAT_PCT, NPS, CES, CSAT_MEAN, *DIMENSIONS):
        shown = facts.mine.scores.of(key) if facts.mine else None
        before, before_exists = previous.customer_score(code, key) if previous else (None, False)
        rows.append(
            CustomerRow(
                measure=key,
                label=OUTCOME_LABELS[key][0] if key in OUTCOME_LABELS else MEASURE_LABELS[key],
                decimals=outcome_decimals(key),
                shown=shown,
                all=facts.scores.customer_score(None, key)[0],
                before=before,
                before_suppressed=before is None and before_exists,
                change=change(shown, before),
            )
        )
    return rows


def _weighing(facts: _Facts) -> list[Weighing]:
    """The linked (claimed) functions this team rates below all teams, largest shortfall times weight first."""
    found = []
    for r in facts.ratings:
        if not r.driver or not r.driver.claim or not r.shown or not r.all:
            continue
        gap = r.shown.mean - r.all.mean
        if gap < 0:
            evidence = driver_evidence(r.driver, facts.linkage)
            found.append(Weighing(r.function, r.shown, r.all, gap, r.driver.weight, r.driver, evidence))
    return sorted(found, key=lambda w: w.gap * (w.weight or 0))


# --- Findings ----------------------------------------------------------------------------------------------------


def _findings(facts: _Facts, weighing: list[Weighing], participation: RateRow | None) -> list[Finding]:
    found = [_customers(facts), _lowest_rated(facts), _what_weighs(facts, weighing), _answered(participation)]
    return [finding for finding in found if finding is not None]


def _customers(facts: _Facts) -> Finding:
    outcome = facts.linkage.outcome
    measure, decimals = outcome.measure, outcome_decimals(outcome.measure)
    mine = facts.mine.scores.of(measure) if facts.mine else None
    if not mine:
        return Finding(
            f"Your customers' {outcome.label} is not shown this round.",
            f"Hidden to protect anonymity: fewer than {facts.scores.min_group_size} customers answered, they all "
            "gave the same answer, or the figure could be worked out from others.",
        )
    everyone = facts.scores.customer_score(None, measure)[0]
    before = facts.previous.customer_score(facts.subject.code, measure)[0] if facts.previous else None
    return Finding(
        f"Your customers' {outcome.label} is {number(mine.mean, decimals)}"
        + (f", against {number(everyone.mean, decimals)} across all teams" if everyone else "")
        + f"; {change_words(change(mine, before), decimals, facts.before_name)}.",
        f"{mine.n} customers this round" + (f"; {everyone.n} across all teams." if everyone else "."),
    )


def _lowest_rated(facts: _Facts) -> Finding:
    rated = [r for r in facts.ratings if r.shown]
    if not rated:
        return Finding(
            "Your team's ratings of the support functions are suppressed this round.",
            f"Hidden to protect anonymity: fewer than {facts.scores.min_group_size} of your staff rated each "
            "function, they all gave the same answer, or a figure could be worked out from others.",
        )
    gaps = [r for r in rated if r.all]
    lowest = min(gaps or rated, key=lambda r: _mean(r.shown) - (r.all.mean if r.all else 0))
    shown, low = lowest.shown, lowest.interval
    return Finding(
        f"Compared with other teams, your team rates {lowest.function.name} lowest: {number(_mean(shown))} of 7"
        + (f" against {number(lowest.all.mean)} across all teams." if lowest.all else "."),
        f"{shown_text(shown)}" + (f", 90% interval {number(low[0])} to {number(low[1])}." if low else "."),
    )


def _mean(figure: Figure | None) -> float:
    assert figure is not None  # only ratings that are shown are compared
    return figure.mean


def _what_weighs(facts: _Facts, weighing: list[Weighing]) -> Finding | None:
    linkage, label = facts.linkage, facts.linkage.outcome.label
    if facts.hotspots:
        first = facts.hotspots[0]
        return Finding(
            f"Your rating of {first.function.name} fell, and your customers fell with it: a hotspot.",
            first.sentence,
        )
    if weighing:
        top = weighing[0]
        return Finding(
            f"Of the functions linked with {label}, your team rates {top.function.name} "
            f"{number(abs(top.gap))} below all teams.",
            driver_evidence(top.driver, linkage),
        )
    claimed = [r for r in facts.ratings if r.driver and r.driver.claim]
    if claimed:
        # linked functions exist, but this team does not rate them below the others (or its rating is hidden)
        r = claimed[0]
        assert r.driver is not None and r.driver.claim is not None
        verdict = (
            f"your team rates it {number(r.shown.mean)}, against {number(r.all.mean)} across all teams"
            if r.shown and r.all
            else "your team's rating of it is suppressed"
        )
        return Finding(
            f"Shortfalls of {r.function.name} {CLAIM_VERBS[r.driver.claim]} lower {label} across the organisation; "
            f"{verdict}.",
            driver_evidence(r.driver, linkage),
        )
    if linkage.enough_data:
        return Finding(
            f"No support function's shortfalls are linked with {label} this round.", linkage.message
        )
    return None


def _answered(participation: RateRow | None) -> Finding | None:
    if not participation or participation.rate is None:
        return None
    return Finding(
        f"{round(participation.rate * 100)}% of your staff answered ({participation.answered} of "
        f"{participation.invited})"
        + ("; below 60%, read your team's figures with care." if participation.low else "."),
    )


# --- Charts ------------------------------------------------------------------------------------------------------


def _charts(facts: _Facts, history: Sequence[Scores]) -> dict[str, Any]:
    code, measure = facts.subject.code, facts.linkage.outcome.measure
    return {
        "ratings": as_grid(
            charts.dot_grid(
                [figure_dot(r.function.name, r.shown, r.all) for r in facts.ratings],
                scale=STAFF_SCALE,
                compare_label="all teams",
            )
        ),
        "customers": trend(
            periods(history),
            [
                trend_series(
                    history, facts.subject.name, lambda h: h.customer_score(code, measure), emphasis=True
                ),
                trend_series(history, "All teams", lambda h: h.customer_score(None, measure)),
            ],
            scale=outcome_scale(measure),
            decimals=outcome_decimals(measure),
        ),
    }
