"""The short default instrument (migration 0009) beside the full one, and "not applicable" answers (JSON null)
counted but never scored: in every mean, spread and n the SQL sums give, and in the scales' reliability."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlmodel import select

from survey.analysis.aggregation import round_sums
from survey.analysis.analytics import asked_measures
from survey.analysis.release import _alpha
from survey.analysis.results import FunctionScores
from survey.db.models import Instrument, Item, Round, SurveyKind
from survey.reports.content.function import _dimension_rows
from survey.rounds.lifecycle import RoundError, create_round
from survey.surveys.intake import internal_rows, store_internal
from survey.surveys.questionnaire import Review
from survey.vocabulary import DIMENSIONS, IMPACT, MEASURE_LABELS, ONE_SCALE, OVERALL, SERVQUAL


def _round(db, name: str, version: int | None = None) -> tuple[int, dict[str, int]]:
    """A new round (on the questionnaire version given, default the newest) and its internal items by code."""
    now = datetime.now(UTC)
    with db.session() as session:
        a_round = create_round(
            session, name, now - timedelta(days=1), now + timedelta(days=6), internal_version=version
        )
        items = session.exec(select(Item).where(Item.instrument_id == a_round.internal_instrument_id)).all()
        return a_round.id, {item.code: item.id for item in items}


def _store(db, round_id: int, team: int, function: int, answers: list[dict[int, int | None]]) -> None:
    with db.write() as connection:
        store_internal(
            connection,
            [internal_rows(round_id, team, [Review(function, True, a)]) for a in answers],  # type: ignore[arg-type]
        )


def test_new_rounds_ask_the_short_questionnaire_one_positive_item_per_dimension_and_an_overall(db, org):
    with db.session() as session:
        internal = session.exec(
            select(Instrument).where(Instrument.kind == SurveyKind.INTERNAL).order_by(Instrument.version)
        ).all()
        assert [i.version for i in internal] == [1, 2]
        items = session.exec(
            select(Item).where(Item.instrument_id == internal[-1].id).order_by(Item.position)
        ).all()
    assert [item.dimension for item in items] == [*(d.value for d in SERVQUAL), "overall"]
    assert not any(item.reverse_keyed for item in items)
    assert all("{function}" in item.wording for item in items)
    assert not any(word in item.wording for item in items for word in ("stock", "equipment", "problems"))
    _, codes = _round(db, "Default")
    assert set(codes) == {"REL", "RES", "ASS", "EMP", "TAN", "OVR"}


def test_a_round_can_still_ask_the_full_questionnaire_and_an_unknown_version_is_refused(db, org):
    round_id, codes = _round(db, "Full", version=1)
    assert len(codes) == 11
    # REL2, RES2 and TAN2 are reverse-keyed: a 1 scores as 7, a 5 as 3.
    full = dict.fromkeys(codes, 5) | {"REL2": 1, "IMP1": 2}
    _store(db, round_id, org.teams[0], org.functions[0], [{codes[c]: v for c, v in full.items()}] * 2)
    with db.engine.connect() as connection:
        sums = round_sums(connection, round_id)
    cell = sums.internal[(org.functions[0], org.teams[0])]
    assert (
        cell["reliability"].mean == 6
        and cell[OVERALL].mean == pytest.approx((6 + 4 + 5 + 5 + 4) / 5)
        and cell[IMPACT].mean == 2
    )
    assert set(sums.scales) == {d.value for d in SERVQUAL}  # per dimension: two items each
    with (
        db.session() as session,
        pytest.raises(RoundError, match=r"no employee questionnaire version 7; the versions are 1, 2"),
    ):
        create_round(
            session, "Bad", datetime.now(UTC), datetime.now(UTC) + timedelta(days=3), internal_version=7
        )


def test_not_applicable_is_counted_in_the_usage_but_left_out_of_every_mean_and_n(db, org):
    round_id, codes = _round(db, "Short")
    function, team = org.functions[0], org.teams[0]
    rows = [
        {"REL": 7, "RES": 6, "ASS": 5, "EMP": 4, "TAN": None, "OVR": 6},
        {"REL": 5, "RES": None, "ASS": 5, "EMP": 6, "TAN": None, "OVR": None},
        {"REL": None, "RES": None, "ASS": None, "EMP": None, "TAN": None, "OVR": None},
    ]
    _store(db, round_id, team, function, [{codes[c]: v for c, v in row.items()} for row in rows])
    with db.engine.connect() as connection:
        sums = round_sums(connection, round_id)
    cell = sums.internal[(function, team)]
    assert sums.usage[(function, team)] == (3, 3)  # everyone answered and used it; N/A is an answer
    assert (cell["reliability"].n, cell["reliability"].total, cell["reliability"].squares) == (2, 12, 74)
    assert (cell["responsiveness"].n, cell["responsiveness"].mean) == (1, 6)
    assert "tangibles" not in cell  # everyone said not applicable: no score at all, not a 0
    # the overall score: the mean of the dimensions answered and the overall rating, each weighing one
    assert cell[OVERALL].n == 2 and cell[OVERALL].total == pytest.approx(
        (7 + 6 + 5 + 4 + 6) / 5 + (5 + 5 + 6) / 3
    )
    assert IMPACT not in cell  # the short questionnaire has no harm item


def test_a_dimension_score_is_the_mean_of_the_items_answered_and_the_overall_of_the_dimensions_answered(
    db, org
):
    round_id, codes = _round(db, "Full", version=1)
    answers = {codes[c]: 4 for c in codes} | {codes["REL1"]: 6, codes["REL2"]: None, codes["TAN1"]: None}
    answers[codes["TAN2"]] = None  # tangibles: both items not applicable
    _store(db, round_id, org.teams[0], org.functions[0], [answers])
    with db.engine.connect() as connection:
        cell = round_sums(connection, round_id).internal[(org.functions[0], org.teams[0])]
    assert cell["reliability"].mean == 6  # REL1 alone, not (6 + 0) / 2 or nothing
    assert "tangibles" not in cell
    assert cell[OVERALL].mean == pytest.approx((6 + 4 + 4 + 4) / 4)  # the four dimensions answered


def test_with_one_item_per_dimension_reliability_is_computed_over_the_functions_items_as_one_scale(db, org):
    round_id, codes = _round(db, "Short")
    rng = np.random.default_rng(1)
    dimension_codes = ["REL", "RES", "ASS", "EMP", "TAN"]
    latent = rng.normal(5, 1, size=(40, 1)) + rng.normal(0, 0.7, size=(40, 5))
    values = np.clip(np.rint(latent), 1, 7).astype(int)
    rows = [{codes[c]: int(v) for c, v in zip(dimension_codes, row, strict=True)} for row in values]
    rows[0][codes["EMP"]] = None  # left out of the scale: it has no total over the five items
    for i, row in enumerate(rows):
        row[codes["OVR"]] = 5
        _store(db, round_id, org.teams[i % 3], org.functions[i % 2], [row])
    with db.engine.connect() as connection:
        scales = round_sums(connection, round_id).scales
    assert set(scales) == {ONE_SCALE}
    complete = values[1:]
    expected = 5 / 4 * (1 - complete.var(axis=0, ddof=1).sum() / complete.sum(axis=1).var(ddof=1))
    assert scales[ONE_SCALE].n == 39
    assert _alpha(scales[ONE_SCALE]) == pytest.approx(expected)


def test_a_functions_report_says_in_plain_words_how_many_answered_not_applicable():
    from survey.analysis.results import Figure, ScoreCell, StaffScores, Usage
    from survey.reports.content.function import DimensionRow, not_applicable_sentence

    def row(label: str, n: int | None) -> DimensionRow:
        shown = None if n is None else Figure(n, 5.0, 1.0)
        return DimensionRow(label.lower(), label, shown, None, None, None)

    total = ScoreCell(None, None, "All teams", "total", False, StaffScores(), Usage(30, 24))
    rows = [row("Overall", 24), row("Reliability", 24), row("Tangibles", 17), row("Empathy", None)]
    assert not_applicable_sentence(total, rows, "Payroll") == (
        'Of the 24 staff who used Payroll, some answered "not applicable / don\'t know", which is counted but not '
        "scored: 7 for tangibles."
    )
    assert not_applicable_sentence(total, rows[:2], "Payroll") is None


def test_a_short_round_shows_no_harm_row_and_a_full_round_does(db, org):
    """The short questionnaire asks no harm item: its rounds' scores list the measures asked, so pages and reports
    show no "Harm" row that would read as hidden; a round on the full questionnaire still has it."""
    short_id, _ = _round(db, "2026 Q2")
    full_id, _ = _round(db, "2026 Q3", version=1)
    with db.engine.connect() as connection, db.session() as session:
        short = asked_measures(connection, session.get(Round, short_id).internal_instrument_id)
        full = asked_measures(connection, session.get(Round, full_id).internal_instrument_id)
    assert IMPACT not in short and short[0] == OVERALL and len(short) == 6
    assert full == [*short, IMPACT]
    function = FunctionScores(1, "SF01", "Payroll", "support", cells=[], comments=[])
    assert [row.label for row in _dimension_rows(function, None, short)] == [
        MEASURE_LABELS[measure] for measure in (OVERALL, *DIMENSIONS)
    ]  # no "Problems passed on to customers" row
