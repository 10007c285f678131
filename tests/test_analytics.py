"""Analytics through the database: SQL sums against an independent Python sum, imported figures merged, results of
closed rounds as the API gives them once computed, and the planted story found by `/api/rounds/{id}/linkage`.
(When results are computed, and that requests never compute them: test_results_ready.py.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from sqlalchemy import delete
from sqlmodel import select

from helpers import compute_results
from simulated import round_sums as python_sums
from survey.accounts.api_tokens import API_SCOPES, create_api_token
from survey.analysis import analytics
from survey.analysis.aggregation import round_sums
from survey.analysis.release import release_round
from survey.db.models import Round, RoundResult, RoundStatus
from survey.demo.build import simulate_into
from survey.demo.simulation import ItemSpec, OrgShape
from survey.imports.figures import import_external_figures
from survey.imports.tabular import ImportFile
from survey.vocabulary import CSAT_MEAN, CSAT_PCT, ONE_SCALE

SMALL = OrgShape(functions=3, teams=12, staff_per_team=8, customers_per_team=25, rounds=3, regions=2)


def _approx(sums):
    return (sums.n, pytest.approx(sums.total), pytest.approx(sums.squares))


def _round_ids(db) -> list[int]:
    with db.session() as session:
        return [r.id for r in session.exec(select(Round).order_by(Round.opens_at))]


def test_sql_sums_equal_a_plain_python_sum_of_the_same_answers(db):
    sim = simulate_into(db, SMALL, seed=3)
    last = _round_ids(db)[-1]
    with db.engine.connect() as connection:
        from_sql = round_sums(connection, last)
    specs = [ItemSpec(i.dimension, i.scale_min, i.scale_max, i.reverse_keyed) for i in sim.items[0]]
    expected = python_sums(
        sim.last_round, last, [f.id for f in sim.functions], [t.id for t in sim.teams], internal_items=specs
    )
    assert (
        set(from_sql.scales) == set(expected.scales) == {ONE_SCALE}
    )  # the demo asks the short questionnaire
    assert from_sql.usage == expected.usage
    assert set(from_sql.internal) == set(expected.internal)
    for key, measures in expected.internal.items():
        assert set(from_sql.internal[key]) == set(measures)
        for measure, sums in measures.items():
            assert _approx(from_sql.internal[key][measure]) == _approx(sums), (key, measure)
    assert set(from_sql.external) == set(expected.external)
    for team, measures in expected.external.items():
        for measure, sums in measures.items():
            assert _approx(from_sql.external[team][measure]) == _approx(sums), (team, measure)
    for dimension, scale in expected.scales.items():
        got = from_sql.scales[dimension]
        assert got.n == scale.n
        assert [_approx(i) for i in got.items] == [_approx(i) for i in scale.items]
        assert _approx(got.totals) == _approx(scale.totals)


def test_reverse_keyed_items_are_turned_round(db):
    """REL2 ("I often have to chase ...") of the full questionnaire is reverse-keyed: a 7 on it counts as a 1."""
    from survey.db.models import Item
    from survey.rounds.lifecycle import create_round
    from survey.surveys.intake import internal_rows, store_internal
    from survey.surveys.questionnaire import Review

    sim = simulate_into(db, SMALL, seed=4)
    now = datetime.now(UTC)
    with db.session() as session:
        a_round = create_round(session, "Extra", now, now + timedelta(days=1), internal_version=1)
        items = session.exec(
            select(Item).where(Item.instrument_id == a_round.internal_instrument_id).order_by(Item.position)
        ).all()
        round_id = a_round.id
    answers = {item.id: (7 if item.code == "REL2" else 6 if item.code == "REL1" else 4) for item in items}
    function, team = sim.functions[0].id, sim.teams[0].id
    with db.write() as connection:
        store_internal(connection, [internal_rows(round_id, team, [Review(function, True, answers)])])
    with db.engine.connect() as connection:
        cell = round_sums(connection, round_id).internal[(function, team)]
    assert cell["reliability"].mean == pytest.approx((6 + 1) / 2)
    assert cell["impact"].mean == 4


def test_imported_figures_merge_with_survey_answers_weighted_by_n(db):
    sim = simulate_into(db, SMALL, seed=5)
    last_id = _round_ids(db)[-1]
    team = sim.teams[0]
    with db.engine.connect() as connection:
        survey = round_sums(connection, last_id).external[team.id]
    assert survey[CSAT_PCT].n >= 5
    csv = (
        "team,period,metric,n,score,distribution\n"
        f"{team.code},{sim.round_names[-1]},csat,100,,1:0 2:10 3:10 4:40 5:40\n"
    )
    report = import_external_figures(db, [ImportFile("figures.csv", csv.encode())], actor="test")
    assert report.ok, report.problems
    with db.engine.connect() as connection:
        merged = release_round(round_sums(connection, last_id), {}, 5).external[team.id]
    n = survey[CSAT_PCT].n
    assert merged[CSAT_PCT].n == n + 100
    assert merged[CSAT_PCT].mean == pytest.approx((survey[CSAT_PCT].total + 80 * 100) / (n + 100))
    total = survey[CSAT_MEAN].total + 2 * 10 + 3 * 10 + 4 * 40 + 5 * 40
    assert merged[CSAT_MEAN].mean == pytest.approx(total / (n + 100))


def test_a_few_survey_answers_are_never_merged_with_a_figure_that_could_be_subtracted(db):
    """4 customers answered the survey and the NPS figure of 100 others was imported: showing the merged NPS
    would give the 4 customers' NPS by subtracting the imported figure. Only the figure is shown."""
    shape = OrgShape(functions=2, teams=3, staff_per_team=6, customers_per_team=0, rounds=3)
    sim = simulate_into(db, shape, seed=13)
    last_id = _round_ids(db)[-1]
    team = sim.teams[0]
    from survey.db.models import Item
    from survey.surveys.intake import external_rows, store_external
    from survey.surveys.questionnaire import CustomerAnswers

    with db.session() as session:
        a_round = session.get(Round, last_id)
        items = session.exec(select(Item).where(Item.instrument_id == a_round.external_instrument_id)).all()
    with db.write() as connection:
        store_external(
            connection,
            [
                external_rows(last_id, team.id, CustomerAnswers({i.id: i.scale_min for i in items}, None))
                for _ in "four"
            ],
        )
    csv = f"team,period,metric,n,score\n{team.code},{sim.round_names[-1]},nps,100,20\n"
    assert import_external_figures(db, [ImportFile("nps.csv", csv.encode())], actor="test").ok
    with db.engine.connect() as connection:
        shown = release_round(round_sums(connection, last_id), {}, 5).external[team.id]["nps"]
    assert (shown.n, shown.mean) == (100, 20)


@pytest.fixture
def token_client(client, db):
    with db.session() as session:
        _, token = create_api_token(session, "analytics", API_SCOPES, None, datetime.now(UTC))
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def test_a_round_keeps_the_unit_tree_it_was_first_shown_with(db, settings, token_client):
    """Moving a team to another region after results were shown must not give a second set of roll-ups that
    could be subtracted from the first."""
    from survey.db.models import Unit

    sim = simulate_into(db, SMALL, seed=9)
    last_id = _round_ids(db)[-1]
    compute_results(db, settings, last_id)
    before = token_client.get(f"/api/rounds/{last_id}/scores").json()
    with db.session() as session:
        team = session.get(Unit, sim.teams[0].id)
        regions = {session.get(Unit, t.id).parent_id for t in sim.teams}
        team.parent_id = next(r for r in regions if r != team.parent_id)
        session.commit()
    csv = f"team,period,metric,n,score\n{sim.teams[1].code},{sim.round_names[-1]},csat,100,50\n"
    assert import_external_figures(db, [ImportFile("f.csv", csv.encode())], actor="test").ok
    compute_results(db, settings, last_id)
    after = token_client.get(f"/api/rounds/{last_id}/scores").json()
    assert after["customers"] != before["customers"]  # computed again, with the figures imported
    assert after["functions"] == before["functions"]
    groups = lambda body: {c["code"]: c["scores"]["ces"] for c in body["customers"] if c["kind"] == "group"}  # noqa: E731
    assert groups(after) == groups(before)  # CES was not imported: its roll-ups use the same tree


def test_a_published_round_says_so_though_its_results_were_stored_when_closed(db, settings, token_client):
    simulate_into(db, SMALL, seed=10)
    last_id = _round_ids(db)[-1]
    compute_results(db, settings, last_id)
    assert token_client.get(f"/api/rounds/{last_id}/scores").json()["round"]["status"] == "closed"
    assert token_client.post(f"/api/rounds/{last_id}/publish").status_code in (200, 201)
    for path in ("scores", "linkage"):
        assert token_client.get(f"/api/rounds/{last_id}/{path}").json()["round"]["status"] == "published"


def test_an_open_round_releases_no_scores(db, token_client):
    simulate_into(db, SMALL, seed=7)
    last_id = _round_ids(db)[-1]
    with db.session() as session:
        session.get(Round, last_id).status = RoundStatus.OPEN
        session.commit()
    for path in ("scores", "linkage"):
        response = token_client.get(f"/api/rounds/{last_id}/{path}")
        assert response.status_code == 409
        assert "released when it closes" in response.json()["detail"]


def test_scores_suppress_small_cells_and_their_complements(db, settings, token_client):
    """Staff of 4 per team: every team cell has fewer than 5 respondents and is suppressed; roll-ups of at least 5
    people are shown only where no team can be worked out from them."""
    shape = OrgShape(functions=2, teams=6, staff_per_team=4, customers_per_team=3, rounds=3, regions=2)
    simulate_into(db, shape, seed=8)
    last_id = _round_ids(db)[-1]
    compute_results(db, settings, last_id)
    body = token_client.get(f"/api/rounds/{last_id}/scores").json()
    for function in body["functions"]:
        for cell in function["cells"]:
            if cell["kind"] == "front_line":
                assert cell["suppressed"] and cell["scores"]["overall"] is None
            if not cell["suppressed"]:
                assert cell["scores"]["overall"]["n"] >= 5
    shown = [s for c in body["customers"] for s in c["scores"].values() if s is not None]
    assert all(s["n"] >= 5 for s in shown)
    assert any(c["suppressed"] for c in body["customers"] if c["kind"] == "front_line")


def test_linkage_finds_the_planted_driver_through_the_api(db, settings, token_client):
    shape = OrgShape(functions=5, teams=40, staff_per_team=12, customers_per_team=120, rounds=4)
    sim = simulate_into(db, shape, seed=11)
    last_id = _round_ids(db)[-1]
    compute_results(db, settings, last_id)
    response = token_client.get(f"/api/rounds/{last_id}/linkage")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["enough_data"] and body["teams"] >= 30
    claimed = {d["function"]["code"]: d for d in body["drivers"] if d["claim"]}
    driver = sim.functions[sim.truth.driver]
    assert set(claimed) == {driver.code}
    assert claimed[driver.code]["claim"] == "precedes"
    assert driver.name in claimed[driver.code]["sentence"]
    planted_teams = {sim.teams[t].code for t in sim.truth.driver_teams}
    named = [h["team"]["code"] for h in body["hotspots"] if h["function"]["code"] == driver.code]
    assert named and sum(code in planted_teams for code in named) / len(named) >= 0.8
    for hotspot in body["hotspots"]:
        assert hotspot["score_n"] >= 5 and hotspot["outcome_n"] >= 5 and hotspot["sentence"]
    tests = body["tests"]
    assert all(0 <= t["q"] <= 1 for t in tests if t["q"] is not None)
    assert token_client.get(f"/api/rounds/{last_id}/linkage?outcome=bogus").status_code == 400


def test_a_linkage_reads_each_round_as_its_scores_were_stored_whoever_computes_it(
    db, settings, token_client, monkeypatch
):
    """Each round's answers are summed once, at its close: a later linkage reads the stored scores, and gives the
    same document as one computed with nothing stored (which sums the rounds and rounds them alike)."""
    shape = OrgShape(functions=4, teams=30, staff_per_team=12, customers_per_team=80, rounds=4)
    simulate_into(db, shape, seed=5)
    last_id = _round_ids(db)[-1]
    compute_results(db, settings)
    served = token_client.get(f"/api/rounds/{last_id}/linkage").json()
    with db.engine.connect() as connection:
        a_round = analytics.released_round(connection, last_id)
        summed = []
        with monkeypatch.context() as patch:
            patch.setattr(analytics, "round_sums", lambda _, round_id, *__, **___: summed.append(round_id))
            from_stored = analytics.compute_linkage(connection, a_round, settings.min_group_size, None)
        assert summed == []  # every round read from its stored scores: nothing summed again
        connection.execute(delete(RoundResult).where(RoundResult.kind.in_(["staff", "customers"])))
        fresh = analytics.compute_linkage(connection, a_round, settings.min_group_size, None)
    assert msgspec.to_builtins(from_stored) == msgspec.to_builtins(fresh)
    assert served["tests"] == msgspec.to_builtins(fresh)["tests"]
    assert served["findings"] == msgspec.to_builtins(fresh)["findings"]


def test_survey_simulate_plants_a_story_that_survey_linkage_tells(run, db, tmp_path):
    truth_file = tmp_path / "truth.json"
    made = run(
        "simulate", "--teams", "40", "--functions", "5", "--customers", "120", "--rounds", "4", "--seed", "11",
        "--truth", str(truth_file),
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    import json

    truth = json.loads(truth_file.read_text())
    assert truth["planted"] and truth["driver"] and len(truth["driver_teams"]) == 8
    not_yet = run("linkage", truth["rounds"][-1])  # the scheduler has not run: nothing computed yet
    assert not_yet.exit_code == 2 and "waiting to be computed" in not_yet.output
    assert f"survey linkage '{truth['rounds'][-1]}' --compute" in not_yet.output
    told = run("linkage", truth["rounds"][-1], "--compute")
    assert told.exit_code == 0, told.output
    assert "results (no results stored yet): computed in" in told.output
    with db.session() as session:
        from survey.db.models import Unit

        driver = session.exec(select(Unit).where(Unit.code == truth["driver"])).one()
    assert f"Shortfalls of {driver.name} precede lower CSAT%" in told.output
    again = run("simulate", "--teams", "10")
    assert again.exit_code == 2 and "already holds an organisation" in again.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("linkage", "no such round"), "no round 'no such round'"),
        (("linkage", "x", "--outcome", "happiness"), "Invalid value for '--outcome'"),
        (("simulate", "--teams", "1"), "Invalid value for '--teams'"),
    ],
)
def test_bad_analytics_arguments_exit_2_and_say_what_is_wrong(run, args, message):
    result = run(*args)
    assert result.exit_code == 2 and message in result.output


def test_without_an_outcome_the_linkage_uses_what_the_imported_figures_hold(db, settings, token_client):
    """Customers answered no survey; another tool's NPS per team and round was imported: the linkage reads NPS."""
    shape = OrgShape(functions=2, teams=12, staff_per_team=12, customers_per_team=0, rounds=3)
    sim = simulate_into(db, shape, seed=12)
    rows = "".join(
        f"{team.code},{name},nps,120,{10 + 3 * index}\n"
        for name in sim.round_names
        for index, team in enumerate(sim.teams)
    )
    report = import_external_figures(
        db, [ImportFile("nps.csv", f"team,period,metric,n,score\n{rows}".encode())], actor="t"
    )
    assert report.ok, report.problems
    compute_results(db, settings, _round_ids(db)[-1])
    body = token_client.get(f"/api/rounds/{_round_ids(db)[-1]}/linkage").json()
    assert body["outcome"]["measure"] == "nps" and body["enough_data"], body["message"]
    assert body["teams"] >= 8


def test_comments_come_in_groups_of_at_least_ten_without_small_teams_named(db, settings, token_client):
    from survey.analysis.aggregation import comments

    shape = OrgShape(functions=3, teams=6, staff_per_team=30, customers_per_team=5, rounds=3)
    simulate_into(db, shape, seed=14)
    last_id = _round_ids(db)[-1]
    compute_results(db, settings, last_id)
    with db.engine.connect() as connection:
        written = comments(connection, last_id)
    body = token_client.get(f"/api/rounds/{last_id}/scores").json()
    assert body["min_comment_group_size"] == 10
    for function in body["functions"]:
        mine = sorted(text for f, _, text in written if f == function["unit_id"])
        shown = [text for group in function["comments"] for text in group["comments"]]
        assert sorted(shown) == (mine if len(mine) >= 10 else [])
        assert all(len(group["comments"]) >= 10 for group in function["comments"])
    assert any(function["comments"] for function in body["functions"])
