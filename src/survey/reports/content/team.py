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
from survey.numbers import difference, number, outcome_text, rate_text
from survey.reports import charts
from survey.reports.content.common import (
    CONTEXT,
    FAR_BELOW,
    HOTSPOT,
    LINKED,
    STANDING,
    Change,
    Finding,
    RateRow,
    as_grid,
    change,
    change_words,
    driver_evidence,
    figure_dot,
    header,
    hotspot_words,
    interval,
    lead,
    link_evidence,
    link_headline,
    noise_words,
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
        **lead(_findings(facts, weighing, participation)),
        "actions": _actions(facts, weighing),
        "ratings": facts.ratings,
        "customer_rows": _customer_rows(facts),
        "hotspots": facts.hotspots,
        "hotspot_lines": [(h, hotspot_words(h, linkage.outcome)) for h in facts.hotspots],
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


def _findings(facts: _Facts, weighing: list[Weighing], participation: RateRow | None) -> list[Finding | None]:
    return [_what_weighs(facts, weighing), _customers(facts), _lowest_rated(facts), _answered(participation)]


def _customers(facts: _Facts) -> Finding:
    outcome = facts.linkage.outcome
    measure, decimals = outcome.measure, outcome_decimals(outcome.measure)
    mine = facts.mine.scores.of(measure) if facts.mine else None
    if not mine:
        return Finding(
            f"Your customers' {outcome.label} is not shown this round.",
            f"Hidden to protect anonymity: fewer than {facts.scores.min_group_size} customers answered, they all "
            "gave the same answer, or the figure could be worked out from others.",
            importance=CONTEXT,
        )
    everyone = facts.scores.customer_score(None, measure)[0]
    before = facts.previous.customer_score(facts.subject.code, measure)[0] if facts.previous else None
    step = change(mine, before)
    unit = "%" if measure == CSAT_PCT else ""
    return Finding(
        f"Your customers' {outcome.label} is {outcome_text(measure, mine.mean)} (n = {mine.n})"
        + (f", against {outcome_text(measure, everyone.mean)} across all teams" if everyone else "")
        + f"; {change_words(mine.mean, before.mean if before else None, decimals, facts.before_name, unit)}.",
        f"{mine.n} customers this round" + (f"; {everyone.n} across all teams." if everyone else "."),
        importance=FAR_BELOW if step and step.clear else STANDING,
        method=noise_words(step, decimals),
    )


def _lowest_rated(facts: _Facts) -> Finding:
    rated = [r for r in facts.ratings if r.shown]
    if not rated:
        return Finding(
            "Your team's ratings of the support functions are hidden this round.",
            f"Hidden to protect anonymity: fewer than {facts.scores.min_group_size} of your staff rated each "
            "function, they all gave the same answer, or a figure could be worked out from others.",
            importance=CONTEXT,
        )
    gaps = [r for r in rated if r.all]
    lowest = min(gaps or rated, key=lambda r: _mean(r.shown) - (r.all.mean if r.all else 0))
    shown, low = lowest.shown, lowest.interval
    gap = difference(_mean(shown), lowest.all.mean) if lowest.all else None
    against = (
        f", {number(abs(gap))} {'below' if gap < 0 else 'above'} all teams ({number(_mean(shown))} against "
        f"{number(lowest.all.mean)})"
        if lowest.all and gap is not None
        else ""
    )
    return Finding(
        f"Compared with other teams, your team rates {lowest.function.name} lowest{against}.",
        f"Your team: {shown_text(shown)}"
        + (f"; all teams: {shown_text(lowest.all)}." if lowest.all else "."),
        method=f"{lowest.function.name}: 90% interval {number(low[0])} to {number(low[1])}." if low else "",
    )


def _mean(figure: Figure | None) -> float:
    assert figure is not None  # only ratings that are shown are compared
    return figure.mean


def _what_weighs(facts: _Facts, weighing: list[Weighing]) -> Finding | None:
    linkage, label = facts.linkage, facts.linkage.outcome.label
    if facts.hotspots:
        first = facts.hotspots[0]
        return Finding(
            f"Your team's rating of {first.function.name} fell, and your customers' {label} fell more than other "
            "teams' after it.",
            hotspot_words(first, linkage.outcome),
            importance=LINKED,
            method=first.sentence,
        )
    if weighing:
        top = weighing[0]
        gap = difference(top.shown.mean, top.all.mean)
        return Finding(
            f"Your team rates {top.function.name} {number(abs(gap))} below all teams ({number(top.shown.mean)} "
            f"against {number(top.all.mean)}), and across the organisation, "
            + link_headline(top.function.name, top.driver.claim, linkage.outcome.measure)[:1].lower()
            + link_headline(top.function.name, top.driver.claim, linkage.outcome.measure)[1:],
            link_evidence(top.driver, linkage),
            importance=HOTSPOT,
            method=top.evidence,
        )
    claimed = [r for r in facts.ratings if r.driver and r.driver.claim]
    if claimed:
        # linked functions exist, but this team does not rate them below the others (or its rating is hidden)
        r = claimed[0]
        assert r.driver is not None and r.driver.claim is not None
        verdict = (
            f"your team rates it {number(r.shown.mean)}, against {number(r.all.mean)} across all teams"
            if r.shown and r.all
            else "your team's rating of it is hidden"
        )
        return Finding(
            link_headline(r.function.name, r.driver.claim, linkage.outcome.measure)[:-1] + f"; {verdict}.",
            link_evidence(r.driver, linkage),
            importance=STANDING,
            method=driver_evidence(r.driver, linkage),
        )
    if linkage.enough_data:
        return Finding(
            f"No support function's ratings are linked with customers' {label} this round.",
            importance=CONTEXT,
            method=linkage.message,
        )
    return None


def _answered(participation: RateRow | None) -> Finding | None:
    if not participation or participation.rate is None:
        return None
    return Finding(
        f"{rate_text(participation.rate)} of your staff answered ({participation.answered} of "
        f"{participation.invited})"
        + ("; below 60%, read your team's figures with care." if participation.low else "."),
        importance=FAR_BELOW if participation.low else CONTEXT,
    )


def _actions(facts: _Facts, weighing: list[Weighing]) -> list[Finding]:
    """What to raise, and with which function: up to three, most pressing first, each with the part of the
    function's service your team rates lowest."""
    label = facts.linkage.outcome.label
    lowest = {r.function.code: r.lowest for r in facts.ratings}
    actions: list[Finding] = []
    reasons: list[tuple[UnitName | FunctionScores, str]] = [
        *(
            (
                h.function,
                f"your team's rating of it fell, and your customers' {label} fell more than other teams'",
            )
            for h in facts.hotspots
        ),
        *(
            (
                w.function,
                f"your team rates it {number(abs(difference(w.shown.mean, w.all.mean)))} below all teams, and "
                f"its ratings are linked with customers' {label} across the organisation",
            )
            for w in weighing
        ),
    ]
    for function, why in reasons:
        if any(function.name in a.headline for a in actions):
            continue
        low = lowest.get(function.code)
        start = f" Start with {low.label.lower()} ({number(low.mean)} of 7)." if low else ""
        actions.append(Finding(f"Raise {function.name} with its head: {why}.{start}"))
    if not actions:
        actions.append(
            Finding(
                f"Nothing to single out: no support function linked with customers' {label} is rated lower by "
                "your team than by the others."
            )
        )
    return actions[:3]


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
