"""PDF reports: what they say (read back from the PDFs as text), that nothing suppressed gets in, that user text
stays text and fetches nothing, who may download which, and that the same data gives the same file."""

from __future__ import annotations

import dataclasses
import io
import re
from datetime import UTC, datetime

import msgspec
import pytest
from pypdf import PdfReader
from sqlalchemy import update
from sqlmodel import select

from helpers import PASSWORD, compute_results, log_in
from survey.accounts.api_tokens import API_SCOPES, create_api_token
from survey.accounts.users import create_user
from survey.analysis import analytics
from survey.analysis.results import Linkage
from survey.db.models import InternalResponse, InternalReview, Role, Round, RoundStatus, Unit
from survey.demo.build import simulate_into
from survey.demo.simulation import OrgShape
from survey.reports.catalogue import FUNCTION, ORGANISATION, TEAM, ReportRef, report_by_code, round_reports
from survey.reports.data import round_data
from survey.reports.render import ASSETS, _fetcher, render_html, render_pdf, report_context
from survey.rounds.lifecycle import advance_round

# Small enough to render quickly, large enough for the linkage to have teams to read (and for some cells to be
# suppressed: 6 staff per team, about 78% answer, and not all use every function).
SHAPE = OrgShape(functions=3, teams=10, staff_per_team=6, customers_per_team=30, rounds=3, regions=2)
HOSTILE = '<img src="file:///etc/passwd"> <b>bold</b> <script>alert(1)</script> & "quotes"'


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def printed_ns(text: str) -> list[int]:
    """Every n a report prints next to a figure: "n = 12", "(n 12)", "n 12"."""
    return [int(n) for n in re.findall(r"\bn\s*=?\s*(\d+)", text)]


@pytest.fixture
def written(db):
    """The rounds, closed, their results not computed yet."""
    sim = simulate_into(db, SHAPE, seed=21)
    with db.session() as session:
        rounds = session.exec(select(Round).order_by(Round.opens_at)).all()
        latest = rounds[-1]
    return sim, latest.id


@pytest.fixture
def simulated(db, settings, written):
    """The rounds, closed, with their results computed as the scheduler does (reports show trends over them)."""
    compute_results(db, settings)
    return written


def publish(db, round_id: int) -> None:
    with db.session() as session:
        advance_round(session, session.get(Round, round_id), RoundStatus.PUBLISHED)


def render(db, settings, round_id: int, code: str | None) -> bytes:
    with db.session() as session:
        ref = report_by_code(session, session.get(Round, round_id), code)
    return render_pdf(report_context(round_data(db, round_id, settings), ref))


def test_every_report_of_a_round_says_what_the_released_scores_say(db, settings, simulated):
    _, round_id = simulated
    scores = analytics.scores(db, round_id, settings.min_group_size, settings.min_comment_group_size)
    with db.session() as session:
        refs = round_reports(session, session.get(Round, round_id))
    kinds = [ref.kind for ref in refs]
    assert kinds.count("function") == SHAPE.functions and kinds.count("team") == SHAPE.teams
    assert kinds.count("organisation") == 1 + SHAPE.regions

    function = scores.functions[0]
    total = function.score(None, "overall")
    text = pdf_text(render(db, settings, round_id, function.code))
    assert f"Staff rate {function.name} {total.mean:.1f}" in text
    assert f"{total.n} staff who used {function.name}" in text
    assert "What to do" in text and "Comments" in text
    # Every team is in the heat map, by name, with its scores or marked hidden.
    for cell in function.cells:
        assert cell.name in text
    assert all(n >= settings.min_group_size for n in printed_ns(text))


def test_no_suppressed_figure_reaches_a_report(db, settings, simulated):
    """A team whose ratings of a function are suppressed appears as "hidden", and no figure resting on fewer
    than k people is printed anywhere, in any report of the round."""
    _, round_id = simulated
    scores = analytics.scores(db, round_id, settings.min_group_size, settings.min_comment_group_size)
    suppressed = [(f, c) for f in scores.functions for c in f.teams if c.suppressed]
    assert suppressed, "the shape is meant to leave some cells suppressed"
    function, cell = suppressed[0]
    team_text = pdf_text(render(db, settings, round_id, cell.code))
    row = next(line for line in team_text.splitlines() if line.startswith(function.name))
    assert "hidden" in row
    for code in [None, function.code, cell.code]:
        text = pdf_text(render(db, settings, round_id, code))
        assert all(n >= settings.min_group_size for n in printed_ns(text)), code
        assert "suppressed" not in text, code  # one word for it everywhere a head reads: the pages' "hidden"


def test_a_hostile_comment_comes_out_as_plain_text_and_fetches_nothing(db, settings, written):
    sim, round_id = written
    function_id = sim.functions[0].id
    with db.write() as connection:  # every comment on the function says the same hostile thing
        connection.execute(
            update(InternalReview)
            .where(
                InternalReview.function_id == function_id,
                InternalReview.used,
                InternalReview.response_id.in_(
                    select(InternalResponse.id).where(InternalResponse.round_id == round_id)
                ),
            )
            .values(comment=HOSTILE)
        )
    compute_results(db, settings)
    pdf = render(db, settings, round_id, sim.functions[0].code)
    text = pdf_text(pdf)
    assert '<img src="file:///etc/passwd">' in text.replace("\n", " ")
    assert "<script>alert(1)</script>" in text.replace("\n", " ")
    assert b"root:x:0:0" not in pdf


def test_the_renderer_fetches_only_the_reports_own_assets():
    fetcher = _fetcher()
    with pytest.raises(ValueError):
        fetcher("file:///etc/passwd")
    with pytest.raises(ValueError):
        fetcher(f"file://{ASSETS}/../pyproject.toml")
    with pytest.raises(ValueError):
        fetcher("http://127.0.0.1:9/anything")
    response = fetcher(f"file://{ASSETS}/report.css")
    assert b"@font-face" in response.read()
    response.close()


def test_the_same_data_gives_the_same_pdf_tagged_a4_with_fonts_embedded(db, settings, simulated):
    sim, round_id = simulated
    code = sim.functions[1].code
    first, second = render(db, settings, round_id, code), render(db, settings, round_id, code)
    assert first == second
    reader = PdfReader(io.BytesIO(first))
    with db.session() as session:
        closes = session.get(Round, round_id).closes_at
    assert reader.metadata.creation_date.replace(tzinfo=UTC) == closes.replace(microsecond=0)
    for page in reader.pages:
        assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)
    fonts = [font.get_object() for page in reader.pages for font in page["/Resources"]["/Font"].values()]
    assert fonts and all(
        "/FontFile2" in f["/DescendantFonts"][0].get_object()["/FontDescriptor"]
        for f in fonts
        if "/DescendantFonts" in f
    )
    # every font is ours (reports/fonts), the charts' text included: the same file on every machine
    names = {str(f["/BaseFont"]) for f in fonts}
    assert names and all(name.split("+")[-1].startswith("/Report") or "Report" in name for name in names), (
        names
    )
    root = reader.trailer["/Root"]
    assert "/StructTreeRoot" in root and root["/MarkInfo"]["/Marked"]


# --- Access -------------------------------------------------------------------------------------------------------


@pytest.fixture
def heads(db, simulated):
    sim, round_id = simulated
    with db.session() as session:
        first, second = sim.teams[0].code, sim.teams[1].code
        create_user(session, "first.head@example.com", "First Head", Role.HEAD, [first], password=PASSWORD)
        create_user(session, "second.head@example.com", "Second Head", Role.HEAD, [second], password=PASSWORD)
        create_user(session, "exec@example.com", "Exec", Role.EXECUTIVE, [], password=PASSWORD)
        create_user(session, "hr@example.com", "HR", Role.HR, [], password=PASSWORD)
    return sim.teams[0].id, sim.teams[1].id, round_id


def test_a_head_downloads_their_own_report_and_not_another_heads(db, client, heads):
    own, other, round_id = heads
    publish(db, round_id)
    log_in(client, "first.head@example.com")
    mine = client.get(f"/reports/{round_id}/{own}/pdf")
    assert mine.status_code == 200 and mine.headers["content-type"] == "application/pdf"
    assert mine.content.startswith(b"%PDF")
    assert client.get(f"/reports/{round_id}/{own}/html").status_code == 200
    for path in (f"{other}/pdf", f"{other}/html", "organisation/pdf", "999999/pdf", "nonsense/pdf"):
        assert client.get(f"/reports/{round_id}/{path}").status_code == 404, path
    listing = client.get("/reports").text
    assert f"/reports/{round_id}/{own}/pdf" in listing and f"/reports/{round_id}/{other}/pdf" not in listing


def test_reports_are_visible_to_heads_and_executives_once_published_and_to_hr_from_close(db, client, heads):
    own, other, round_id = heads
    log_in(client, "first.head@example.com")
    assert client.get(f"/reports/{round_id}/{own}/pdf").status_code == 404
    client.post("/logout", data={})
    log_in(client, "exec@example.com")
    assert client.get(f"/reports/{round_id}/organisation/pdf").status_code == 404
    client.cookies.clear()
    log_in(client, "hr@example.com")
    assert client.get(f"/reports/{round_id}/organisation/pdf").status_code == 200
    publish(db, round_id)
    client.cookies.clear()
    log_in(client, "exec@example.com")
    for path in ("organisation", own, other):
        assert client.get(f"/reports/{round_id}/{path}/pdf").status_code == 200


def test_reports_need_an_account(client, heads):
    own, _, round_id = heads
    response = client.get(f"/reports/{round_id}/{own}/pdf", follow_redirects=False)
    assert response.status_code in (302, 303, 401)


def test_the_api_lists_and_serves_a_published_rounds_reports(db, client, heads):
    own, _, round_id = heads
    with db.session() as session:
        _, token = create_api_token(session, "reader", ["reports:read"], None, datetime.now(UTC))
        _, other_token = create_api_token(
            session, "other", [s for s in API_SCOPES if s != "reports:read"], None, datetime.now(UTC)
        )
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(f"/api/rounds/{round_id}/reports", headers=headers).status_code == 409
    publish(db, round_id)
    listing = client.get(f"/api/rounds/{round_id}/reports", headers=headers).json()
    assert {r["unit_id"] for r in listing} >= {None, own}
    pdf = client.get(f"/api/rounds/{round_id}/reports/{own}", headers=headers)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert client.get(f"/api/rounds/{round_id}/reports/424242", headers=headers).status_code == 404
    denied = client.get(f"/api/rounds/{round_id}/reports", headers={"Authorization": f"Bearer {other_token}"})
    assert denied.status_code == 403


def test_the_assets_route_serves_the_stylesheet_and_fonts_only(client, heads):
    log_in(client, "hr@example.com")
    css = client.get("/reports/assets/report.css")  # a browser (nosniff) applies only what says text/css
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert client.get("/reports/assets/fonts/DejaVuSansCondensed.ttf").status_code == 200
    for name in (
        "function.html",
        "_base.html",
        "../pyproject.toml",
        "fonts/LICENSE",
        "%2e%2e/README.md",
        "report.css%0A",
        "fonts/Nope.ttf",
    ):
        assert client.get(f"/reports/assets/{name}").status_code == 404, name


# --- Command line -------------------------------------------------------------------------------------------------


def test_survey_report_and_survey_reports_write_pdfs(run, simulated, tmp_path, db):
    sim, round_id = simulated
    with db.session() as session:
        name = session.get(Round, round_id).name
        team = session.exec(select(Unit).where(Unit.id == sim.teams[2].id)).one()
    result = run("report", name, "--unit", team.code, "-o", str(tmp_path / "team.pdf"))
    assert result.exit_code == 0, result.output
    assert team.name in pdf_text((tmp_path / "team.pdf").read_bytes())
    result = run("reports", str(round_id), "-o", str(tmp_path / "all"), "--workers", "2")
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in (tmp_path / "all").iterdir())
    assert len(written) == 1 + SHAPE.regions + SHAPE.functions + SHAPE.teams
    assert "organisation.pdf" in written and f"{team.code}.pdf" in written


@pytest.mark.parametrize(
    "args, message",
    [
        (["report", "no such round", "-o", "x.pdf"], "no round"),
        (["report", "1", "--unit", "NOPE", "-o", "x.pdf"], "no unit with the code 'nope'"),
        (["report", "1", "-o", "/no/such/folder/x.pdf"], "does not exist"),
        (["reports", "no such round", "-o", "out"], "no round"),
    ],
)
def test_bad_report_arguments_exit_2_and_say_what_is_wrong(
    run, simulated, args, message, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    result = run(*args)
    assert result.exit_code == 2 and message in result.output.lower().replace("\n", " "), result.output


def _naming(function: dict, first, names: dict, data) -> tuple[list, list]:
    """A hotspot at the first team, and an ongoing and an ended finding naming every team."""
    shift = {
        "team": {"id": first.id, "code": first.code, "name": first.name},
        "since": data.scores.round.name,
        **dict.fromkeys(("score_before", "score", "outcome_before", "outcome", "outcome_shift"), 1.0),
        **{"score_n": 6, "outcome_n": 30},
    }
    hotspots = [
        {"function": function, "measure": "overall", **shift, "sentence": f"{first.name} rates it low."}
    ]
    findings = [
        {
            "function": function,
            "measure": "overall",
            "status": status,
            "claim": "precedes",
            "since": data.scores.round.name,
            "teams": [shift],
            **dict.fromkeys(("effect", "low", "high", "q"), -1.0),
            "n": 30,
            "sentence": "Since then " + ", ".join(names.values()) + " rate it lower.",
        }
        for status in ("ongoing", "ended")
    ]
    return hotspots, findings


def test_a_team_or_regional_report_names_no_team_outside_its_reader_s_units(db, settings, simulated):
    """A team head reads the organisation's drivers with their evidence, but not which other teams' ratings
    fell: the driver sentences that list them, and other teams' hotspots, go to function heads and executives
    only. (The small round has too few teams for a linkage: a claim naming every team is put in its results.)"""
    sim, round_id = simulated
    data = round_data(db, round_id, settings)
    names = {t.code: t.name for t in sim.teams}
    function, first = sim.functions[0], sim.teams[0]
    test = {
        "function": function.code,
        "measure": "overall",
        "n": 10,
        "effect": -5.0,
        "low": -8.0,
        "high": -2.0,
        "p": 0.01,
        "q": 0.05,
    }
    linkage = msgspec.to_builtins(data.linkage)
    linkage.update(enough_data=True, r2=0.3)
    linkage["drivers"] = [
        {
            "function": {"id": function.id, "code": function.code, "name": function.name},
            "measure": "overall",
            "claim": "precedes",
            **{"weight": 0.5, "weight_low": 0.1, "weight_high": 0.8, "n": 10},
            "tests": {
                "same_round": {
                    **test,
                    "kind": "same_round",
                    "effect": 0.5,
                    "low": 0.2,
                    "high": 0.7,
                    "flagged": [],
                },
                "lagged": None,
                "reverse": None,
                "change": {**test, "kind": "change", "flagged": list(names)},
            },
            "sentence": "Teams " + ", ".join(names.values()) + " fell.",
        }
    ]
    linkage["hotspots"], linkage["findings"] = _naming(linkage["drivers"][0]["function"], first, names, data)
    data = dataclasses.replace(data, linkage=msgspec.convert(linkage, Linkage))
    with db.session() as session:
        refs = round_reports(session, session.get(Round, round_id))
        parent = {u.code: u.parent_id for u in session.exec(select(Unit))}
        codes = {u.id: u.code for u in session.exec(select(Unit))}
    for ref in refs:
        html = render_html(report_context(data, ref), "report.css")
        if ref.kind == FUNCTION or ref.unit_id is None:
            assert all(name in html for name in names.values()), ref.code  # function heads, executives: all
            continue
        mine = {ref.code} if ref.kind == TEAM else {c for c in names if codes.get(parent[c]) == ref.code}
        if ref.kind == ORGANISATION:  # a region's report gives the drivers' evidence, without names
            assert "across the organisation, the customers of the 10 teams whose rating" in html.lower(), (
                ref.code
            )
        for code, name in names.items():
            assert (name in html) == (code in mine), (ref.code, name)


def test_survey_reports_into_a_path_that_cannot_be_a_folder_exits_2(run, simulated, tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    result = run("reports", str(simulated[1]), "-o", str(tmp_path / "a-file" / "reports"))
    assert result.exit_code == 2 and "cannot write into" in result.output and "Traceback" not in result.output
    result = run("reports", str(simulated[1]), "-o", str(tmp_path / "a-file"))
    assert result.exit_code == 2 and "is a file" in result.output


def test_kept_reports_are_named_by_unit_id_so_two_codes_alike_never_share_a_file():
    first = ReportRef(1, 4, "_x", "First", TEAM)
    second = ReportRef(1, 9, "x-4", "Second", TEAM)
    assert first.filename == second.filename == "x-4.pdf"  # safe names of two different codes can meet
    assert first.cache_name != second.cache_name


def test_a_team_without_results_still_gets_its_report(db, settings, client, simulated):
    """A team taking part whose staff were not invited and whose customers did not answer: its report says
    nothing could be shown, on every route, instead of failing."""
    from survey.db.models import RoundUnit

    sim, round_id = simulated
    with db.session() as session:
        empty = Unit(code="EMPTY", name="Empty store", kind="front_line", parent_id=sim.teams[0].parent_id)
        session.add(empty)
        session.flush()
        session.add(RoundUnit(round_id=round_id, unit_id=empty.id))
        session.commit()
        empty_id = empty.id
        create_user(session, "empty.head@example.com", "Empty Head", Role.HEAD, ["EMPTY"], password=PASSWORD)
    text = pdf_text(render(db, settings, round_id, "EMPTY"))
    assert "Empty store" in text and "not shown this round" in text
    publish(db, round_id)
    log_in(client, "empty.head@example.com")
    assert client.get(f"/reports/{round_id}/{empty_id}/pdf").status_code == 200
    assert client.get(f"/reports/{round_id}/{empty_id}/html").status_code == 200
