"""HR loads customer figures from the company's customer-experience tool: CSAT, NPS and CES per front-line
team and round, as a mean, a score or the distribution of answers."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import func, select

from conftest import start_round
from survey.db.models import ExternalFigure, ImportRun, Unit
from survey.imports.figures import (
    distribution_mean,
    distribution_score,
    import_external_figures,
    parse_distribution,
    parse_number,
    read_figure,
)
from survey.imports.roster import import_roster
from survey.imports.tabular import ImportFile
from survey.vocabulary import Metric

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
HEADER = "team,period,metric,n,mean,score,distribution"


def figures_file(*rows: str, name: str = "figures.csv") -> ImportFile:
    return ImportFile(name, ("\n".join([HEADER, *rows]) + "\n").encode())


def stored(db) -> dict[tuple[str, str], tuple]:
    """(team code, metric) -> (n, mean, score, distribution, source)."""
    with db.session() as session:
        code_of = {u.id: u.code for u in session.exec(select(Unit))}
        return {
            (code_of[f.team_id], f.metric): (f.n, f.mean, f.score, f.distribution, f.source)
            for f in session.exec(select(ExternalFigure))
        }


@pytest.fixture
def a_round(db, org):
    """Teams FL1..FL3 and support functions SF1, SF2 (conftest's org), and a round named 2026 Q4."""
    return start_round(db)


def imported(db, *files, **options):
    report = import_external_figures(db, list(files), actor="hr@example.com", **options)
    assert report.ok, [str(p) for p in report.problems]
    return report


# --- the three forms and what is derived --------------------------------------------------------------------


def test_a_mean_a_score_or_a_distribution_is_stored_with_what_it_gives(db, a_round):
    report = imported(
        db,
        figures_file(
            "FL1,2026 Q4,csat,120,4.2,,",
            "FL1,2026 Q4,nps,96,,32%,",
            "FL1,2026 Q4,ces,,,,1:1 2:2 3:2 4:5 5:10 6:40 7:40",
            "FL2,2026 Q4,csat,,,,1:3 2:5 3:10 4:40 5:42",
            "FL2,2026 Q4,nps,10,,,0:1 6:2 7:2 8:1 9:2 10:2",
            'FL3,2026 Q4,CSAT,200,"4,1",81.5,',
        ),
    )
    assert (report.created, report.replaced, report.unchanged) == (6, 0, 0)
    figures = stored(db)
    assert figures["FL1", "csat"] == (120, 4.2, None, None, "figures.csv")
    assert figures["FL1", "nps"] == (96, None, 32.0, None, "figures.csv")
    assert figures["FL1", "ces"][:3] == (100, 6.01, None)  # CES has no score
    assert figures["FL2", "csat"] == (
        100,
        4.13,
        82.0,
        {"1": 3, "2": 5, "3": 10, "4": 40, "5": 42},
        "figures.csv",
    )
    assert figures["FL2", "nps"][:3] == (10, 7.2, 10.0)  # 40% promoters - 30% detractors
    assert figures["FL3", "csat"][:3] == (200, 4.1, 81.5)
    with db.session() as session:
        run = session.exec(select(ImportRun)).one()
    assert (run.kind, run.source, run.actor) == ("external", "figures.csv", "hr@example.com")
    assert run.details["created"] == 6 and report.import_run_id == run.id


def test_scores_follow_the_industry_definitions():
    assert distribution_score(Metric.CSAT, {1: 10, 3: 10, 4: 30, 5: 50}) == 80.0  # share of 4 and 5
    assert distribution_score(Metric.NPS, {0: 5, 6: 15, 7: 10, 8: 10, 9: 30, 10: 30}) == 40.0
    assert distribution_score(Metric.NPS, {0: 1}) == -100.0
    assert distribution_score(Metric.CES, {7: 3}) is None
    assert distribution_mean({1: 1, 2: 1}) == 1.5


@pytest.mark.parametrize(
    ("text", "value"),
    [("4.2", 4.2), ("4,2", 4.2), ("-12", -12.0), ("\u221212", -12.0), (".5", 0.5), ("7", 7.0)],
)
def test_numbers_are_read_as_people_write_them(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["", "nan", "inf", "1e3", "4.2.1", "1,234,5", "four", "1_000"])
def test_what_is_not_a_plain_number_is_refused(text):
    assert parse_number(text) is None


def test_a_distribution_is_read_leniently_but_checked_strictly():
    assert parse_distribution(" 5:42, 4:40;1:3 ", Metric.CSAT) == {1: 3, 4: 40, 5: 42}
    with pytest.raises(ValueError, match="point 6 is off the CSAT scale 1 to 5"):
        parse_distribution("5:1 6:1", Metric.CSAT)
    with pytest.raises(ValueError, match="point 0 is given twice"):
        parse_distribution("0:1 0:2", Metric.NPS)
    with pytest.raises(ValueError, match="'5-3' is not point:count"):
        parse_distribution("5-3", Metric.CES)
    with pytest.raises(ValueError, match="counts no answers"):
        parse_distribution("1:0 2:0", Metric.CES)


# --- every problem, by line and column ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        (",2026 Q4,csat,10,4,,", "team", "team is empty"),
        ("FL1,,csat,10,4,,", "period", "period is empty"),
        ("FL1,2026 Q4,,10,4,,", "metric", "metric is empty"),
        ("FL1,2026 Q4,effort,10,4,,", "metric", "unknown metric 'effort': use csat, nps or ces"),
        ("FL9,2026 Q4,csat,10,4,,", "team", "no front-line team has the code 'FL9'"),
        ("fl1,2026 Q4,csat,10,4,,", "team", "(did you mean 'FL1'?)"),
        (
            "SF1,2026 Q4,csat,10,4,,",
            "team",
            "'SF1' is a support function; customer figures are for front-line",
        ),
        ("R1,2026 Q4,csat,10,4,,", "team", "'R1' is a group"),
        ("FL1,2026 Q1,csat,10,4,,", "period", "no round is named '2026 Q1': create the round first"),
        ("FL1,2026 q4,csat,10,4,,", "period", "(did you mean '2026 Q4'?)"),
        ("FL1,2026 Q4,csat,10,5.5,,", "mean", "the mean is a number from 1 to 5 (the CSAT scale), not '5.5'"),
        ("FL1,2026 Q4,ces,10,0.5,,", "mean", "the mean is a number from 1 to 7 (the CES scale)"),
        ("FL1,2026 Q4,nps,10,11,,", "mean", "the mean is a number from 0 to 10 (the NPS scale)"),
        ("FL1,2026 Q4,csat,10,high,,", "mean", "not 'high'"),
        ("FL1,2026 Q4,csat,10,,101,", "score", "CSAT% (share of 4 and 5) is a number from 0 to 100"),
        ("FL1,2026 Q4,nps,10,,-101,", "score", "NPS is a number from -100 to 100"),
        ("FL1,2026 Q4,ces,10,,50,", "score", "CES has no score: give its mean or its distribution"),
        ("FL1,2026 Q4,csat,,4.2,,", "n", "n (the number of answers) is needed with a mean or a score"),
        ("FL1,2026 Q4,csat,0,4.2,,", "n", "n must be a whole number from 1 to 10,000,000, not '0'"),
        ("FL1,2026 Q4,csat,12.5,4.2,,", "n", "not '12.5'"),
        ("FL1,2026 Q4,csat," + "9" * 5000 + ",4.2,,", "n", "n must be a whole number"),
        ("FL1,2026 Q4,csat,10,,,", "", "give a mean, a score or a distribution"),
        ("FL1,2026 Q4,csat,10,,,1:3 5:8", "n", "n is 10 but the distribution counts 11 answers"),
        ("FL1,2026 Q4,csat,,4.0,,1:1 5:1", "mean", "the mean is 4 but the distribution gives 3"),
        ("FL1,2026 Q4,csat,,,20,1:1 5:1", "score", "the score is 20 but the distribution gives 50"),
        ("FL1,2026 Q4,csat,,,,1:3 9:8", "distribution", "point 9 is off the CSAT scale 1 to 5"),
    ],
)
def test_each_problem_is_named_by_line_and_column_and_nothing_is_stored(db, a_round, row, column, message):
    report = import_external_figures(db, [figures_file("FL2,2026 Q4,csat,50,4.5,,", row)], actor="hr")
    assert [(p.file, p.line, p.column) for p in report.problems] == [("figures.csv", 3, column)], (
        report.problems
    )
    assert message in report.problems[0].message
    assert report.summary() == "1 problem; nothing was imported."
    assert stored(db) == {}


def test_a_figure_given_twice_in_one_file_is_a_problem(db, a_round):
    report = import_external_figures(
        db,
        [figures_file("FL1,2026 Q4,csat,10,4,,", "FL2,2026 Q4,csat,10,4,,", "FL1,2026 Q4,CSAT,12,3,,")],
        actor="hr",
    )
    assert [str(p) for p in report.problems] == [
        "figures.csv:4: FL1 2026 Q4 csat appears again (first on line 2)"
    ]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("team,period,metric,n", "figures.csv:1: the header needs a mean, score or distribution column"),
        ("team,metric,n,mean", "figures.csv:1: column period: the header has no column period"),
        (
            "team,period,metric,n,mean,nps_score",
            "figures.csv:1: column nps_score: unknown column 'nps_score'",
        ),
    ],
)
def test_a_header_without_the_needed_columns_is_a_problem(db, a_round, header, expected):
    report = import_external_figures(
        db, [ImportFile("figures.csv", f"{header}\nFL1,2026 Q4,csat,10,4\n".encode())], actor="hr"
    )
    assert any(str(p).startswith(expected) for p in report.problems), report.problems
    assert stored(db) == {}


def test_several_bad_rows_are_all_reported(db, a_round):
    report = import_external_figures(
        db,
        [
            figures_file(
                "FL1,2026 Q4,csat,10,9,,",
                "FL2,2026 Q4,nps,10,,,",
                "FL7,2026 Q5,ces,10,5,,",
                "FL3,2026 Q4,ces,10,5,,",
                "FL8,2026 Q4,sat,x,5,,",
            )
        ],
        actor="hr",
    )
    assert [(p.line, p.column) for p in report.problems] == [
        (2, "mean"),
        (3, ""),
        (4, "team"),
        (4, "period"),
        (6, "metric"),
        (6, "team"),
    ]


# --- re-import ----------------------------------------------------------------------------------------------


def test_importing_a_figure_again_replaces_it_and_the_same_file_changes_nothing(db, a_round):
    first = figures_file("FL1,2026 Q4,csat,,,,1:3 2:5 3:10 4:40 5:42", "FL1,2026 Q4,nps,96,,32,")
    imported(db, first)
    again = imported(db, first)
    assert (again.created, again.replaced, again.unchanged) == (0, 0, 2)
    corrected = imported(db, figures_file("FL1,2026 Q4,csat,90,4.4,,", name="corrected.csv"))
    assert (corrected.created, corrected.replaced, corrected.unchanged) == (0, 1, 0)
    figures = stored(db)
    assert figures["FL1", "csat"] == (90, 4.4, None, None, "corrected.csv")  # the distribution went with it
    assert figures["FL1", "nps"][:3] == (96, None, 32.0)  # figures not in the file stay
    with db.session() as session:
        assert session.exec(select(func.count()).select_from(ExternalFigure)).one() == 2
        assert session.exec(select(func.count()).select_from(ImportRun)).one() == 3


def test_a_dry_run_counts_and_writes_nothing(db, a_round):
    report = import_external_figures(db, [figures_file("FL1,2026 Q4,csat,10,4,,")], actor="hr", dry_run=True)
    assert report.ok and not report.applied and report.created == 1
    assert (
        report.summary() == "Dry run, nothing written: external figures: 1 created, 0 replaced, 0 unchanged"
    )
    assert stored(db) == {}


def test_the_example_file_imports_cleanly(db):
    roster = [ImportFile(name, (EXAMPLES / name).read_bytes()) for name in ("units.csv", "employees.csv")]
    assert import_roster(db, roster, actor="hr").ok
    start_round(db, "2026 Q3")
    report = imported(
        db, ImportFile("external_figures.csv", (EXAMPLES / "external_figures.csv").read_bytes())
    )
    assert report.created >= 24
    metrics = {metric for _, metric in stored(db)}
    assert metrics == {"csat", "nps", "ces"}


def test_xlsx_figures_are_read_from_the_first_sheet(db, a_round):
    import io

    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in [
        HEADER.split(","),
        ["FL1", "2026 Q4", "csat", 150, 4.25, None, None],
        ["FL2", "2026 Q4", "nps", 80, None, -12.5],
    ]:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    imported(db, ImportFile("figures.xlsx", buffer.getvalue()))
    assert stored(db)["FL1", "csat"][:3] == (150, 4.25, None)
    assert stored(db)["FL2", "nps"][:3] == (80, None, -12.5)


@given(
    st.sampled_from(list(Metric)),
    st.fixed_dictionaries(
        {},
        optional={
            "n": st.text(max_size=8),
            "mean": st.text(max_size=8) | st.floats().map(str),
            "score": st.text(max_size=8) | st.integers(-200, 200).map(str),
            "distribution": st.text(max_size=30)
            | st.lists(st.tuples(st.integers(-2, 12), st.integers(0, 50)), max_size=12).map(
                lambda pairs: " ".join(f"{p}:{c}" for p, c in pairs)
            ),
        },
    ),
)
def test_any_row_gives_a_figure_within_the_scales_or_problems(metric, cells):
    figure, problems = read_figure(metric, cells)
    assert (figure is None) == bool(problems)
    if figure is not None:
        low, high = {Metric.CSAT: (1, 5), Metric.NPS: (0, 10), Metric.CES: (1, 7)}[metric]
        assert figure.n >= 1
        assert figure.mean is None or low <= figure.mean <= high
        assert figure.score is None or -100 <= figure.score <= 100


# --- the command line ---------------------------------------------------------------------------------------


def test_the_command_lists_every_problem_and_exits_2(run, db, a_round, tmp_path):
    path = tmp_path / "figures.csv"
    path.write_text(f"{HEADER}\nFL1,2026 Q4,csat,10,6,,\nFL9,2026 Q4,nps,10,,20,\n")
    result = run("external", "import", str(path))
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        f"{path}:2: column mean: the mean is a number from 1 to 5 (the CSAT scale), not '6'",
        f"{path}:3: column team: no front-line team has the code 'FL9'",
        "Error: 2 problems; nothing was imported.",
    ]
    assert stored(db) == {}


def test_the_command_imports_and_says_what_changed(run, db, a_round, tmp_path):
    path = tmp_path / "figures.csv"
    path.write_text(f"{HEADER}\nFL1,2026 Q4,csat,10,4,,\n")
    assert run("external", "import", "--dry-run", str(path)).output.startswith("Dry run, nothing written")
    result = run("external", "import", str(path))
    assert result.exit_code == 0 and result.output == "external figures: 1 created, 0 replaced, 0 unchanged\n"
    assert run("external", "import", str(tmp_path / "nope.csv")).output.startswith("Error: cannot read")
