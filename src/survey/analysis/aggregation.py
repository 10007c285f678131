"""A round's answers summed up in the database: the sufficient statistics (n, sum, sum of squares) of every
score, grouped by SQL, never row by row in Python.

Internal: per (support function, front-line team), each SERVQUAL dimension, the overall score and the impact item,
over the respondents who used the function, and how many answered and how many used it. External: per team, the
customers' dimension scores and outcomes (CSAT%, CSAT mean, NPS, CES), merged with figures imported from another
tool (kept apart: the release gate merges them). A respondent's dimension score is the mean of their items in
it that they answered ("not applicable", stored as JSON null, is counted in the usage, never scored),
reverse-keyed items turned round; the overall score is the mean of their dimension scores and, where the
instrument asks one (the short instrument), their overall rating. Beside each score with a share favourable
(`vocabulary.FAVOURABLE_MEASURES`), in the same pass, the sum of each respondent's share of favourable answers,
built the same way from whether each scored answer is in the top of its item's scale (`favourable_from`).

Roll-ups up the unit tree are sums of these sums (exact), made by the release gate (`release.py`), which decides
what may be shown.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, case, func, literal, select

from survey.analysis.sums import RoundSums, ScaleSums, Sums, figure_sums
from survey.db.models import ExternalFigure, ExternalResponse, InternalResponse, InternalReview, Item, Round
from survey.vocabulary import (
    CES,
    CSAT_MEAN,
    CSAT_PCT,
    IMPACT,
    NPS,
    ONE_SCALE,
    OVERALL,
    SERVQUAL,
    Dimension,
    favourable_from,
)

Measures = Callable[[dict[int, Any]], dict[str, Any]]  # the measures as SQL expressions of the items' columns


def _value(answers, item: Item):
    """An item's scored answer as SQL: the stored value, turned round if the item is reverse-keyed."""
    raw = answers[str(item.id)].as_integer()
    return (item.scale_min + item.scale_max) - raw if item.reverse_keyed else raw


def _scored(connection: Connection, query, answers, items: list[Item], measures_of: Measures):
    """`query` (the round's rows, with the columns they are grouped by) with each item's scored answer and each
    measure (`measures_of` the items' columns) added once; the query to sum over, its items' columns by item id,
    and its measures by name.

    The sums use each item up to a dozen times, and each measure four times: written out inline, each use of an
    item parsed the row's JSON again (SQLite before 3.45 does not cache it, and PostgreSQL evaluates each copy of
    an expression), four fifths of the aggregation's time. PostgreSQL: the items in a materialized CTE, the
    measures written out over its columns (the order rows reach PostgreSQL's aggregates in, and so the last bits
    of a sum of fractions, depends on the plan: this is the shape whose sums are kept). SQLite: the items, then
    the measures, in sub-queries run one row at a time (OFFSET 0 keeps each from being folded into the query
    above it, which would compute it again for each use): each is computed once and nothing is written to a
    temporary table. The rows reach SQLite's GROUP BY in the same order, and its sorter keeps the rows of a group
    in that order (a stable merge sort), so the sums are the same to the bit (checked on bench/results.py's
    rounds against the materialized CTE SQLite used before)."""
    columns = [_value(answers, item).label(f"item_{item.id}") for item in items]
    if connection.dialect.name != "sqlite":
        scored = query.add_columns(*columns).cte("scored").prefix_with("MATERIALIZED")
        column_of = {item.id: scored.c[f"item_{item.id}"] for item in items}
        return scored, column_of, measures_of(column_of)
    extracted = query.add_columns(*columns).offset(0).subquery("extracted")
    measures = measures_of({item.id: extracted.c[f"item_{item.id}"] for item in items})
    scored = (
        select(*extracted.c, *(expression.label(f"measure_{name}") for name, expression in measures.items()))
        .offset(0)
        .subquery("scored")
    )
    column_of = {item.id: scored.c[f"item_{item.id}"] for item in items}
    return scored, column_of, {name: scored.c[f"measure_{name}"] for name in measures}


# A measure's favourable part is summed under the measure's name with this after it (`_measure_columns`).
FAVOURABLE = "_favourable"


def _favourable(column, item: Item):
    """Whether an item's scored answer (`_value`: reverse-keyed items turned round) is favourable, as SQL: 1.0 in
    the top of the item's scale, 0.0 below it, NULL for "not applicable"."""
    return case((column >= favourable_from(item.scale_min, item.scale_max), 1.0), (column.is_not(None), 0.0))


def _mean(expressions):
    """The mean of the values that are there (not "not applicable", stored as JSON null, which SQL reads as
    NULL); NULL when none is. Over complete rows it is the plain mean, the same to the bit."""
    expressions = list(expressions)
    if len(expressions) == 1:
        return expressions[0] / 1.0
    present = [case((e.is_(None), 0.0), else_=1.0) for e in expressions]
    values = [func.coalesce(e, 0) for e in expressions]
    return sum(values[1:], values[0]) / func.nullif(sum(present[1:], present[0]), 0.0)


def _sums_columns(name: str, expression) -> list:
    return [
        func.count(expression).label(f"{name}_n"),
        func.sum(expression).label(f"{name}_total"),
        func.sum(expression * expression).label(f"{name}_squares"),
    ]


def _measure_columns(measures: dict[str, Any]) -> list:
    """The sums of each measure (`_sums_columns`); of a measure's favourable part (named with `FAVOURABLE`) only
    the sum: its n is the measure's, and its spread is not needed."""
    columns: list = []
    for name, expression in measures.items():
        if name.endswith(FAVOURABLE):
            columns.append(func.sum(expression).label(name))
        else:
            columns += _sums_columns(name, expression)
    return columns


MeasureAt = tuple[int, int, int, int | None]  # where a measure's n, total, squares and favourable part sit


def _measure_positions(result, measures: Iterable[str]) -> dict[str, MeasureAt]:
    """Where each measure's sums sit in a result's rows (`_measure_columns`), the favourable part None for a
    measure without one."""
    index = {name: i for i, name in enumerate(result.keys())}
    return {
        name: (
            index[f"{name}_n"],
            index[f"{name}_total"],
            index[f"{name}_squares"],
            index.get(name + FAVOURABLE),
        )
        for name in measures
        if not name.endswith(FAVOURABLE)
    }


def _positions(result) -> Callable[[str], tuple[int, int, int]]:
    """Where the sums labelled `name` (`_sums_columns`) sit in a result's rows: the rows are read by position,
    several times cheaper than by name, and a round's rows have a million numbers to read between them."""
    index = {name: i for i, name in enumerate(result.keys())}
    return lambda name: (index[f"{name}_n"], index[f"{name}_total"], index[f"{name}_squares"])


def _sums(row: Sequence[Any], at: MeasureAt) -> Sums | None:
    """A measure's sums at these positions of a result row (`_measure_positions`)."""
    n = row[at[0]]
    if not n:
        return None
    favourable = None if at[3] is None else float(row[at[3]])
    return Sums(int(n), float(row[at[1]]), float(row[at[2]]), favourable)


def _items(connection: Connection, instrument_id: int) -> list[Item]:
    rows = connection.execute(select(Item).where(Item.instrument_id == instrument_id).order_by(Item.position))
    return [Item.model_validate(row._mapping) for row in rows]


def round_sums(connection: Connection, round_id: int, scales: bool = True) -> RoundSums:
    """Sum up one round's answers and imported figures (two grouped queries and a read of the figures)."""
    a_round = connection.execute(select(Round).where(Round.id == round_id)).one()
    result = RoundSums(round_id)
    _internal(connection, result, _items(connection, a_round.internal_instrument_id), scales)
    _external(connection, result, _items(connection, a_round.external_instrument_id))
    _imported(connection, result)
    return result


def _by_dimension(items: list[Item]) -> dict[str, list[Item]]:
    grouped: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        grouped[item.dimension].append(item)
    return grouped


def _internal(connection: Connection, result: RoundSums, items: list[Item], scales: bool = True) -> None:
    by_dimension = _by_dimension(items)
    scored, column_of, measures = _scored(
        connection,
        select(InternalReview.function_id, InternalResponse.team_id, InternalReview.used)
        .select_from(InternalReview)
        .join(InternalResponse, InternalResponse.id == InternalReview.response_id)
        .where(InternalResponse.round_id == result.round_id),
        InternalReview.__table__.c.answers,
        items,
        lambda column_of: _internal_measures(by_dimension, column_of),
    )
    columns = [
        scored.c.function_id,
        scored.c.team_id,
        func.count().label("answered"),
        func.sum(case((scored.c.used, 1), else_=0)).label("used"),
        *_measure_columns(measures),
    ]
    # Reliability: every item's sums, and the sums of each respondent's total over a scale's items, over the
    # respondents who answered every item of the scale (a "not applicable" leaves them out of that scale).
    scale_items = _scale_items(by_dimension, column_of) if scales else {}
    for dimension, values in scale_items.items():
        total = sum(values[1:], values[0])
        for index, value in enumerate(values):
            columns += _sums_columns(f"{dimension}_item{index}", case((total.is_not(None), value)))
        columns += _sums_columns(f"{dimension}_sum", total)
    result_rows = connection.execute(
        select(*columns).select_from(scored).group_by(scored.c.function_id, scored.c.team_id)
    )
    at = _positions(result_rows)
    measure_at = _measure_positions(result_rows, measures)
    rows = result_rows.all()
    for row in rows:  # function_id, team_id, answered, used, then the sums
        key = (row[0], row[1])
        result.usage[key] = (int(row[2]), int(row[3] or 0))
        cell = {name: sums for name, where in measure_at.items() if (sums := _sums(row, where)) is not None}
        if cell:
            result.internal[key] = cell
    # Each dimension in the order its first sums came, as the groups' sums were added up one after the other.
    first: dict[str, int] = {}
    for dimension in scale_items:
        answered = at(f"{dimension}_sum")[0]
        if (row_index := next((i for i, row in enumerate(rows) if row[answered]), None)) is not None:
            first[dimension] = row_index
    for dimension in sorted(first, key=first.__getitem__):
        result.scales[dimension] = _scale_sums(rows, at, dimension, len(scale_items[dimension]))


def _scale_items(by_dimension: dict[str, list[Item]], column_of: dict[int, Any]) -> dict[str, list[Any]]:
    """The scales whose reliability is computed, each with its items' columns: each SERVQUAL dimension with two
    items or more; with one item per dimension (the short instrument), the function's dimension items as one
    scale (`ONE_SCALE`)."""
    dimensions = [by_dimension[d.value] for d in SERVQUAL if by_dimension.get(d.value)]
    if dimensions and all(len(items) == 1 for items in dimensions):
        return {ONE_SCALE: [column_of[items[0].id] for items in dimensions]} if len(dimensions) >= 2 else {}
    return {
        d.value: [column_of[item.id] for item in by_dimension[d.value]]
        for d in SERVQUAL
        if len(by_dimension.get(d.value, ())) >= 2
    }


def _scale_sums(
    rows: Sequence[Sequence[Any]], at: Callable[[str], tuple[int, int, int]], dimension: str, count: int
) -> ScaleSums:
    """One dimension's sums behind its reliability, over every group of the rows in which someone answered all
    its items: of each item, and of each respondent's total over the items. Each group's floats are added one
    after the other, in the order of the rows, as adding up each group's `Sums` would add them."""
    columns = [at(f"{dimension}_item{i}") for i in range(count)] + [at(f"{dimension}_sum")]
    answered = [row for row in rows if row[columns[-1][0]]]
    *items, totals = [
        Sums(
            sum(int(row[n]) for row in answered),
            _sum_in_order(row[total] for row in answered),
            _sum_in_order(row[squares] for row in answered),
        )
        for n, total, squares in columns
    ]
    return ScaleSums(totals.n, tuple(items), totals)


def _sum_in_order(values: Iterable[Any]) -> float:
    """The values as floats, added left to right."""
    numbers = iter(values)
    result = float(next(numbers))
    for value in numbers:
        result += float(value)
    return result


def _internal_measures(by_dimension: dict[str, list[Item]], column_of: dict[int, Any]) -> dict[str, Any]:
    """Each staff score as an SQL expression of a row's scored items: the five dimensions (the mean of their
    items answered), the overall score (the mean of the dimension scores there are and, where the instrument
    asks one, of the overall rating: each weighs as one dimension) and the impact item. A "not applicable"
    answer (NULL) is left out of every mean; a score with nothing to average is NULL, which the sums skip.
    Beside the dimensions and the overall score, their favourable parts (`FAVOURABLE`), built the same way
    from whether each answer is favourable: a respondent's share of favourable answers in a dimension, and the
    mean of those shares (and of the overall rating's) overall. So each has its score's n, and is exactly as
    far from being worked out from the other measures as the score is (a share pooled over every answer of the
    overall score would be the dimensions' added up, and give away one dimension hidden at a team)."""
    scores: dict[str, Any] = {
        dimension: _mean(column_of[item.id] for item in dimension_items)
        for dimension, dimension_items in by_dimension.items()
    }
    favourable: dict[str, Any] = {
        dimension: _mean(_favourable(column_of[item.id], item) for item in dimension_items)
        for dimension, dimension_items in by_dimension.items()
    }
    dimensions = [d.value for d in SERVQUAL if d.value in scores]
    measures: dict[str, Any] = {d: scores[d] for d in dimensions}
    measures |= {d + FAVOURABLE: favourable[d] for d in dimensions}
    if dimensions:
        with_overall = [*dimensions, *([OVERALL] if OVERALL in scores else [])]
        measures[OVERALL] = _mean(scores[d] for d in with_overall)
        measures[OVERALL + FAVOURABLE] = _mean(favourable[d] for d in with_overall)
    if IMPACT in scores:
        measures[IMPACT] = scores[IMPACT]
    return measures


def _external(connection: Connection, result: RoundSums, items: list[Item]) -> None:
    by_dimension = _by_dimension(items)
    scored, _, measures = _scored(
        connection,
        # Answers held in a burst HR has not kept count in nothing (`intake`, `CustomerBurst`).
        select(ExternalResponse.team_id).where(
            ExternalResponse.round_id == result.round_id, ExternalResponse.burst_id.is_(None)
        ),
        ExternalResponse.__table__.c.answers,
        items,
        lambda column_of: _external_measures(by_dimension, column_of),
    )
    if not measures:
        return
    columns = [scored.c.team_id, *_measure_columns(measures)]
    rows = connection.execute(select(*columns).select_from(scored).group_by(scored.c.team_id))
    measure_at = _measure_positions(rows, measures)
    for row in rows:
        cell = {name: sums for name, where in measure_at.items() if (sums := _sums(row, where)) is not None}
        if cell:
            result.external[row[0]] = cell


def _external_measures(by_dimension: dict[str, list[Item]], column_of: dict[int, Any]) -> dict[str, Any]:
    """Each customer measure as an SQL expression of a row's scored items: the dimensions (the mean of their
    items) and the outcomes (CSAT%, mean satisfaction, NPS, CES); beside the dimensions, satisfaction and ease,
    their favourable parts (`FAVOURABLE`, as for staff's dimensions)."""
    measures: dict[str, Any] = {}
    for d in SERVQUAL:
        if items := by_dimension.get(d.value):
            measures[d.value] = _mean(column_of[item.id] for item in items)
            measures[d.value + FAVOURABLE] = _mean(_favourable(column_of[item.id], item) for item in items)
    if csat := by_dimension.get(Dimension.CSAT.value):
        csat_value = column_of[csat[0].id]
        # A skipped item is absent from the answers (NULL here): counted in no measure, not as a low score.
        measures[CSAT_PCT] = case((csat_value >= 4, 100.0), (csat_value.is_not(None), 0.0))
        measures[CSAT_MEAN] = csat_value
        measures[CSAT_MEAN + FAVOURABLE] = _favourable(csat_value, csat[0])
    if nps := by_dimension.get(Dimension.NPS.value):
        nps_value = column_of[nps[0].id]
        measures[NPS] = case((nps_value >= 9, 100.0), (nps_value <= 6, -100.0), (nps_value.is_not(None), 0.0))
    if ces := by_dimension.get(Dimension.CES.value):
        measures[CES] = column_of[ces[0].id]
        measures[CES + FAVOURABLE] = _favourable(column_of[ces[0].id], ces[0])
    return measures


def _imported(connection: Connection, result: RoundSums) -> None:
    rows = connection.execute(
        select(
            ExternalFigure.team_id,
            ExternalFigure.metric,
            ExternalFigure.n,
            ExternalFigure.mean,
            ExternalFigure.score,
            ExternalFigure.distribution,
        ).where(ExternalFigure.round_id == result.round_id, ExternalFigure.n > literal(0))
    ).all()
    for row in rows:
        cell = result.imported.setdefault(row.team_id, {})
        for measure, sums in figure_sums(row.metric, row.n, row.mean, row.score, row.distribution).items():
            cell[measure] = cell[measure] + sums if measure in cell else sums


def comments(connection: Connection, round_id: int) -> list[tuple[int, int, str]]:
    """The round's staff comments as (function id, team id, text), in no meaningful order."""
    rows = connection.execute(
        select(InternalReview.function_id, InternalResponse.team_id, InternalReview.comment)
        .join(InternalResponse, InternalResponse.id == InternalReview.response_id)
        .where(InternalResponse.round_id == round_id, InternalReview.comment.is_not(None))
    ).all()
    return [(row.function_id, row.team_id, row.comment) for row in rows if row.comment.strip()]
