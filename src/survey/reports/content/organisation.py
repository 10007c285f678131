"""The executive report: the whole chain on a few pages, for executives and HR; a region's head gets the same for
the teams below the region, with the organisation's drivers told without naming teams outside it.

Pure: no web, no database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from survey.analysis.results import Driver, Figure, FunctionScores, Hotspot, Linkage, Scores, UnitName
from survey.numbers import outcome_text, rate_text
from survey.reports import charts
from survey.reports.content.common import (
    CONTEXT,
    FAR_BELOW,
    HOTSPOT,
    LINKED,
    STANDING,
    Finding,
    RateRow,
    as_grid,
    change,
    change_words,
    driver_evidence,
    header,
    hidden_note,
    hotspot_words,
    lead,
    link_evidence,
    link_headline,
    noise_words,
    periods,
    plural,
    shown_text,
    trend,
    trend_series,
)
from survey.reports.content.heat import HeatLine, function_team_heat, scale_note
from survey.vocabulary import CSAT_PCT, OVERALL, STAFF_SCALE, outcome_decimals, outcome_scale


@dataclass(frozen=True)
class Scope:
    """Which teams and groups an organisation report covers: all (code None), or the ones below a group."""

    code: str | None
    name: str
    teams: frozenset[str]
    groups: frozenset[str]


@dataclass(frozen=True)
class DriverEvidence:
    """A driver as the report shows it: the organisation's evidence, told without naming teams in a region's
    report."""

    driver: Driver
    evidence: str

    @property
    def function(self) -> UnitName:
        return self.driver.function

    @property
    def claim(self) -> str | None:
        return self.driver.claim

    @property
    def n(self) -> int | None:
        return self.driver.n


@dataclass(frozen=True)
class _Facts:
    scope: Scope
    scores: Scores
    linkage: Linkage
    history: Sequence[Scores]
    drivers: list[DriverEvidence]
    hotspots: list[Hotspot]
    participation: list[RateRow]


def organisation_report(
    scope: Scope, scores: Scores, linkage: Linkage, history: Sequence[Scores], participation: list[RateRow]
) -> dict[str, Any]:
    """Heat map of every function by team beside the customer outcome, drivers, top hotspots, response rates and
    trends."""
    node = scope.code  # None: the whole organisation
    facts = _Facts(
        scope=scope,
        scores=scores,
        linkage=linkage,
        history=history,
        drivers=[  # a region's head reads the evidence without the names of teams outside their region
            DriverEvidence(d, d.sentence if node is None else driver_evidence(d, linkage))
            for d in sorted(linkage.drivers, key=lambda d: -(d.weight or 0))
        ],
        hotspots=[h for h in linkage.hotspots if node is None or h.team.code in scope.teams],
        participation=participation,
    )
    title = f"{scope.name}: internal service and customer outcomes"
    heat = _heat(facts)
    return {
        **header(scores, linkage, history, "organisation", title, {"code": scope.code, "name": scope.name}),
        "scope": {"code": scope.code, "name": scope.name},
        **lead(_findings(facts)),
        "actions": _actions(facts),
        "drivers": facts.drivers,
        "hotspots": facts.hotspots,  # every one: a head must find their team
        "participation": participation,
        "r2": linkage.r2,
        "heat_lines": heat,  # the heat map as data, for the pages
        "heat_columns": [f.name for f in scores.functions] + [linkage.outcome.label],
        "scale_note": scale_note(linkage.outcome.measure),
        "charts": _charts(facts, heat),
    }


# --- Findings ----------------------------------------------------------------------------------------------------


def _findings(facts: _Facts) -> list[Finding | None]:
    return [
        *_link(facts),
        _hotspots(facts),
        _lowest_function(facts),
        _response_rates(facts),
        _customers(facts),
    ]


def _link(facts: _Facts) -> list[Finding]:
    linkage, label = facts.linkage, facts.linkage.outcome.label
    if not linkage.enough_data:
        return [
            Finding(
                "There is not enough data yet to compare staff ratings with customers' figures.",
                linkage.message,
                importance=CONTEXT,
            )
        ]
    claimed = [d for d in facts.drivers if d.claim]
    if not claimed:
        return [
            Finding(
                f"No support function's ratings are linked with customers' {label} this round.",
                importance=CONTEXT,
                method=linkage.message,
            )
        ]
    return [
        Finding(
            link_headline(d.function.name, d.claim, linkage.outcome.measure),
            link_evidence(d.driver, linkage),
            importance=LINKED,
            method=d.evidence,
        )
        for d in claimed
    ]


def _hotspots(facts: _Facts) -> Finding | None:
    hotspots, scope = facts.hotspots, facts.scope
    if not hotspots:
        return None
    first = hotspots[0]
    return Finding(
        f"{plural(len(hotspots), 'team')}"
        + ("" if scope.code is None else f" in {scope.name}")
        + f" rate a support function lower than they used to while their customers' {facts.linkage.outcome.label}"
        f" fell more than other teams'; the largest: {first.team.name} with {first.function.name}.",
        hotspot_words(first, facts.linkage.outcome),
        importance=HOTSPOT,
    )


def _lowest_function(facts: _Facts) -> Finding | None:
    rated: list[tuple[FunctionScores, Figure]] = [
        (f, figure) for f in facts.scores.functions if (figure := f.score(facts.scope.code, OVERALL))
    ]
    if not rated:
        return None
    weakest, shown = min(rated, key=lambda item: item[1].mean)
    highest, top = max(rated, key=lambda item: item[1].mean)
    return Finding(
        f"Staff rate {weakest.name} lowest of the support functions: {shown_text(shown)}, against "
        f"{shown_text(top)} for {highest.name}, the highest.",
    )


def _response_rates(facts: _Facts) -> Finding | None:
    total = next((p for p in facts.participation if p.code == facts.scope.code), None)
    if not total or total.rate is None:
        return None
    low = [p for p in facts.participation if p.kind == "front_line" and p.low]
    evidence = (
        f"{plural(len(low), 'team')} below 60%: "
        + ", ".join(p.name for p in low)
        + "; read their figures with care."
        if low
        else "Every team whose rate may be shown reached 60%."
    )
    return Finding(
        f"{rate_text(total.rate)} of invited staff answered ({total.answered} of {total.invited}).",
        evidence,
        importance=CONTEXT,
    )


def _customers(facts: _Facts) -> Finding | None:
    history, node = facts.history, facts.scope.code
    if len(history) < 2:
        return None
    outcome = facts.linkage.outcome
    measure, decimals = outcome.measure, outcome_decimals(outcome.measure)
    now, before = facts.scores.customer_score(node, measure)[0], history[-2].customer_score(node, measure)[0]
    if not now:
        return None
    step = change(now, before)
    unit = "%" if measure == CSAT_PCT else ""
    return Finding(
        f"Customers' {outcome.label} is {outcome_text(measure, now.mean)} (n = {now.n}), "
        f"{change_words(now.mean, before.mean if before else None, decimals, history[-2].round.name, unit)}.",
        importance=FAR_BELOW if step and step.clear else STANDING,
        method=noise_words(step, decimals),
    )


def _actions(facts: _Facts) -> list[Finding]:
    """What to do: ask the linked functions to act first, then look at the largest hotspots; up to three."""
    label = facts.linkage.outcome.label
    actions = [
        Finding(
            f"Ask {d.function.name} to act first: "
            + link_headline(d.function.name, d.claim, facts.linkage.outcome.measure)[:1].lower()
            + link_headline(d.function.name, d.claim, facts.linkage.outcome.measure)[1:]
        )
        for d in facts.drivers
        if d.claim
    ]
    actions += [
        Finding(
            f"Look at {h.team.name} with {h.function.name}: the team's rating of it fell, and its customers' "
            f"{label} fell more than other teams'."
        )
        for h in facts.hotspots
    ]
    if not actions:
        actions.append(
            Finding(
                f"Nothing to single out: no support function's ratings are linked with customers' {label} this "
                "round."
            )
        )
    return actions[:3]


# --- Charts ------------------------------------------------------------------------------------------------------


def _heat(facts: _Facts) -> list[HeatLine]:
    """Every function's overall rating and the customers' outcome: the scope's own line, its groups', its teams'."""
    scope = facts.scope
    nodes = [scope.code, *sorted(g for g in scope.groups if g != scope.code), *sorted(scope.teams)]
    return function_team_heat(
        facts.scores, OVERALL, facts.linkage.outcome.measure, nodes, groups=scope.groups
    )


def _charts(facts: _Facts, heat: list[HeatLine]) -> dict[str, Any]:
    scope, scores, history = facts.scope, facts.scores, facts.history
    outcome = facts.linkage.outcome
    return {
        "heat": as_grid(
            charts.heat_grid(
                [f.name for f in scores.functions] + [outcome.label],
                [charts.HeatRow(line.name, line.cells, emphasis=line.emphasis) for line in heat],
                suppressed_note=hidden_note(scores.min_group_size),
            )
        ),
        "drivers": _drivers_chart(facts.drivers),
        "participation": [  # in pictures of a page or less each: a long chart breaks between them
            charts.data_uri(chart)
            for chart in charts.bar_blocks(
                [
                    charts.Bar(
                        p.name,
                        None if p.rate is None else p.rate * 100,
                        p.invited,
                        suppressed=p.rate is None,
                        note="below 60%" if p.low else "",
                        emphasis=p.kind != "front_line",
                    )
                    for p in facts.participation
                ],
                scale=(0, 100),
                markers=[(60, "60% warning"), (75, "75% healthy")],
                unit="%",
            )
        ],
        "trend": trend(
            periods(history),
            [
                trend_series(history, f.name, lambda h, c=f.code: h.staff_score(c, scope.code, OVERALL))  # type: ignore[misc]
                for f in scores.functions
            ],
            scale=STAFF_SCALE,
        ),
        "outcome_trend": trend(
            periods(history),
            [
                trend_series(
                    history, scope.name, lambda h: h.customer_score(scope.code, outcome.measure), True
                )
            ],
            scale=outcome_scale(outcome.measure),
            decimals=outcome_decimals(outcome.measure),
        ),
    }


def _drivers_chart(drivers: list[DriverEvidence]) -> dict[str, Any] | None:
    weighed = [d.driver for d in drivers if d.driver.weight is not None]
    if not weighed:
        return None
    return as_grid(
        charts.dot_grid(
            [
                charts.Dot(
                    d.function.name + (f" ({d.claim})" if d.claim else ""),
                    d.weight,
                    d.weight_low,
                    d.weight_high,
                    d.n,
                    emphasis=bool(d.claim),
                )
                for d in weighed
            ],
            scale=(0, 1),
            decimals=2,
        )
    )
