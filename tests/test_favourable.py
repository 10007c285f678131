"""The share favourable beside every mean, through the database: summed in the same SQL pass as the other sums and
equal to a count made in Python from the raw answers; "not applicable" neither favourable nor counted; reverse-keyed
items turned round first; released with the mean at every level, and carried nowhere (API, stored results,
report data) where the mean is hidden."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from sqlalchemy import func
from sqlmodel import select

from helpers import compute_results
from simulated import round_sums as python_sums
from survey.accounts.api_tokens import API_SCOPES, create_api_token
from survey.analysis.aggregation import round_sums
from survey.analysis.analytics import VERSION
from survey.analysis.anonymity import TOTAL
from survey.db.models import Item, Round, RoundResult, Unit
from survey.demo.build import simulate_into
from survey.demo.simulation import ItemSpec, OrgShape
from survey.reports.data import round_data
from survey.rounds.lifecycle import create_round
from survey.surveys.intake import internal_rows, store_internal
from survey.surveys.questionnaire import Review
from survey.vocabulary import CES, CSAT_MEAN, CSAT_PCT, DIMENSIONS, IMPACT, NPS, OVERALL, favourable_from

SMALL = OrgShape(functions=3, teams=12, staff_per_team=8, customers_per_team=25, rounds=3, regions=2)
SHARED = (*DIMENSIONS, OVERALL)  # staff's measures with a share favourable


@pytest.fixture
def token_client(client, db):
    with db.session() as session:
        _, token = create_api_token(session, "favourable", API_SCOPES, None, datetime.now(UTC))
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def _last_round(db) -> int:
    with db.session() as session:
        return session.exec(select(Round.id).order_by(Round.opens_at.desc())).first()


def test_favourable_is_the_top_three_of_seven_and_the_top_two_of_five():
    assert favourable_from(1, 7) == 5
    assert favourable_from(1, 5) == 4
    assert favourable_from(1, 4) == 3  # an even number of points: the upper half
    assert favourable_from(1, 6) == 4
    with pytest.raises(ValueError, match="no top"):
        favourable_from(3, 3)


def test_favourable_sums_equal_a_count_made_in_python_and_every_level_shows_its_share(
    db, settings, token_client
):
    sim = simulate_into(db, SMALL, seed=21)
    last = _last_round(db)
    with db.engine.connect() as connection:
        from_sql = round_sums(connection, last)
    specs = [ItemSpec(i.dimension, i.scale_min, i.scale_max, i.reverse_keyed) for i in sim.items[0]]
    teams = [t.id for t in sim.teams]
    expected = python_sums(sim.last_round, last, [f.id for f in sim.functions], teams, internal_items=specs)
    for key, measures in expected.internal.items():
        for measure in SHARED:
            assert from_sql.internal[key][measure].favourable == pytest.approx(measures[measure].favourable)
        assert from_sql.internal[key][IMPACT].favourable is None if IMPACT in measures else True
    for team, measures in expected.external.items():
        for measure in (*DIMENSIONS, CSAT_MEAN, CES):
            assert from_sql.external[team][measure].favourable == pytest.approx(measures[measure].favourable)
        assert (
            from_sql.external[team][CSAT_PCT].favourable is None
            and from_sql.external[team][NPS].favourable is None
        )
        # satisfaction's share favourable (4 or 5 of 5) is its CSAT%
        csat = from_sql.external[team][CSAT_MEAN]
        assert 100 * csat.favourable / csat.n == pytest.approx(from_sql.external[team][CSAT_PCT].mean)

    # Released through the API at every level: each share shown is the pooled share of the teams below it.
    compute_results(db, settings, last)
    body = token_client.get(f"/api/rounds/{last}/scores").json()
    with db.session() as session:
        parent = {u.id: u.parent_id for u in session.exec(select(Unit))}

    def teams_below(unit_id):
        return [t for t in teams if unit_id is None or t == unit_id or parent[t] == unit_id]

    shown = {"front_line": 0, "group": 0, "total": 0}
    for function in body["functions"]:
        for cell in function["cells"]:
            for measure in SHARED:
                figure = cell["scores"][measure]
                if figure is None:
                    continue
                parts = [
                    expected.internal[function["unit_id"], t][measure]
                    for t in teams_below(cell["unit_id"])
                    if (function["unit_id"], t) in expected.internal
                ]
                assert figure["n"] == sum(p.n for p in parts)
                share = 100 * sum(p.favourable for p in parts) / figure["n"]
                assert figure["favourable"] == pytest.approx(share, abs=0.006), (
                    function["code"],
                    cell["code"],
                )
                shown[cell["kind"]] += 1
            assert cell["scores"]["impact"] is None or cell["scores"]["impact"]["favourable"] is None
    for cell in body["customers"]:
        for measure in (*DIMENSIONS, CSAT_MEAN, CES):
            if (figure := cell["scores"][measure]) is not None:
                parts = [
                    expected.external[t][measure]
                    for t in teams_below(cell["unit_id"])
                    if t in expected.external
                ]
                share = 100 * sum(p.favourable for p in parts) / sum(p.n for p in parts)
                assert figure["favourable"] == pytest.approx(share, abs=0.006), (cell["code"], measure)
        assert cell["scores"][NPS] is None or cell["scores"][NPS]["favourable"] is None
    assert all(shown.values()), shown  # teams, groups and the whole each showed shares


def _full_round(db, sim) -> tuple[int, list[Item]]:
    """A round asking the full questionnaire (version 1), with its reverse-keyed items."""
    now = datetime.now(UTC)
    with db.session() as session:
        a_round = create_round(session, "Full", now, now + timedelta(days=1), internal_version=1)
        items = session.exec(
            select(Item).where(Item.instrument_id == a_round.internal_instrument_id).order_by(Item.position)
        ).all()
        return a_round.id, list(items)


def test_not_applicable_is_neither_favourable_nor_counted_and_reverse_keyed_items_are_turned_round(db):
    sim = simulate_into(db, SMALL, seed=22)
    round_id, items = _full_round(db, sim)
    code = {item.code: item.id for item in items}
    # REL1 (positive) 6: favourable; REL2 ("I often have to chase them", reverse-keyed) 7: scored 1, unfavourable.
    # RES1 6, RES2 "not applicable": the dimension's one scored answer is favourable. ASS1 and ASS2 both 2, EMP
    # 5 and 3, TAN1 7 and TAN2 (reverse-keyed) 2, scored 6: both favourable.
    answers = {
        code["REL1"]: 6, code["REL2"]: 7, code["RES1"]: 6, code["RES2"]: None, code["ASS1"]: 2,
        code["ASS2"]: 2, code["EMP1"]: 5, code["EMP2"]: 3, code["TAN1"]: 7, code["TAN2"]: 2, code["IMP1"]: 6,
    }  # fmt: skip
    function, team = sim.functions[0].id, sim.teams[0].id
    with db.write() as connection:
        store_internal(connection, [internal_rows(round_id, team, [Review(function, True, answers)])])
    with db.engine.connect() as connection:
        cell = round_sums(connection, round_id).internal[(function, team)]
    shares = {m: cell[m].favourable / cell[m].n for m in SHARED}
    assert shares == {
        "reliability": 0.5,
        "responsiveness": 1.0,  # not 0.5: the "not applicable" is not counted against it
        "assurance": 0.0,
        "empathy": 0.5,
        "tangibles": 1.0,  # the reverse-keyed 2 counts as a 6
        OVERALL: pytest.approx((0.5 + 1.0 + 0.0 + 0.5 + 1.0) / 5),
    }
    assert cell[IMPACT].favourable is None
    # Someone who answered "not applicable" to both responsiveness items has no responsiveness score and no share.
    answers |= {code["RES1"]: None}
    with db.write() as connection:
        store_internal(connection, [internal_rows(round_id, team, [Review(function, True, answers)])])
    with db.engine.connect() as connection:
        cell = round_sums(connection, round_id).internal[(function, team)]
    assert (cell["responsiveness"].n, cell["responsiveness"].favourable) == (1, 1.0)
    assert (cell["reliability"].n, cell["reliability"].favourable) == (2, 1.0)


def test_a_hidden_cell_carries_no_share_in_the_api_the_stored_results_or_the_report_data(
    db, settings, token_client
):
    """Staff of 4 per team: every team's cell is hidden, and so is its share, wherever the results go."""
    shape = OrgShape(functions=2, teams=6, staff_per_team=4, customers_per_team=3, rounds=3, regions=2)
    simulate_into(db, shape, seed=23)
    last = _last_round(db)
    compute_results(db, settings, last)
    body = token_client.get(f"/api/rounds/{last}/scores").json()
    with db.session() as session:
        stored = session.exec(
            select(RoundResult.payload).where(RoundResult.round_id == last, RoundResult.kind == "staff")
        ).one()
    data = round_data(db, last, settings)
    gathered = msgspec.to_builtins(data.scores)
    hidden = shown = 0
    for source in (body["functions"], stored["functions"], gathered["functions"]):
        for function in source:
            for cell in function["cells"]:
                for measure in SHARED:
                    figure = cell["scores"][measure]
                    if cell["kind"] == "front_line":
                        assert figure is None  # no n, no mean, no share
                        hidden += 1
                    elif figure is not None:
                        assert figure["n"] >= 5 and figure["favourable"] is not None
                        shown += 1
    assert hidden and shown
    # What the API says the field is.
    schema = token_client.get("/schema/openapi.json").json()
    described = schema["components"]["schemas"]["Figure"]["properties"]["favourable"]
    assert (
        "share favourable" in described["description"]
        and "released with the mean" in described["description"]
    )


def test_stored_results_of_the_previous_version_are_computed_again(db, settings, token_client):
    """Results stored before the share favourable existed (version 5) have no share: they are not shown as the
    current ones, and the results work computes them again with it."""
    simulate_into(db, SMALL, seed=24)
    last = _last_round(db)
    compute_results(db, settings, last)
    with db.write() as connection:
        connection.execute(
            RoundResult.__table__.update()
            .where(RoundResult.round_id == last, RoundResult.kind != "tree")
            .values(key=func.replace(RoundResult.key, f"v{VERSION} ", "v5 "))
        )
    assert token_client.get(f"/api/rounds/{last}/scores").status_code == 409
    compute_results(db, settings)
    body = token_client.get(f"/api/rounds/{last}/scores").json()
    total = next(c for f in body["functions"] for c in f["cells"] if c["kind"] == TOTAL)
    assert total["scores"][OVERALL]["favourable"] is not None
