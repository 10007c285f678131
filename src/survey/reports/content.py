"""What each PDF report says: findings in plain language with their evidence, the tables and the charts, built
from the released results of a round (`analytics.scores` and `analytics.linkage`, as JSON-ready payloads) and
nothing else, so only numbers that passed the release gate can reach a report.

Pure: no web, no database. `reports` reads the payloads and renders what these functions return.

- `function_report`: for a support function's head: how the front line rates us, by dimension and team, against
  earlier rounds; where our shortfalls line up with customer outcomes; our hotspots; comments; what to fix first.
- `team_report`: for a front-line team's head: how my team rates each support function; my customers' scores;
  which internal problems weigh most on my customers.
- `organisation_report`: for executives and HR (or a region's head, for the teams below it): the function-by-team
  heat map, drivers, top hotspots, response rates and trends.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from statistics import median

from survey.reports import charts
from survey.analysis.aggregation import IMPACT, OVERALL
from survey.analysis.linkage import OUTCOME_LABELS
from survey.db.models import SERVQUAL

DIMENSIONS = tuple(d.value for d in SERVQUAL)
MEASURE_LABELS = {
    OVERALL: "Overall",
    "reliability": "Reliability",
    "responsiveness": "Responsiveness",
    "assurance": "Assurance",
    "empathy": "Empathy",
    "tangibles": "Tangibles",
    IMPACT: "Harm to serving customers",
}
TEST_LABELS = {
    "same_round": "Same round",
    "lagged": "Ours first, then customers",
    "reverse": "Customers first, then ours",
    "change": "Teams whose rating fell: customers' next change",
}
Z90 = 1.6449  # a normal 90% interval: the reports use 90% intervals throughout, as the linkage does
TREND_ROUNDS = 5  # the analysed round and up to four before it
WELL_BELOW = 1.0  # points on the 1 to 7 scale: a team rates a function "well below" the median across teams
TOP_HOTSPOTS = 8
ALIKE = 0.15  # dimensions closer than this are "rated alike": no weakest one is named


@dataclass(frozen=True)
class Scope:
    """Which teams and groups an organisation report covers: all (code None), or the ones below a group."""

    code: str | None
    name: str
    teams: frozenset[str]
    groups: frozenset[str]


# --- Small helpers -------------------------------------------------------------------------------------------


def number(value: float | None, decimals: int = 1) -> str:
    if value is None:
        return "–"
    text = f"{value:.{decimals}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def signed(value: float, decimals: int = 1) -> str:
    return ("+" if value > 0 else "") + number(value, decimals)


def interval(shown: dict | None) -> tuple[float, float] | None:
    """A 90% interval for a mean, from its n and standard deviation."""
    if not shown or not shown.get("sd") or shown["n"] < 2:
        return None
    half = Z90 * shown["sd"] / math.sqrt(shown["n"])
    return shown["mean"] - half, shown["mean"] + half


def change(now: dict | None, before: dict | None) -> dict | None:
    """The change of a mean between two rounds with a 90% interval (independent samples)."""
    if not now or not before:
        return None
    difference = now["mean"] - before["mean"]
    if now.get("sd") is None or before.get("sd") is None:
        return {"value": difference, "low": None, "high": None, "clear": False}
    half = Z90 * math.sqrt(now["sd"] ** 2 / now["n"] + before["sd"] ** 2 / before["n"])
    low, high = difference - half, difference + half
    return {"value": difference, "low": low, "high": high, "clear": low > 0 or high < 0}


def outcome_decimals(measure: str) -> int:
    return 0 if measure in ("csat_pct", "nps") else 1


def shown_text(shown: dict | None, decimals: int = 1) -> str:
    """ "4.3 (n = 18)", or "suppressed"."""
    return "suppressed" if not shown else f"{number(shown['mean'], decimals)} (n = {shown['n']})"


def _cells(function: dict) -> dict:
    return {cell["code"]: cell for cell in function["cells"]}


def _function(scores: dict, code: str) -> dict | None:
    return next((f for f in scores["functions"] if f["code"] == code), None)


def _customers(scores: dict) -> dict:
    return {cell["code"]: cell for cell in scores["customers"]}


def _score(scores: dict | None, function_code: str, node: str | None, measure: str) -> dict | None:
    function = scores and _function(scores, function_code)
    cell = function and _cells(function).get(node)
    return cell["scores"].get(measure) if cell else None


def _customer_score(scores: dict | None, node: str | None, measure: str) -> dict | None:
    cell = scores and _customers(scores).get(node)
    return cell["scores"].get(measure) if cell else None


def _score_state(scores, function_code, node, measure) -> tuple[dict | None, bool]:
    """A function's score for a node, and whether the node has a cell at all (a cell without the score: the
    score is suppressed; no cell: nobody rated)."""
    function = scores and _function(scores, function_code)
    cell = function and _cells(function).get(node)
    return (cell["scores"].get(measure) if cell else None), bool(cell)


def _customer_state(scores, node, measure) -> tuple[dict | None, bool]:
    cell = scores and _customers(scores).get(node)
    return (cell["scores"].get(measure) if cell else None), bool(cell)


def _team_medians(function: dict) -> dict[str, float | None]:
    medians = {}
    for measure in (OVERALL, *DIMENSIONS, IMPACT):
        shown = [
            c["scores"][measure]["mean"]
            for c in function["cells"]
            if c["kind"] == "front_line" and c["scores"].get(measure)
        ]
        medians[measure] = median(shown) if shown else None
    return medians


def _heat_cell(shown: dict | None, centre: float | None, higher_is_better=True, decimals=1, spread=1.0):
    if not shown:
        return charts.HeatCell(None, suppressed=True)
    return charts.HeatCell(
        shown["mean"],
        shown["n"],
        None if centre is None else charts.shade(shown["mean"], centre, spread, higher_is_better),
        decimals=decimals,
    )


def outcome_spread(measure: str) -> float:
    """Points of a customer outcome that count as "well below" the median across teams when shading, as a point
    of a staff rating does: 15 points of CSAT% or NPS, 0.6 of a mean."""
    return 15.0 if measure in ("csat_pct", "nps") else 0.6


def grid(columns: list[str], rows: list[charts.HeatRow], suppressed_note: str) -> dict:
    """A heat map for the templates (see `charts.Grid`), its picture as a data URI."""
    return as_grid(charts.heat_grid(columns, rows, suppressed_note=suppressed_note))


def as_grid(made: charts.Grid) -> dict:
    """A heat map or dot plot set as text over a picture (`charts.Grid`), for the templates."""
    return {
        "header": made.header,
        "rows": made.rows,
        "shades": charts.data_uri(made.shades),
        "legend": made.legend,
        "size": f"grid-{made.font_pt:.0f}",
    }


def _team_row(cell: dict, medians: dict) -> charts.HeatRow:
    """A team's (or group's) row of a function's heat map: overall, the five dimensions and harm. When every
    figure rests on the same respondents, the row's label carries the n once."""
    measures = (OVERALL, *DIMENSIONS, IMPACT)
    ns = {cell["scores"][m]["n"] for m in measures if cell["scores"].get(m)}
    shared = len(ns) == 1 and not cell["suppressed"]
    cells = []
    for m in measures:
        shown = None if cell["suppressed"] else cell["scores"].get(m)
        heat = _heat_cell(shown, medians[m], higher_is_better=m != IMPACT)
        cells.append(replace(heat, n=None) if shared else heat)
    label = cell["name"] + (f" (n {ns.pop()})" if shared else "")
    return charts.HeatRow(label, cells, emphasis=cell["kind"] != "front_line")


def trend(periods: list[str], series: list[charts.Series], drawn: int | None = None, **options) -> dict:
    """A trend chart of the first `drawn` series (default: all) as a data URI, and every series' figures as
    lines of a table, for the templates."""
    decimals = options.get("decimals", 1)
    return {
        "chart": charts.data_uri(charts.trend_lines(periods, series[:drawn], **options)),
        "table": charts.trend_table(periods, series, decimals),
    }


def driver_evidence(driver: dict, outcome: dict) -> str:
    """A driver's evidence without naming any team: for the reports of one team or region, whose readers may
    not see which other teams' ratings fell."""
    name, label, unit = driver["function"]["name"], outcome["label"], outcome["unit"]
    change_test, same = driver["tests"].get("change"), driver["tests"].get("same_round")
    parts = []
    if change_test:
        parts.append(
            f"across the organisation, the {len(change_test['flagged'])} teams whose rating of {name} fell well "
            f"below their own history saw {label} change by {number(change_test['effect'])} {unit} more than "
            f"the other teams the next round (90% interval {number(change_test['low'])} to "
            f"{number(change_test['high'])}, q {number(change_test['q'], 3)}, {change_test['n']} teams)"
        )
    if same:
        parts.append(
            f"across teams, this round's ratings of {name} and {label} correlate at rho "
            f"{number(same['effect'], 2)} (90% interval {number(same['low'], 2)} to {number(same['high'], 2)}, "
            f"q {number(same['q'], 2)}, {same['n']} teams)"
        )
    text = "; ".join(parts)
    return text[:1].upper() + text[1:] + "." if text else ""


def _driver(linkage: dict, function_code: str) -> dict | None:
    return next((d for d in linkage.get("drivers", []) if d["function"]["code"] == function_code), None)


def _test_text(test: dict | None, unit: str = "", decimals: int = 2) -> str:
    if not test:
        return "not tested"
    return (
        f"{number(test['effect'], decimals)}{unit} (90% interval {number(test['low'], decimals)} to "
        f"{number(test['high'], decimals)}, q {number(test['q'], 2)}, {test['n']} teams)"
    )


def _periods(history: list[dict]) -> list[str]:
    return [h["round"]["name"] for h in history]


def _trend_series(history, label, pick, emphasis=False) -> charts.Series:
    """A series across the rounds of `history`; `pick` gives a round's (shown figure, whether it has a cell)."""
    states = [pick(h) for h in history]
    return charts.Series(
        label,
        [v["mean"] if v else None for v, _ in states],
        [v["n"] if v else None for v, _ in states],
        suppressed=[v is None and exists for v, exists in states],
        emphasis=emphasis,
    )


def _common(scores: dict, linkage: dict, history: list[dict], kind: str, title: str, subject: dict) -> dict:
    outcome = linkage["outcome"]
    return {
        "kind": kind,
        "title": title,
        "subject": subject,
        "round": scores["round"],
        "rounds": _periods(history),
        "k": scores["min_group_size"],
        "comment_k": scores["min_comment_group_size"],
        "outcome": {**outcome, "decimals": outcome_decimals(outcome["measure"])},
        "enough_data": linkage["enough_data"],
        "linkage_message": linkage["message"],
        "reliability": scores.get("reliability", {}),
        "low_alpha": [
            f"{MEASURE_LABELS[d]} (alpha {number(r['alpha'], 2)})"
            for d, r in scores.get("reliability", {}).items()
            if r["low"]
        ],
    }


CLAIM_VERBS = {"precedes": "come before", "lines up with": "line up with"}


def _finding(headline: str, evidence: str = "") -> dict:
    return {"headline": headline, "evidence": evidence}


def _change_words(step: dict | None, decimals: int, before_name: str, unit: str = "") -> str:
    if step is None:
        return f"no comparable figure for {before_name}"
    direction = "up" if step["value"] > 0 else "down"
    size = number(abs(step["value"]), decimals)
    if step["low"] is None:
        return f"{direction} {size}{unit} from {before_name}"
    noise = "" if step["clear"] else ", within the noise"
    return (
        f"{direction} {size}{unit} from {before_name} (90% interval {signed(step['low'], decimals)} to "
        f"{signed(step['high'], decimals)}{noise})"
    )


# --- Support function head ---------------------------------------------------------------------------------


def function_report(code: str, name: str, scores: dict, linkage: dict, history: list[dict]) -> dict:
    """The report for the head of the support function `code`. `history` holds the scores of the analysed round
    and up to four before it, oldest first (the analysed round last)."""
    # a function nobody rated this round (or whose every figure is hidden) still gets its report
    function = _function(scores, code) or {"code": code, "name": name, "cells": [], "comments": []}
    cells = _cells(function)
    total = cells.get(None)
    medians = _team_medians(function)
    previous = history[-2] if len(history) > 1 else None
    before_name = previous["round"]["name"] if previous else "an earlier round"
    outcome = linkage["outcome"]
    driver = _driver(linkage, code)
    hotspots = [h for h in linkage.get("hotspots", []) if h["function"]["code"] == code]
    teams = [c for c in function["cells"] if c["kind"] == "front_line"]

    dimension_rows = []
    for measure in (OVERALL, *DIMENSIONS, IMPACT):
        shown = total["scores"].get(measure) if total else None
        before = _score(previous, code, None, measure)
        dimension_rows.append(
            {
                "measure": measure,
                "label": MEASURE_LABELS[measure],
                "shown": shown,
                "interval": interval(shown),
                "before": before,
                "change": change(shown, before),
            }
        )

    findings = []
    overall = dimension_rows[0]
    if overall["shown"]:
        findings.append(
            _finding(
                f"The front line rates {name} {number(overall['shown']['mean'])} of 7 overall, "
                f"{_change_words(overall['change'], 1, before_name)}.",
                f"{overall['shown']['n']} staff who used {name} this round"
                + (f"; {overall['before']['n']} in {before_name}" if overall["before"] else "")
                + ".",
            )
        )
    else:
        findings.append(_finding(f"Too few staff rated {name} this round to show its overall score."))
    rated = [r for r in dimension_rows if r["measure"] in DIMENSIONS and r["shown"]]
    if rated:
        weakest = min(rated, key=lambda r: r["shown"]["mean"])
        strongest = max(rated, key=lambda r: r["shown"]["mean"])
        low = weakest["interval"]
        if strongest["shown"]["mean"] - weakest["shown"]["mean"] < ALIKE:
            headline = (
                f"The dimensions are rated alike: from {number(weakest['shown']['mean'], 2)} "
                f"({weakest['label'].lower()}) to {number(strongest['shown']['mean'], 2)} "
                f"({strongest['label'].lower()})."
            )
        else:
            headline = (
                f"{weakest['label']} is the weakest dimension ({number(weakest['shown']['mean'])}); "
                f"{strongest['label'].lower()} the strongest ({number(strongest['shown']['mean'])})."
            )
        findings.append(
            _finding(
                headline,
                f"{weakest['label']}: {shown_text(weakest['shown'])}"
                + (f", 90% interval {number(low[0])} to {number(low[1])}" if low else "")
                + ".",
            )
        )
    if not linkage["enough_data"]:
        findings.append(
            _finding("Not enough data to link staff ratings with customer outcomes.", linkage["message"])
        )
    elif driver and driver["claim"]:
        findings.append(
            _finding(
                f"Shortfalls of {name} {CLAIM_VERBS[driver['claim']]} lower {outcome['label']} in the teams concerned.",
                driver["sentence"],
            )
        )
    elif driver:
        findings.append(
            _finding(
                f"No supported link this round between ratings of {name} and customers' {outcome['label']}.",
                "Within-team test: teams whose rating fell saw "
                + _test_text(driver["tests"].get("change"), f" {outcome['unit']}", 1)
                + ".",
            )
        )
    if hotspots:
        named = ", ".join(f"{h['team']['name']}" for h in hotspots[:5])
        findings.append(
            _finding(
                f"{len(hotspots)} hotspot{'s' if len(hotspots) != 1 else ''}: {named}"
                + (" and others" if len(hotspots) > 5 else "")
                + f" rate {name} well below its norm while their customers are below their usual.",
                hotspots[0]["sentence"],
            )
        )
    far_below = sorted(
        (
            c
            for c in teams
            if c["scores"].get(OVERALL)
            and medians[OVERALL] is not None
            and c["scores"][OVERALL]["mean"] <= medians[OVERALL] - WELL_BELOW
        ),
        key=lambda c: c["scores"][OVERALL]["mean"],
    )
    if far_below:
        findings.append(
            _finding(
                f"{len(far_below)} team{'s' if len(far_below) != 1 else ''} rate{'s' if len(far_below) == 1 else ''}"
                f" {name} a point or more below the median across teams ({number(medians[OVERALL])}, "
                f"{sum(1 for c in teams if c['scores'].get(OVERALL))} teams).",
                "; ".join(f"{c['name']} {shown_text(c['scores'][OVERALL])}" for c in far_below[:6]) + ".",
            )
        )
    suppressed = sum(1 for c in teams if c["suppressed"])
    if suppressed:
        findings.append(
            _finding(
                f"{suppressed} of {len(teams)} teams' ratings are suppressed.",
                f"Fewer than {scores['min_group_size']} respondents used {name} there, or a figure could have "
                "been worked out from the others.",
            )
        )

    heat_rows = [_team_row(cell, medians) for cell in function["cells"]]
    tests = [t for t in linkage.get("tests", []) if t["function"] == code]
    test_lines = _test_lines(tests, outcome["unit"])
    correlations = []
    if driver:
        for kind in ("same_round", "lagged", "reverse"):
            test = driver["tests"].get(kind)
            if test:
                correlations.append(
                    charts.Dot(TEST_LABELS[kind], test["effect"], test["low"], test["high"], test["n"])
                )

    return {
        **_common(
            scores, linkage, history, "function", f"{name}: how the front line rates our service", function
        ),
        "findings": findings,
        "fix_first": _fix_first(name, function, hotspots, dimension_rows, tests, medians, driver),
        "dimensions": dimension_rows,
        "total": total,
        "before_name": before_name,
        "driver": driver,
        "hotspots": hotspots,
        "test_lines": test_lines,
        "comments": function["comments"],
        "charts": {
            "dimensions": as_grid(
                charts.dot_grid(
                    [
                        charts.Dot(
                            r["label"],
                            r["shown"]["mean"] if r["shown"] else None,
                            *(r["interval"] or (None, None)),
                            n=r["shown"]["n"] if r["shown"] else None,
                            suppressed=not r["shown"],
                            compare=r["before"]["mean"] if r["before"] else None,
                            emphasis=r["measure"] == OVERALL,
                        )
                        for r in dimension_rows
                    ],
                    scale=(1, 7),
                    compare_label=f"{before_name}",
                )
            ),
            "trend": trend(
                _periods(history),
                [
                    _trend_series(
                        history,
                        MEASURE_LABELS[m],
                        lambda h, m=m: _score_state(h, code, None, m),
                        emphasis=m == OVERALL,
                    )
                    for m in (OVERALL, *DIMENSIONS)
                ],
                scale=(1, 7),
                drawn=1,  # the five dimensions move together: their lines would hide each other, their table not
            ),
            "teams": grid(
                [MEASURE_LABELS[m] for m in (OVERALL, *DIMENSIONS)] + ["Harm"],
                heat_rows,
                f"suppressed: fewer than {scores['min_group_size']} respondents, or derivable from others",
            ),
            "links": as_grid(
                charts.dot_grid(
                    correlations,
                    scale=(-1, 1),
                    reference=0,
                    reference_label="no relation",
                    decimals=2,
                )
            )
            if correlations
            else None,
        },
    }


def _test_lines(tests: list[dict], unit: str) -> list[str]:
    """Every test of a function's scores as lines of a monospaced table: effect [90% interval] and q of the
    same-round and within-team tests, effect and q of the two time-ordered ones, and n teams."""
    if not tests:
        return []

    def cell(test: dict | None, decimals: int, spread: bool) -> str:
        if not test:
            return "–"
        bounds = f" [{number(test['low'], decimals)}, {number(test['high'], decimals)}]" if spread else ""
        return f"{number(test['effect'], decimals)}{bounds} q {number(test['q'], 2)}"

    widths = (15, 29, 16, 16, 30, 5)
    heads = ("Score", "Same round (rho)", "Ours first", "Theirs first", f"Within teams ({unit})", "n")
    lines = [heads[0].ljust(widths[0]) + "".join(h.rjust(w) for h, w in zip(heads[1:], widths[1:]))]
    for measure in (OVERALL, *DIMENSIONS):
        by_kind = {t["kind"]: t for t in tests if t["measure"] == measure}
        if not by_kind:
            continue
        n = max(t["n"] for t in by_kind.values())
        cells = (
            cell(by_kind.get("same_round"), 2, True),
            cell(by_kind.get("lagged"), 2, False),
            cell(by_kind.get("reverse"), 2, False),
            cell(by_kind.get("change"), 1, True),
            str(n),
        )
        lines.append(
            MEASURE_LABELS[measure].ljust(widths[0]) + "".join(c.rjust(w) for c, w in zip(cells, widths[1:]))
        )
    return lines


def _fix_first(name, function, hotspots, dimension_rows, tests, medians, driver) -> list[dict]:
    """Up to three actions, most pressing first, each with the evidence behind it."""
    actions = []
    cells = _cells(function)
    if hotspots:
        teams = []
        for hotspot in hotspots[:3]:
            cell = cells.get(hotspot["team"]["code"])
            rated = [(m, cell["scores"][m]) for m in DIMENSIONS if cell and cell["scores"].get(m)]
            lowest = min(rated, key=lambda item: item[1]["mean"]) if rated else None
            teams.append(
                f"{hotspot['team']['name']}"
                + (
                    f" (lowest: {MEASURE_LABELS[lowest[0]].lower()}, {number(lowest[1]['mean'])})"
                    if lowest
                    else ""
                )
            )
        actions.append(
            _finding(
                "Talk first with the hotspot teams: " + "; ".join(teams) + ".",
                "Their customers are below their usual while they rate us well below our norm; the estimated "
                f"effect at {hotspots[0]['team']['name']} is {number(hotspots[0]['impact'])} points of the "
                "customer outcome.",
            )
        )
    linked = sorted(
        (t for t in tests if t["kind"] == "change" and t["measure"] in DIMENSIONS and t["q"] is not None),
        key=lambda t: t["q"],
    )
    if linked and linked[0]["q"] <= 0.10:
        test = linked[0]
        actions.append(
            _finding(
                f"Work on {MEASURE_LABELS[test['measure']].lower()}: of our dimensions, falls in it come before "
                "customer changes most clearly.",
                f"Teams whose rating of it fell saw their customers change by {_test_text(test, '', 1)}.",
            )
        )
    rated = [r for r in dimension_rows if r["measure"] in DIMENSIONS and r["shown"]]
    if rated:
        weakest = min(rated, key=lambda r: r["shown"]["mean"])
        low_teams = sorted(
            (
                c
                for c in function["cells"]
                if c["kind"] == "front_line" and c["scores"].get(weakest["measure"])
            ),
            key=lambda c: c["scores"][weakest["measure"]]["mean"],
        )[:3]
        actions.append(
            _finding(
                f"Raise {weakest['label'].lower()}, our weakest dimension ({shown_text(weakest['shown'])}).",
                (
                    "Lowest there: "
                    + "; ".join(
                        f"{c['name']} {shown_text(c['scores'][weakest['measure']])}" for c in low_teams
                    )
                    + "."
                )
                if low_teams
                else "",
            )
        )
    if not actions:
        actions.append(
            _finding(f"Too few ratings of {name} were released this round to single anything out.")
        )
    return actions[:3]


# --- Front-line team head ----------------------------------------------------------------------------------


def team_report(
    code: str, name: str, scores: dict, linkage: dict, history: list[dict], participation: dict | None
) -> dict:
    """The report for the head of the front-line team `code`: how the team rates each support function against
    all teams, its customers' scores, and which internal problems weigh most on its customers. A team without
    results this round gets its report all the same, every figure of it marked as not shown."""
    customers = _customers(scores)
    mine = customers.get(code)
    outcome = linkage["outcome"]
    measure, decimals = outcome["measure"], outcome_decimals(outcome["measure"])
    previous = history[-2] if len(history) > 1 else None
    before_name = previous["round"]["name"] if previous else "an earlier round"

    ratings = []
    for function in scores["functions"]:
        cell = _cells(function).get(code)
        everyone = _cells(function).get(None)
        overall = cell["scores"].get(OVERALL) if cell else None
        dimensions = [(cell["scores"][m]["mean"], m) for m in DIMENSIONS if cell and cell["scores"].get(m)]
        lowest = min(dimensions) if dimensions else None
        ratings.append(
            {
                "function": function,
                "shown": overall,
                "interval": interval(overall),
                "all": everyone["scores"].get(OVERALL) if everyone else None,
                "cell": cell,
                "driver": _driver(linkage, function["code"]),
                "lowest": None if lowest is None else {"label": MEASURE_LABELS[lowest[1]], "mean": lowest[0]},
            }
        )
    customer_rows = []
    for key in ("csat_pct", "nps", "ces", "csat", *DIMENSIONS):
        shown = mine["scores"].get(key) if mine else None
        label = OUTCOME_LABELS[key][0] if key in OUTCOME_LABELS else MEASURE_LABELS[key]
        customer_rows.append(
            {
                "measure": key,
                "label": label,
                "decimals": outcome_decimals(key),
                "shown": shown,
                "all": _customer_score(scores, None, key),
                "before": _customer_score(previous, code, key),
                "before_suppressed": _customer_state(previous, code, key) == (None, True),
                "change": change(shown, _customer_score(previous, code, key)),
            }
        )
    my_hotspots = [h for h in linkage.get("hotspots", []) if h["team"]["code"] == code]

    findings = []
    mine_outcome = mine["scores"].get(measure) if mine else None
    everyone = _customer_score(scores, None, measure)
    if mine_outcome:
        step = change(mine_outcome, _customer_score(previous, code, measure))
        findings.append(
            _finding(
                f"Your customers' {outcome['label']} is {number(mine_outcome['mean'], decimals)}"
                + (f", against {number(everyone['mean'], decimals)} across all teams" if everyone else "")
                + f"; {_change_words(step, decimals, before_name)}.",
                f"{mine_outcome['n']} customers this round"
                + (f"; {everyone['n']} across all teams." if everyone else "."),
            )
        )
    else:
        findings.append(
            _finding(
                f"Your customers' {outcome['label']} is not shown this round.",
                f"Fewer than {scores['min_group_size']} customers answered, or the figure is suppressed.",
            )
        )
    rated = [r for r in ratings if r["shown"]]
    if rated:
        gaps = [r for r in rated if r["all"]]
        lowest = min(gaps or rated, key=lambda r: r["shown"]["mean"] - (r["all"]["mean"] if r["all"] else 0))
        findings.append(
            _finding(
                f"Compared with other teams, your team rates {lowest['function']['name']} lowest: "
                f"{number(lowest['shown']['mean'])} of 7"
                + (f" against {number(lowest['all']['mean'])} across all teams." if lowest["all"] else "."),
                f"{shown_text(lowest['shown'])}"
                + (
                    f", 90% interval {number(lowest['interval'][0])} to {number(lowest['interval'][1])}."
                    if lowest["interval"]
                    else "."
                ),
            )
        )
    else:
        findings.append(
            _finding(
                "Your team's ratings of the support functions are suppressed this round.",
                f"Fewer than {scores['min_group_size']} of your staff rated each function, or a figure could be "
                "worked out from others.",
            )
        )
    weighing = _weighing(ratings, linkage)
    if my_hotspots:
        findings.append(
            _finding(
                f"{my_hotspots[0]['function']['name']} weighs most on your customers: a hotspot.",
                my_hotspots[0]["sentence"],
            )
        )
    elif weighing:
        top = weighing[0]
        findings.append(
            _finding(
                f"Of the functions linked with {outcome['label']}, your team rates "
                f"{top['function']['name']} {number(abs(top['gap']))} below all teams.",
                driver_evidence(top["driver"], outcome),
            )
        )
    elif claimed := [r for r in ratings if r["driver"] and r["driver"]["claim"]]:
        # linked functions exist, but this team does not rate them below the others (or its rating is hidden)
        r = claimed[0]
        verdict = (
            f"your team rates it {number(r['shown']['mean'])}, against {number(r['all']['mean'])} across all teams"
            if r["shown"] and r["all"]
            else "your team's rating of it is suppressed"
        )
        findings.append(
            _finding(
                f"Shortfalls of {r['function']['name']} {CLAIM_VERBS[r['driver']['claim']]} lower "
                f"{outcome['label']} across the organisation; {verdict}.",
                driver_evidence(r["driver"], outcome),
            )
        )
    elif linkage["enough_data"]:
        findings.append(
            _finding(
                f"No support function's shortfalls are linked with {outcome['label']} this round.",
                linkage["message"],
            )
        )
    if participation and participation.get("rate") is not None:
        rate = participation["rate"]
        findings.append(
            _finding(
                f"{round(rate * 100)}% of your staff answered ({participation['answered']} of "
                f"{participation['invited']})"
                + ("; below 60%, read your team's figures with care." if participation["low"] else "."),
            )
        )

    return {
        **_common(
            scores,
            linkage,
            history,
            "team",
            f"{name}: our support and our customers",
            {"code": code, "name": name},
        ),
        "findings": findings,
        "ratings": ratings,
        "customer_rows": customer_rows,
        "hotspots": my_hotspots,
        "weighing": weighing,
        "participation": participation,
        "before_name": before_name,
        "charts": {
            "ratings": as_grid(
                charts.dot_grid(
                    [
                        charts.Dot(
                            r["function"]["name"],
                            r["shown"]["mean"] if r["shown"] else None,
                            *(r["interval"] or (None, None)),
                            n=r["shown"]["n"] if r["shown"] else None,
                            suppressed=not r["shown"],
                            compare=r["all"]["mean"] if r["all"] else None,
                        )
                        for r in ratings
                    ],
                    scale=(1, 7),
                    compare_label="all teams",
                )
            ),
            "customers": trend(
                _periods(history),
                [
                    _trend_series(history, name, lambda h: _customer_state(h, code, measure), emphasis=True),
                    _trend_series(history, "All teams", lambda h: _customer_state(h, None, measure)),
                ],
                scale=(-100, 100)
                if measure == "nps"
                else (0, 100)
                if measure == "csat_pct"
                else (1, 7 if measure == "ces" else 5),
                decimals=decimals,
            ),
        },
    }


def _weighing(ratings: list[dict], linkage: dict) -> list[dict]:
    """The linked (claimed) functions this team rates below all teams, largest shortfall times weight first."""
    outcome = linkage["outcome"]
    found = []
    for r in ratings:
        driver = r["driver"]
        if not driver or not driver["claim"] or not r["shown"] or not r["all"]:
            continue
        gap = r["shown"]["mean"] - r["all"]["mean"]
        if gap < 0:
            found.append(
                {**r, "gap": gap, "weight": driver["weight"], "evidence": driver_evidence(driver, outcome)}
            )
    return sorted(found, key=lambda r: r["gap"] * (r["weight"] or 0))


# --- Executives, HR, regions -------------------------------------------------------------------------------


def organisation_report(
    scope: Scope, scores: dict, linkage: dict, history: list[dict], participation: list[dict]
) -> dict:
    """The whole chain on a few pages: heat map of every function by team beside the customer outcome, drivers,
    top hotspots, response rates and trends. A region's head gets the same for the teams below the region; the
    drivers are the organisation's."""
    outcome = linkage["outcome"]
    measure, decimals = outcome["measure"], outcome_decimals(outcome["measure"])
    node = scope.code  # None: the whole organisation
    customers = _customers(scores)
    functions = scores["functions"]
    medians = {f["code"]: _team_medians(f)[OVERALL] for f in functions}
    outcome_values = [
        c["scores"][measure]["mean"]
        for c in scores["customers"]
        if c["kind"] == "front_line" and c["scores"].get(measure)
    ]
    outcome_median = median(outcome_values) if outcome_values else None
    names = {c["code"]: c["name"] for f in functions for c in f["cells"] if c["code"]}
    names.update({c["code"]: c["name"] for c in scores["customers"] if c["code"]})

    rows = []
    nodes = [node] + sorted(g for g in scope.groups if g != node) + sorted(scope.teams)
    for code in nodes:
        if code is not None and code not in names:
            continue
        cells = []
        for function in functions:
            cell = _cells(function).get(code)
            cells.append(
                charts.HeatCell(None)
                if cell is None
                else charts.HeatCell(None, suppressed=True)
                if not cell["scores"].get(OVERALL)
                else _heat_cell(cell["scores"][OVERALL], medians[function["code"]])
            )
        customer = customers.get(code)
        shown = customer["scores"].get(measure) if customer else None
        cells.append(
            charts.HeatCell(None)
            if customer is None
            else _heat_cell(shown, outcome_median, decimals=decimals, spread=outcome_spread(measure))
        )
        rows.append(
            charts.HeatRow(
                "All teams" if code is None else names[code],
                cells,
                emphasis=code is None or code in scope.groups,
            )
        )

    hotspots = [h for h in linkage.get("hotspots", []) if node is None or h["team"]["code"] in scope.teams]
    drivers = [  # a region's head reads the evidence without the names of teams outside their region
        {**d, "evidence": d["sentence"] if node is None else driver_evidence(d, outcome)}
        for d in sorted(linkage.get("drivers", []), key=lambda d: -(d["weight"] or 0))
    ]
    claimed = [d for d in drivers if d["claim"]]
    total_rate = next((p for p in participation if p["code"] == node), None)
    low_rates = [p for p in participation if p["kind"] == "front_line" and p["low"]]

    findings = []
    if not linkage["enough_data"]:
        findings.append(
            _finding("Not enough data to link staff ratings with customer outcomes.", linkage["message"])
        )
    for driver in claimed:
        findings.append(
            _finding(
                f"Shortfalls of {driver['function']['name']} {CLAIM_VERBS[driver['claim']]} lower {outcome['label']}.",
                driver["evidence"],
            )
        )
    if linkage["enough_data"] and not claimed:
        findings.append(
            _finding(
                f"No support function's shortfalls are linked with {outcome['label']} this round.",
                linkage["message"],
            )
        )
    if hotspots:
        findings.append(
            _finding(
                f"{len(hotspots)} hotspot{'s' if len(hotspots) != 1 else ''}"
                + ("" if node is None else f" in {scope.name}")
                + ", the largest: "
                + f"{hotspots[0]['team']['name']} with {hotspots[0]['function']['name']}.",
                hotspots[0]["sentence"],
            )
        )
    rated_totals = [
        (f, _cells(f).get(node)["scores"][OVERALL])
        for f in functions
        if _cells(f).get(node) and _cells(f).get(node)["scores"].get(OVERALL)
    ]
    if rated_totals:
        weakest_function, shown = min(rated_totals, key=lambda item: item[1]["mean"])
        findings.append(
            _finding(
                f"{weakest_function['name']} is rated lowest overall: {number(shown['mean'])} of 7.",
                f"{shown_text(shown)}; highest: "
                + ", ".join(
                    f"{f['name']} {number(s['mean'])}"
                    for f, s in sorted(rated_totals, key=lambda i: -i[1]["mean"])[:1]
                )
                + ".",
            )
        )
    if total_rate and total_rate["rate"] is not None:
        findings.append(
            _finding(
                f"{round(total_rate['rate'] * 100)}% of invited staff answered ({total_rate['answered']} of "
                f"{total_rate['invited']}).",
                (
                    f"{len(low_rates)} team{'s' if len(low_rates) != 1 else ''} below 60%: "
                    + ", ".join(p["name"] for p in low_rates[:8])
                    + ("…" if len(low_rates) > 8 else "")
                    + "; read their figures with care."
                )
                if low_rates
                else "Every team whose rate may be shown reached 60%.",
            )
        )
    if history and len(history) > 1:
        now, before = _customer_score(scores, node, measure), _customer_score(history[-2], node, measure)
        if now:
            findings.append(
                _finding(
                    f"Customers' {outcome['label']}: {number(now['mean'], decimals)}, "
                    f"{_change_words(change(now, before), decimals, history[-2]['round']['name'])}.",
                    f"{now['n']} customers this round.",
                )
            )

    bars = [
        charts.Bar(
            p["name"],
            None if p["rate"] is None else p["rate"] * 100,
            p["invited"],
            suppressed=p["rate"] is None,
            note="below 60%" if p["low"] else "",
            emphasis=p["kind"] != "front_line",
        )
        for p in participation
    ]
    outcome_scale = (
        (-100, 100)
        if measure == "nps"
        else (0, 100)
        if measure == "csat_pct"
        else (1, 7 if measure == "ces" else 5)
    )
    return {
        **_common(
            scores,
            linkage,
            history,
            "organisation",
            f"{scope.name}: internal service and customer outcomes",
            {"code": scope.code, "name": scope.name},
        ),
        "scope": {"code": scope.code, "name": scope.name},
        "findings": findings,
        "drivers": drivers,
        "hotspots": hotspots[:TOP_HOTSPOTS],
        "more_hotspots": max(0, len(hotspots) - TOP_HOTSPOTS),
        "participation": participation,
        "r2": linkage.get("r2"),
        "charts": {
            "heat": grid(
                [f["name"] for f in functions] + [outcome["label"]],
                rows,
                f"suppressed: fewer than {scores['min_group_size']} respondents, or derivable from others",
            ),
            "drivers": as_grid(
                charts.dot_grid(
                    [
                        charts.Dot(
                            d["function"]["name"] + (f" ({d['claim']})" if d["claim"] else ""),
                            d["weight"],
                            d["weight_low"],
                            d["weight_high"],
                            d["n"],
                            emphasis=bool(d["claim"]),
                        )
                        for d in drivers
                        if d["weight"] is not None
                    ],
                    scale=(0, 1),
                    decimals=2,
                )
            )
            if any(d["weight"] is not None for d in drivers)
            else None,
            "participation": charts.data_uri(
                charts.bars(
                    bars,
                    scale=(0, 100),
                    markers=[(60, "60% warning"), (75, "75% healthy")],
                    unit="%",
                )
            ),
            "trend": trend(
                _periods(history),
                [
                    _trend_series(
                        history, f["name"], lambda h, c=f["code"]: _score_state(h, c, node, OVERALL)
                    )
                    for f in functions
                ],
                scale=(1, 7),
            ),
            "outcome_trend": trend(
                _periods(history),
                [
                    _trend_series(
                        history, scope.name, lambda h: _customer_state(h, node, measure), emphasis=True
                    )
                ],
                scale=outcome_scale,
                decimals=decimals,
            ),
        },
    }
