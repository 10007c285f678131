"""The report for a support function's head: how the front line rates us, by dimension and team, against earlier
rounds; where our shortfalls line up with customer outcomes; our hotspots; comments; what to fix first.

Pure: no web, no database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from survey.analysis.results import (
    ActionEffect,
    Driver,
    EffectTest,
    Figure,
    FunctionScores,
    Hotspot,
    Linkage,
    LinkTest,
    ScoreCell,
    Scores,
    UnitName,
)
from survey.analysis.results import (
    Finding as LinkedFinding,
)
from survey.numbers import number
from survey.reports import charts
from survey.reports.content.common import (
    CONTEXT,
    FAR_BELOW,
    HOTSPOT,
    LINKED,
    STANDING,
    Change,
    Finding,
    as_grid,
    change,
    change_words,
    figure_dot,
    header,
    hidden_note,
    hotspot_words,
    interval,
    lead,
    link_evidence,
    link_headline,
    noise_words,
    periods,
    plural,
    shown_text,
    test_words,
    trend,
    trend_series,
)
from survey.reports.content.heat import organisation_figure, scale_note, team_median, team_row
from survey.vocabulary import (
    DIMENSIONS,
    MEASURE_LABELS,
    OVERALL,
    STAFF_SCALE,
    favourable_from,
    outcome_decimals,
)

WELL_BELOW = 1.0  # points on the 1 to 7 scale: a team rates a function "well below" the median across teams
ALIKE = 0.15  # dimensions closer than this are "rated alike": no weakest one is named
FDR = 0.10  # the false discovery rate the linkage holds its claims to
TEST_LABELS = {
    "same_round": "Same round",
    "lagged": "Ours first, then customers",
    "reverse": "Customers first, then ours",
    "change": "Teams whose rating fell: customers' next change",
}


@dataclass(frozen=True)
class DimensionRow:
    """A score of the function over every team this round, with its 90% interval, against the round before."""

    measure: str
    label: str
    shown: Figure | None
    interval: tuple[float, float] | None
    before: Figure | None
    change: Change | None


@dataclass(frozen=True)
class _Facts:
    """What the sections of one function's report read."""

    name: str
    function: FunctionScores
    scores: Scores
    linkage: Linkage
    before_name: str
    rows: list[DimensionRow]
    medians: dict[str, float | None]
    driver: Driver | None
    hotspots: list[Hotspot]
    tests: list[LinkTest]
    ended: list[LinkedFinding]


@dataclass(frozen=True)
class PromiseRow:
    """A promise in force for the round, beside its dimension's score: `row` holds the score this round and the
    round before (hidden cells as in the scores table); None when the round's questionnaire did not measure it."""

    text: str
    label: str  # the dimension's plain name
    row: DimensionRow | None


def promise_rows(promises: Sequence[tuple[str, str]], rows: Sequence[DimensionRow]) -> list[PromiseRow]:
    """Each (dimension, text) promise beside the scores row of its dimension, in the promises' order."""
    by_measure = {row.measure: row for row in rows}
    return [
        PromiseRow(text, MEASURE_LABELS.get(dimension, dimension), by_measure.get(dimension))
        for dimension, text in promises
    ]


def function_report(
    subject: UnitName,
    scores: Scores,
    linkage: Linkage,
    history: Sequence[Scores],
    promises: Sequence[tuple[str, str]] = (),
    actions: Sequence[ReportAction] = (),
) -> dict[str, Any]:
    """The report for the head of the support function `subject`. `history` holds the scores of the analysed
    round and up to four before it, oldest first (the analysed round last); `promises` the function's promises
    in force for the round, as (dimension, English text); `actions` its actions answering the round or an earlier
    one, not dropped, as they stand now."""
    # a function nobody rated this round (or whose every figure is hidden) still gets its report
    function = scores.function(subject.code) or FunctionScores(
        subject.id, subject.code, subject.name, "support", cells=[], comments=[]
    )
    previous = history[-2] if len(history) > 1 else None
    facts = _Facts(
        name=subject.name,
        function=function,
        scores=scores,
        linkage=linkage,
        before_name=previous.round.name if previous else "an earlier round",
        rows=_dimension_rows(function, previous, scores.measures),
        medians={m: team_median(function, m) for m in scores.measures},
        driver=linkage.driver(subject.code),
        hotspots=[h for h in linkage.hotspots if h.function.code == subject.code],
        tests=[t for t in linkage.tests if t.function == subject.code],
        ended=[f for f in linkage.findings if f.function.code == subject.code and f.status == "ended"],
    )
    title = f"{subject.name}: how the front line rates our service"
    team_rows = _team_rows(facts)
    return {
        **header(scores, linkage, history, "function", title, {"code": subject.code, "name": subject.name}),
        **lead(_findings(facts)),
        "actions": _fix_first(facts),
        "dimensions": facts.rows,
        "promises": promise_rows(promises, facts.rows),
        "total": function.cell(None),
        "not_applicable": not_applicable_sentence(function.cell(None), facts.rows, subject.name),
        "favourable": favourable_sentence(facts.rows),
        "before_name": facts.before_name,
        "driver": facts.driver,
        "hotspots": facts.hotspots,
        "test_table": _test_table(facts.tests, linkage.outcome.unit),
        "open_actions": [a for a in actions if not a.done],
        "done_actions": done_actions(
            actions, [e for e in linkage.actions if e.function.code == subject.code]
        ),
        "effect_table": _effect_table(
            [e for e in linkage.actions if e.function.code == subject.code], linkage.outcome.measure
        ),
        "comments": function.comments,
        "team_rows": team_rows,  # the teams' heat map as data, for the pages
        "team_columns": [MEASURE_LABELS[m] for m in scores.measures],
        "scale_note": scale_note(),
        "charts": _charts(facts, history, team_rows),
    }


def _dimension_rows(
    function: FunctionScores, previous: Scores | None, measures: list[str]
) -> list[DimensionRow]:
    rows = []
    for measure in measures:
        shown = function.score(None, measure)
        before = previous.staff_score(function.code, None, measure)[0] if previous else None
        rows.append(
            DimensionRow(
                measure, MEASURE_LABELS[measure], shown, interval(shown), before, change(shown, before)
            )
        )
    return rows


def favourable_sentence(rows: list[DimensionRow]) -> str | None:
    """Each score's share favourable over every team, beside the chart of the means: "Share favourable
    (answers 5 to 7 of 7), all teams: overall 62% (n = 18); reliability 58% (n = 18); ..."; None when no score
    shown has one."""
    shares = [
        f"{row.label.lower()} {number(row.shown.favourable, 0)}% (n = {row.shown.n})"
        for row in rows
        if row.shown is not None and row.shown.favourable is not None
    ]
    low, high = STAFF_SCALE
    top = f"answers {favourable_from(low, high)} to {high} of {high}"
    return f"Share favourable ({top}), all teams: " + "; ".join(shares) + "." if shares else None


def not_applicable_sentence(total: ScoreCell | None, rows: list[DimensionRow], name: str) -> str | None:
    """How many of the staff who used the function answered "not applicable / don't know" for each score, in
    plain words; None when nobody did. Each count is the shown usage minus the score's shown n: both are released
    already, so the count releases nothing new, and a hidden score gives no count."""
    if total is None or total.usage is None or total.usage.used is None:
        return None
    used = total.usage.used
    counts = [(row.label.lower(), used - row.shown.n) for row in rows if row.shown is not None]
    answered = [f"{count} for {label}" for label, count in counts if count > 0]
    if not answered:
        return None
    return (
        f'Of the {used} staff who used {name}, some answered "not applicable / don\'t know", which is counted '
        f"but not scored: {', '.join(answered)}."
    )


# --- Findings ----------------------------------------------------------------------------------------------------


def _findings(facts: _Facts) -> list[Finding | None]:
    return [
        _link(facts),
        _hotspots(facts),
        _far_below(facts),
        _level(facts),
        _dimensions(facts),
        _suppressed(facts),
    ]


def _level(facts: _Facts) -> Finding:
    overall = facts.rows[0]
    if not overall.shown:
        return Finding(
            f"Too few staff rated {facts.name} this round to show its overall score.", importance=CONTEXT
        )
    before = overall.before.mean if overall.before else None
    return Finding(
        f"Staff rate {facts.name} {shown_text(overall.shown)} overall, "
        f"{change_words(overall.shown.mean, before, 1, facts.before_name)}.",
        f"{overall.shown.n} staff who used {facts.name} this round"
        + (f"; {overall.before.n} in {facts.before_name}" if overall.before else "")
        + ".",
        importance=FAR_BELOW if overall.change and overall.change.clear else STANDING,
        method=noise_words(overall.change),
    )


def _rated_dimensions(facts: _Facts) -> list[tuple[DimensionRow, Figure]]:
    return [(r, r.shown) for r in facts.rows if r.measure in DIMENSIONS and r.shown]


def _dimensions(facts: _Facts) -> Finding | None:
    rated = _rated_dimensions(facts)
    if not rated:
        return None
    weakest, weak = min(rated, key=lambda item: item[1].mean)
    strongest, strong = max(rated, key=lambda item: item[1].mean)
    low = weakest.interval
    method = f"{weakest.label}: 90% interval {number(low[0])} to {number(low[1])}." if low else ""
    if strong.mean - weak.mean < ALIKE:
        return Finding(
            f"Staff rate every part of {facts.name}'s service about the same: from {number(weak.mean)} "
            f"({weakest.label.lower()}) to {number(strong.mean)} ({strongest.label.lower()}) of 7.",
            f"Each of the five rests on {weak.n} staff or more.",
            importance=CONTEXT,
            method=method,
        )
    return Finding(
        f"{weakest.label} is the lowest-rated part of {facts.name}'s service: {shown_text(weak)}, against "
        f"{number(strong.mean)} for {strongest.label.lower()}.",
        importance=STANDING,
        method=method,
    )


def _link(facts: _Facts) -> Finding | None:
    linkage, driver, label = facts.linkage, facts.driver, facts.linkage.outcome.label
    if not linkage.enough_data:
        return Finding(
            "There is not enough data yet to compare staff ratings with customers' figures.",
            linkage.message,
            importance=CONTEXT,
        )
    if driver and driver.claim:
        return Finding(
            link_headline(facts.name, driver.claim, linkage.outcome.measure),
            link_evidence(driver, linkage),
            importance=LINKED,
            method=driver.sentence,
        )
    if facts.ended:
        return Finding(
            f"The drop in ratings of {facts.name} that came before lower {label} has ended.",
            importance=HOTSPOT,
            method=facts.ended[0].sentence,
        )
    if driver:
        return Finding(
            f"Teams that rate {facts.name} lower do not have clearly less satisfied customers this round.",
            importance=CONTEXT,
            method="Within-team test: the customers of teams whose rating fell and stays down moved "
            + test_words(driver.tests.change, f" {linkage.outcome.unit}", 1)
            + " against the other teams'.",
        )
    return None


def _hotspots(facts: _Facts) -> Finding | None:
    hotspots = facts.hotspots
    if not hotspots:
        return None
    named = ", ".join(h.team.name for h in hotspots)  # every one: a head must find their team
    label = facts.linkage.outcome.label
    return Finding(
        f"{plural(len(hotspots), 'team')} ({named}) rate {facts.name} lower than they used to, and their"
        f" customers' {label} fell more than other teams'.",
        hotspot_words(hotspots[0], facts.linkage.outcome),
        importance=HOTSPOT,
    )


def _far_below(facts: _Facts) -> Finding | None:
    centre = facts.medians[OVERALL]
    rated = [(c, figure) for c in facts.function.teams if (figure := c.scores.of(OVERALL))]
    if centre is None:
        return None
    far = sorted(((c, f) for c, f in rated if f.mean <= centre - WELL_BELOW), key=lambda item: item[1].mean)
    if not far:
        return None
    return Finding(
        f"{len(far)} of {len(rated)} teams rate {facts.name} a point or more below the middle team "
        f"({number(centre)} of 7 overall).",
        "; ".join(f"{c.name} {shown_text(figure)}" for c, figure in far) + ".",
        importance=FAR_BELOW,
    )


def _suppressed(facts: _Facts) -> Finding | None:
    teams = facts.function.teams
    suppressed = sum(1 for c in teams if c.suppressed)
    if not suppressed:
        return None
    return Finding(
        f"{suppressed} of {len(teams)} teams' ratings are hidden.",
        f"Hidden to protect anonymity: fewer than {facts.scores.min_group_size} respondents used {facts.name} "
        "there, they all gave the same answer, or a figure could have been worked out from the others.",
        importance=CONTEXT,
    )


# --- What to fix first -------------------------------------------------------------------------------------------


def _fix_first(facts: _Facts) -> list[Finding]:
    """Up to three actions, most pressing first, each with the evidence behind it."""
    actions = [a for a in (_talk_to_hotspots(facts), _linked_dimension(facts), _weakest(facts)) if a]
    if not actions:
        actions.append(
            Finding(f"Too few ratings of {facts.name} were released this round to single anything out.")
        )
    return actions[:3]


def _lowest_dimension(cell: ScoreCell | None) -> tuple[str, Figure] | None:
    rated = [(m, figure) for m in DIMENSIONS if cell and (figure := cell.scores.of(m))]
    return min(rated, key=lambda item: item[1].mean) if rated else None


def _talk_to_hotspots(facts: _Facts) -> Finding | None:
    if not facts.hotspots:
        return None
    teams = []
    for hotspot in facts.hotspots:  # every one, not the first few
        lowest = _lowest_dimension(facts.function.cell(hotspot.team.code))
        teams.append(
            hotspot.team.name
            + (f" (lowest: {MEASURE_LABELS[lowest[0]].lower()}, {number(lowest[1].mean)})" if lowest else "")
        )
    first = facts.hotspots[0]
    return Finding(
        "Talk first with the teams whose rating fell while their customers' figures fell: "
        + "; ".join(teams)
        + ".",
        hotspot_words(first, facts.linkage.outcome),
    )


def _linked_dimension(facts: _Facts) -> Finding | None:
    linked = sorted(
        (t for t in facts.tests if t.kind == "change" and t.measure in DIMENSIONS and t.q is not None),
        key=lambda t: t.q or 0.0,
    )
    if not linked or (linked[0].q or 0.0) > FDR:
        return None
    test = linked[0]
    decimals = outcome_decimals(facts.linkage.outcome.measure)
    return Finding(
        f"Work on {MEASURE_LABELS[test.measure].lower()}: of the parts of our service, drops in its rating come "
        f"before changes in {facts.linkage.outcome.label} most clearly.",
        f"The customers of the {plural(len(test.flagged), 'team')} whose rating of it fell and stayed down moved "
        f"{number(abs(test.effect or 0.0), decimals)} {facts.linkage.outcome.unit} "
        f"{'lower' if (test.effect or 0.0) < 0 else 'higher'} than other teams' customers ({test.n} teams "
        "compared).",
        method=f"{MEASURE_LABELS[test.measure]}: {test_words(test, '', 1)}.",
    )


def _weakest(facts: _Facts) -> Finding | None:
    rated = _rated_dimensions(facts)
    if not rated:
        return None
    weakest, weak = min(rated, key=lambda item: item[1].mean)
    low_teams = sorted(
        ((c, figure) for c in facts.function.teams if (figure := c.scores.of(weakest.measure))),
        key=lambda item: item[1].mean,
    )[:3]
    evidence = (
        "Lowest there: " + "; ".join(f"{c.name} {shown_text(figure)}" for c, figure in low_teams) + "."
        if low_teams
        else ""
    )
    return Finding(
        f"Raise {weakest.label.lower()}, the lowest-rated part of our service ({shown_text(weak)}).", evidence
    )


# --- Tables and charts -------------------------------------------------------------------------------------------


def _test_table(tests: list[LinkTest], unit: str) -> dict[str, list[Any]] | None:
    """Every test of a function's scores as a table (a head row, then a row per score): effect [90% interval] and
    q of the same-round and within-team tests, effect and q of the two time-ordered ones, and n teams. A table, not
    lines of fixed width: the scores' plain names are long, and its cells wrap."""
    if not tests:
        return None

    def cell(test: LinkTest | None, decimals: int, spread: bool) -> str:
        if not test:
            return "–"
        bounds = f" [{number(test.low, decimals)}, {number(test.high, decimals)}]" if spread else ""
        return f"{number(test.effect, decimals)}{bounds} q {number(test.q, 2)}"

    rows = []
    for measure in (OVERALL, *DIMENSIONS):
        by_kind = {t.kind: t for t in tests if t.measure == measure}
        if by_kind:
            rows.append(
                [
                    MEASURE_LABELS[measure],
                    cell(by_kind.get("same_round"), 2, True),
                    cell(by_kind.get("lagged"), 2, False),
                    cell(by_kind.get("reverse"), 2, False),
                    cell(by_kind.get("change"), 1, True),
                    str(max(t.n for t in by_kind.values())),
                ]
            )
    head = ["Score", "Same round (rho)", "Ours first", "Theirs first", f"Within teams ({unit})", "n"]
    return {"head": head, "rows": rows}


# --- Did our actions work? -----------------------------------------------------------------------------------------

VERDICTS = {
    "working": "Working",
    "no clear change": "No clear change",
    "worse": "Worse since",
    "too early": "Too early to tell",
    "too few teams": "Too few teams to tell",
    "not enough data": "Not enough data",
}
CUSTOMER_VERDICTS = {
    "better": "customers better",
    "no clear change": "no clear change for customers",
    "worse": "customers worse",
    "too early": "customers: too early to tell",
    "too few teams": "customers: too few teams to tell",
    "not enough data": "customers: not enough data",
}


TOO_EARLY_SENTENCE = "No round has been measured since this action was planned."


@dataclass(frozen=True)
class ReportAction:
    """One of a function's actions as its report reads it (`reports.data` gathers them): the targeted teams only
    as a count, the owner by name, the status and dimension in plain words, overdue as of the rendering."""

    id: int
    title: str
    dimension: str  # the part of the service in plain words
    teams: int
    owner: str
    due_on: str  # "4 May 2027"
    status: str  # "Planned", "Under way", "Done"
    overdue: bool
    done: bool
    answers: str  # the round whose results it answers


@dataclass(frozen=True)
class DoneAction:
    """A completed action with its verdict: from the round's effects, "too early" when none measured it."""

    action: ReportAction
    verdict: str  # in words: "Working; customers better"
    sentence: str


def verdict_words(effect: ActionEffect) -> str:
    """An effect's verdict in words: the ratings', then the customers' ("Working; customers better")."""
    if effect.verdict in ("too early", "too few teams"):
        return VERDICTS[effect.verdict]
    return (
        f"{VERDICTS.get(effect.verdict, effect.verdict)}; {CUSTOMER_VERDICTS.get(effect.customers_verdict)}"
    )


def done_actions(actions: Sequence[ReportAction], effects: Sequence[ActionEffect]) -> list[DoneAction]:
    """The completed actions, each with the verdict of the effect that holds it (alone or pooled with other
    small actions); "too early to tell" when the round measured none of them."""
    by_action = {action_id: effect for effect in effects for action_id in effect.actions}
    done = []
    for action in actions:
        if not action.done:
            continue
        effect = by_action.get(action.id)
        if effect is None or effect.verdict == "too early":
            done.append(DoneAction(action, VERDICTS["too early"], TOO_EARLY_SENTENCE))
        else:
            done.append(DoneAction(action, verdict_words(effect), effect.sentence))
    return done


def _probability(value: float | None) -> str:
    """A p or q to three decimals; "< 0.001" below that, not "0.000"."""
    return "< 0.001" if value is not None and value < 0.0005 else number(value, 3)


def effect_test_text(test: EffectTest | None, decimals: int) -> str:
    """A test of an action's effect as one line: effect [90% interval] p and q; "–" without numbers."""
    if test is None or test.effect is None:
        return "–"
    return (
        f"{number(test.effect, decimals)} [{number(test.low, decimals)}, {number(test.high, decimals)}] "
        f"p {_probability(test.p)} q {_probability(test.q)}"
    )


def _effect_table(effects: list[ActionEffect], outcome: str) -> dict[str, list[Any]] | None:
    """The tests behind each verdict: effect [90% interval], p and q of the ratings and of the customers, and
    the teams compared (targeted of all)."""
    tested = [e for e in effects if e.ratings is not None or e.customers is not None]
    if not tested:
        return None
    rows = [
        [
            "; ".join(e.titles),
            effect_test_text(e.ratings, 1),
            effect_test_text(e.customers, outcome_decimals(outcome)),
            "–" if e.ratings is None else f"{e.ratings.targeted} of {e.ratings.compared}",
        ]
        for e in tested
    ]
    return {"head": ["Action", "Rating (points)", "Customers", "Teams"], "rows": rows}


def _team_rows(facts: _Facts) -> list[charts.HeatRow]:
    """Each team's (and group's) row of the function's heat map, shaded against the organisation's figures."""
    measures = facts.scores.measures
    references = {m: organisation_figure(facts.function, m) for m in measures}
    return [team_row(cell, references, measures) for cell in facts.function.cells]


def _charts(facts: _Facts, history: Sequence[Scores], heat_rows: list[charts.HeatRow]) -> dict[str, Any]:
    k = facts.scores.min_group_size
    return {
        "dimensions": as_grid(
            charts.dot_grid(
                [figure_dot(r.label, r.shown, r.before, emphasis=r.measure == OVERALL) for r in facts.rows],
                scale=STAFF_SCALE,
                compare_label=f"{facts.before_name}",
            )
        ),
        "trend": trend(
            periods(history),
            [
                trend_series(
                    history,
                    MEASURE_LABELS[m],
                    lambda h, m=m: h.staff_score(facts.function.code, None, m),  # type: ignore[misc]
                    emphasis=m == OVERALL,
                )
                for m in (OVERALL, *DIMENSIONS)
            ],
            scale=STAFF_SCALE,
            drawn=1,  # the five dimensions move together: their lines would hide each other, their table not
        ),
        "teams": as_grid(
            charts.heat_grid(
                [MEASURE_LABELS[m] for m in facts.scores.measures],
                heat_rows,
                suppressed_note=hidden_note(k),
            )
        ),
        "links": _links_chart(facts.driver),
    }


def _links_chart(driver: Driver | None) -> dict[str, Any] | None:
    correlations = []
    if driver:
        for kind in ("same_round", "lagged", "reverse"):
            test: LinkTest | None = getattr(driver.tests, kind)
            if test:
                correlations.append(charts.Dot(TEST_LABELS[kind], test.effect, test.low, test.high, test.n))
    if not correlations:
        return None
    return as_grid(
        charts.dot_grid(correlations, scale=(-1, 1), reference=0, reference_label="no relation", decimals=2)
    )
