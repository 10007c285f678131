"""What every report is made of: numbers in words, intervals and changes, findings, the drivers' evidence told
without naming teams, trend charts and the header every report shares.

Pure: no web, no database.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from survey.analysis.results import Driver, Figure, Linkage, LinkTest, Scores
from survey.reports import charts
from survey.vocabulary import CSAT_PCT, NPS, ONE_SCALE, SCALE_LABELS, outcome_decimals

Z90 = 1.6449  # a normal 90% interval: the reports use 90% intervals throughout, as the linkage does
TREND_ROUNDS = 5  # the analysed round and up to four before it
CLAIM_VERBS = {"precedes": "come before", "lines up with": "line up with"}


@dataclass(frozen=True)
class Finding:
    """One numbered finding: a headline in plain words, and the evidence behind it."""

    headline: str
    evidence: str = ""


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


def number(value: float | None, decimals: int = 1) -> str:
    if value is None:
        return "–"
    text = f"{value:.{decimals}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def signed(value: float, decimals: int = 1) -> str:
    return ("+" if value > 0 else "") + number(value, decimals)


def shown_text(shown: Figure | None, decimals: int = 1) -> str:
    """ "4.3 · 62% favourable (n = 18)" ("4.3 (n = 18)" for a measure without a share favourable), or
    "suppressed"."""
    if not shown:
        return "suppressed"
    share = "" if shown.favourable is None else f" · {favourable_text(shown.favourable)}"
    return f"{number(shown.mean, decimals)}{share} (n = {shown.n})"


def favourable_text(favourable: float) -> str:
    """A share favourable (a percentage, as `Figure.favourable` holds it) in words: "62% favourable"."""
    return f"{number(favourable, 0)}% favourable"


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


def change_words(step: Change | None, decimals: int, before_name: str, unit: str = "") -> str:
    """ "up 0.3 from 2026 Q2 (90% interval +0.1 to +0.5)", or why there is nothing to compare."""
    if step is None:
        return f"no comparable figure for {before_name}"
    direction = "up" if step.value > 0 else "down"
    size = number(abs(step.value), decimals)
    if step.low is None or step.high is None:
        return f"{direction} {size}{unit} from {before_name}"
    noise = "" if step.clear else ", within the noise"
    return (
        f"{direction} {size}{unit} from {before_name} (90% interval {signed(step.low, decimals)} to "
        f"{signed(step.high, decimals)}{noise})"
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
            f"{SCALE_LABELS[d].lower() if d == ONE_SCALE else SCALE_LABELS[d]} (alpha {number(r.alpha, 2)})"
            for d, r in scores.reliability.items()
            if r.low
        ],
    }
