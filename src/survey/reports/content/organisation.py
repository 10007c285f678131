"""The executive report: the whole chain on a few pages, for executives and HR; a region's head gets the same for
the teams below the region, with the organisation's drivers told without naming teams outside it.

Pure: no web, no database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from survey.analysis.results import Driver, Figure, FunctionScores, Hotspot, Linkage, Scores, UnitName
from survey.reports import charts
from survey.reports.content.common import (
    CLAIM_VERBS,
    Finding,
    RateRow,
    as_grid,
    change,
    change_words,
    driver_evidence,
    header,
    number,
    periods,
    plural,
    shown_text,
    trend,
    trend_series,
)
from survey.reports.content.heat import HeatLine, function_team_heat, scale_note
from survey.vocabulary import OVERALL, STAFF_SCALE, outcome_decimals, outcome_scale


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
        "findings": _findings(facts),
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


def _findings(facts: _Facts) -> list[Finding]:
    found: list[Finding | None] = [*_link(facts), _hotspots(facts), _lowest_function(facts)]
    found += [_response_rates(facts), _customers(facts)]
    return [finding for finding in found if finding is not None]


def _link(facts: _Facts) -> list[Finding]:
    linkage, label = facts.linkage, facts.linkage.outcome.label
    if not linkage.enough_data:
        return [Finding("Not enough data to link staff ratings with customer outcomes.", linkage.message)]
    claimed = [d for d in facts.drivers if d.claim]
    if not claimed:
        return [
            Finding(f"No support function's shortfalls are linked with {label} this round.", linkage.message)
        ]
    return [
        Finding(f"Shortfalls of {d.function.name} {CLAIM_VERBS[d.claim or '']} lower {label}.", d.evidence)
        for d in claimed
    ]


def _hotspots(facts: _Facts) -> Finding | None:
    hotspots, scope = facts.hotspots, facts.scope
    if not hotspots:
        return None
    return Finding(
        plural(len(hotspots), "hotspot")
        + ("" if scope.code is None else f" in {scope.name}")
        + f", the largest: {hotspots[0].team.name} with {hotspots[0].function.name}.",
        hotspots[0].sentence,
    )


def _lowest_function(facts: _Facts) -> Finding | None:
    rated: list[tuple[FunctionScores, Figure]] = [
        (f, figure) for f in facts.scores.functions if (figure := f.score(facts.scope.code, OVERALL))
    ]
    if not rated:
        return None
    weakest, shown = min(rated, key=lambda item: item[1].mean)
    highest = sorted(rated, key=lambda item: -item[1].mean)[:1]
    return Finding(
        f"{weakest.name} is rated lowest overall: {number(shown.mean)} of 7.",
        f"{shown_text(shown)}; highest: " + ", ".join(f"{f.name} {number(s.mean)}" for f, s in highest) + ".",
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
        f"{round(total.rate * 100)}% of invited staff answered ({total.answered} of {total.invited}).",
        evidence,
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
    return Finding(
        f"Customers' {outcome.label}: {number(now.mean, decimals)}, "
        f"{change_words(change(now, before), decimals, history[-2].round.name)}.",
        f"{now.n} customers this round.",
    )


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
                suppressed_note=f"hidden to protect anonymity: fewer than {scores.min_group_size} respondents, "
                "all alike, or derivable",
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
