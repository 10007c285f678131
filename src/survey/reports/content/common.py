"""What every report is made of: numbers in words, intervals and changes, findings, the drivers' evidence told
without naming teams, trend charts and the header every report shares.

Pure: no web, no database.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from survey.analysis.results import Driver, Figure, Hotspot, Linkage, LinkTest, Outcome, Scores
from survey.numbers import difference, number, outcome_text, percent_text, rate_text, signed
from survey.reports import charts
from survey.vocabulary import (
    CSAT_PCT,
    IMPACT,
    MEASURE_LABELS,
    NPS,
    ONE_SCALE,
    SCALE_LABELS,
    SERVQUAL_NAMES,
    outcome_decimals,
)

Z90 = 1.6449  # a normal 90% interval: the reports use 90% intervals throughout, as the linkage does
TREND_ROUNDS = 5  # the analysed round and up to four before it


# How much a finding matters to its reader, highest first: the report's headline is its most important finding
# (the first of them, where two are equal), and at most three more follow it.
LINKED = 5  # a support function's shortfalls come before (or line up with) lower customer figures
HOTSPOT = 4  # teams whose rating fell while their customers fell
FAR_BELOW = 3  # teams far below the others, a clear change since the last round
STANDING = 2  # where a score stands against the others or the last round
CONTEXT = 1  # who answered, what is hidden: good to know, rarely the news
MAX_FINDINGS = 3


@dataclass(frozen=True)
class Finding:
    """A finding in plain words: `headline` one sentence a head understands (what, where, how much, compared with
    what), `evidence` the figures behind it with their n, `method` the statistics behind it (intervals, q values,
    correlations) for the section "How this was worked out", and `importance` how much it matters (above)."""

    headline: str
    evidence: str = ""
    importance: int = STANDING
    method: str = ""


def lead(findings: list[Finding | None]) -> dict[str, Any]:
    """The report's headline (its most important finding) and up to three findings after it, most important
    first; findings of equal importance keep the order the report lists them in. Every finding's statistics go
    to `method` for the section "How this was worked out"."""
    found = [f for f in findings if f is not None]
    ranked = sorted(found, key=lambda f: -f.importance)
    return {
        "headline": ranked[0] if ranked else None,
        "findings": ranked[1 : 1 + MAX_FINDINGS],
        "method_notes": [f"{f.headline} {f.method}" for f in ranked if f.method],
    }


@dataclass(frozen=True)
class Change:
    """The change of a mean between two rounds; `low` and `high` its 90% interval (None when a spread is not
    known), `clear` when the interval leaves out zero."""

    value: float
    low: float | None
    high: float | None
    clear: bool


@dataclass(frozen=True)
class RateRow:
    """A response rate as every page shows it: `answered` and `rate` None where the count is hidden."""

    code: str | None
    kind: str  # total, group or front_line
    name: str
    invited: int
    answered: int | None
    rate: float | None
    low: bool  # below the healthy share: read the group's figures with care


# --- Numbers in words ------------------------------------------------------------------------------------------


def shown_text(shown: Figure | None, decimals: int = 1, measure: str = "") -> str:
    """ "4.3 · 62% favourable (n = 18)" ("4.3 (n = 18)" for a measure without a share favourable, "68% (n = 145)"
    for CSAT%), or "hidden"."""
    if not shown:
        return charts.HIDDEN
    share = "" if shown.favourable is None else f" · {favourable_text(shown.favourable)}"
    value = outcome_text(measure, shown.mean) if measure == CSAT_PCT else number(shown.mean, decimals)
    return f"{value}{share} (n = {shown.n})"


def hidden_note(k: int) -> str:
    """Why a heat map's cell is hidden, in the words of the pages' key (templates/staff/_dashboard.html)."""
    return (
        f"hidden: fewer than {k} respondents, all gave the same answer, or it could be worked out from other "
        "figures"
    )


def favourable_text(favourable: float) -> str:
    """A share favourable (a percentage, as `Figure.favourable` holds it) in words: "62% favourable"."""
    return f"{number(favourable, 0)}% favourable"


def change_from(now: float, before: float, decimals: int = 1) -> str:
    """The change from `before` to `now` as the two are printed: "+0.3", "-21"."""
    return signed(difference(now, before, decimals), decimals)


def figure_filters() -> dict[str, Callable[..., str]]:
    """The templates' filters for figures, the same for the PDF reports and the pages, so that a figure is
    rounded and written alike in both."""
    return {
        "number": number,
        "signed": signed,
        "shown": shown_text,
        "favourable": favourable_text,
        "change_from": change_from,
        "rate": rate_text,
        "percent": percent_text,
    }


def plural(count: int, word: str) -> str:
    """ "1 team", "3 teams"."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def interval(shown: Figure | None) -> tuple[float, float] | None:
    """A 90% interval for a mean, from its n and standard deviation."""
    if not shown or not shown.sd or shown.n < 2:
        return None
    half = Z90 * shown.sd / math.sqrt(shown.n)
    return shown.mean - half, shown.mean + half


def change(now: Figure | None, before: Figure | None) -> Change | None:
    """The change of a mean between two rounds with a 90% interval (independent samples)."""
    if not now or not before:
        return None
    difference = now.mean - before.mean
    if now.sd is None or before.sd is None:
        return Change(difference, None, None, False)
    half = Z90 * math.sqrt(now.sd**2 / now.n + before.sd**2 / before.n)
    low, high = difference - half, difference + half
    return Change(difference, low, high, low > 0 or high < 0)


def change_words(now: float, before: float | None, decimals: int, before_name: str, unit: str = "") -> str:
    """ "up 0.3 from 2026 Q2 (4.0)", "the same as in 2026 Q2 (4.3)", or why there is nothing to compare; the
    change is the difference of the two figures as printed."""
    if before is None:
        return f"no comparable figure for {before_name}"
    step = difference(now, before, decimals)
    was = number(before, decimals) + ("%" if unit == "%" else "")
    if step == 0:
        return f"the same as in {before_name} ({was})"
    direction = "up" if step > 0 else "down"
    size = number(abs(step), decimals) + ("" if unit == "%" else unit)
    points = " points" if unit == "%" else ""
    return f"{direction} {size}{points} from {before_name} ({was})"


def noise_words(step: Change | None, decimals: int = 1) -> str:
    """Whether a change is within the noise, for the method section: its 90% interval."""
    if step is None or step.low is None or step.high is None:
        return ""
    noise = "" if step.clear else ", within the noise"
    return (
        f"(change {signed(step.value, decimals)}, 90% interval {signed(step.low, decimals)} to "
        f"{signed(step.high, decimals)}{noise})."
    )


# --- Links with customers in plain words ----------------------------------------------------------------------

CUSTOMERS_WHO = {
    CSAT_PCT: "less satisfied customers",
    "csat": "less satisfied customers",
    NPS: "customers less likely to recommend them",
    "ces": "customers who find it harder to get what they need",
}


def link_headline(name: str, claim: str | None, outcome: str) -> str:
    """ "Teams that rate Human Resources lower go on to have less satisfied customers": a driver's claim in plain
    words, in time order (it "precedes") or side by side (it "lines up with"), never as a cause."""
    customers = CUSTOMERS_WHO.get(outcome, "customers who rate them lower")
    if claim == "precedes":
        return f"Teams that rate {name} lower go on to have {customers}."
    return f"Teams that rate {name} lower also have {customers}."


def link_evidence(driver: Driver, linkage: Linkage) -> str:
    """The figures behind a driver's claim in plain words, naming no team: how far the customers of the teams
    whose rating fell moved against the other teams' customers, and over how many teams."""
    test = driver.tests.change
    if not test or test.effect is None:
        return ""
    outcome = linkage.outcome
    decimals = outcome_decimals(outcome.measure)
    direction = "lower" if test.effect < 0 else "higher"
    return (
        f"The customers of the {plural(len(test.flagged), 'team')} whose rating of {driver.function.name} fell "
        f"and stayed down moved {number(abs(test.effect), decimals)} {outcome.unit} {direction} in "
        f"{outcome.label} than other teams' customers over the same rounds ({test.n} teams compared)."
    )


def hotspot_words(hotspot: Hotspot, outcome: Outcome) -> str:
    """A hotspot's figures in plain words, each with its n, rounded as the tables print them."""
    decimals = outcome_decimals(outcome.measure)
    rating = (
        f"is now {number(hotspot.score)} (n = {hotspot.score_n})"
        if hotspot.score is not None
        else "is hidden"
    )
    customers = (
        f"its customers' {outcome.label} is {outcome_text(outcome.measure, hotspot.outcome)} "
        f"(n = {hotspot.outcome_n}) against {outcome_text(outcome.measure, hotspot.outcome_before)} before"
        if hotspot.outcome is not None and hotspot.outcome_before is not None
        else f"its customers' {outcome.label} is not shown this round"
    )
    shift = hotspot.outcome_shift or 0.0
    return (
        f"{hotspot.team.name}'s rating of {hotspot.function.name} {rating}, against "
        f"{number(hotspot.score_before)} before {hotspot.since}; {customers}: they moved "
        f"{number(abs(shift), decimals)} {outcome.unit} {'lower' if shift < 0 else 'higher'} than other teams' "
        "customers over the same rounds."
    )


def outcome_spread(measure: str) -> float:
    """Points of a customer outcome that count as "well below" the median across teams when shading, as a point
    of a staff rating does: 15 points of CSAT% or NPS, 0.6 of a mean."""
    return 15.0 if measure in (CSAT_PCT, NPS) else 0.6


def test_words(test: LinkTest | None, unit: str = "", decimals: int = 2) -> str:
    """A test's effect with its interval, q and n teams, in words."""
    if not test:
        return "not tested"
    return (
        f"{number(test.effect, decimals)}{unit} (90% interval {number(test.low, decimals)} to "
        f"{number(test.high, decimals)}, q {number(test.q, 2)}, {test.n} teams)"
    )


def driver_evidence(driver: Driver, linkage: Linkage) -> str:
    """A driver's evidence without naming any team: for the reports of one team or region, whose readers may
    not see which other teams' ratings fell."""
    name, label, unit = driver.function.name, linkage.outcome.label, linkage.outcome.unit
    change_test, same = driver.tests.change, driver.tests.same_round
    parts = []
    if change_test:
        parts.append(
            f"across the organisation, the customers of the {len(change_test.flagged)} teams whose rating of "
            f"{name} fell and stays below their own level before moved {number(change_test.effect)} {unit} "
            f"against the other teams' over the same rounds (90% interval {number(change_test.low)} to "
            f"{number(change_test.high)}, q {number(change_test.q, 3)}, {change_test.n} teams)"
        )
    if same:
        parts.append(
            f"across teams, this round's ratings of {name} and {label} correlate at rho "
            f"{number(same.effect, 2)} (90% interval {number(same.low, 2)} to {number(same.high, 2)}, "
            f"q {number(same.q, 2)}, {same.n} teams)"
        )
    text = "; ".join(parts)
    return text[:1].upper() + text[1:] + "." if text else ""


# --- Charts ------------------------------------------------------------------------------------------------------


def as_grid(made: charts.Grid) -> dict[str, Any]:
    """A heat map or dot plot set as text over a picture (`charts.Grid`), for the templates."""
    return {
        "header": made.header,
        # blocks of rows, each over its own picture: a long grid breaks across pages between them
        "blocks": [{"rows": rows, "shades": charts.data_uri(shades)} for rows, shades in made.pieces()],
        "legend": made.legend,
        "size": f"grid-{made.font_pt:.0f}",
    }


def figure_dot(
    label: str,
    shown: Figure | None,
    compare: Figure | None = None,
    emphasis: bool = False,
) -> charts.Dot:
    """A released figure as a dot plot row: its mean with its 90% interval and n, or marked suppressed; beside
    it a figure to compare with (the round before, or all teams)."""
    low, high = interval(shown) or (None, None)
    return charts.Dot(
        label,
        shown.mean if shown else None,
        low,
        high,
        n=shown.n if shown else None,
        suppressed=not shown,
        compare=compare.mean if compare else None,
        emphasis=emphasis,
    )


def trend(
    periods: list[str], series: list[charts.Series], drawn: int | None = None, **options: Any
) -> dict[str, Any]:
    """A trend chart of the first `drawn` series (default: all) as a data URI, and every series' figures as
    lines of a table, for the templates."""
    decimals = options.get("decimals", 1)
    return {
        "chart": charts.data_uri(charts.trend_lines(periods, series[:drawn], **options)),
        "table": charts.trend_table(periods, series, decimals),
    }


def trend_series(
    history: Sequence[Scores],
    label: str,
    pick: Callable[[Scores], tuple[Figure | None, bool]],
    emphasis: bool = False,
) -> charts.Series:
    """A series across the rounds of `history`; `pick` gives a round's (shown figure, whether it has a cell)."""
    states = [pick(h) for h in history]
    return charts.Series(
        label,
        [v.mean if v else None for v, _ in states],
        [v.n if v else None for v, _ in states],
        suppressed=[v is None and exists for v, exists in states],
        emphasis=emphasis,
    )


def periods(history: Sequence[Scores]) -> list[str]:
    return [h.round.name for h in history]


# --- The header every report shares ----------------------------------------------------------------------------


def header(
    scores: Scores,
    linkage: Linkage,
    history: Sequence[Scores],
    kind: str,
    title: str,
    subject: dict[str, Any],
) -> dict[str, Any]:
    """What every report's template reads besides its own sections: its title, the round, the group sizes, the
    customer outcome, and the scales that hang together poorly."""
    outcome = linkage.outcome
    return {
        "kind": kind,
        "title": title,
        "subject": subject,
        "round": scores.round,
        "rounds": periods(history),
        "k": scores.min_group_size,
        "comment_k": scores.min_comment_group_size,
        "outcome": {
            "measure": outcome.measure,
            "label": outcome.label,
            "unit": outcome.unit,
            "decimals": outcome_decimals(outcome.measure),
        },
        "enough_data": linkage.enough_data,
        "linkage_message": linkage.message,
        "reliability": scores.reliability,
        "one_scale": ONE_SCALE in scores.reliability,  # one item per dimension: alpha over a function's items
        "low_alpha": [
            f"{SCALE_LABELS[d].lower() if d == ONE_SCALE else SERVQUAL_NAMES[d]} (alpha {number(r.alpha, 2)})"
            for d, r in scores.reliability.items()
            if r.low
        ],
        "servqual": [(MEASURE_LABELS[d], name) for d, name in SERVQUAL_NAMES.items()],
        "impact_label": MEASURE_LABELS[IMPACT],
        "scale_names": {**SERVQUAL_NAMES, ONE_SCALE: SCALE_LABELS[ONE_SCALE]},
    }
