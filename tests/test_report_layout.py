"""The reports' layout, read back from the PDFs and from WeasyPrint's layout boxes, as a head reading them on
paper would check it: no word beyond the page's edge, no figure running out of its table cell or a picture off
the bottom of its page, page 1 well filled, every team of a list named (none cut with "..."), and every line of
a trend chart named. For a round of the demo's shape, and for a large one (64 teams, 10 functions), whose
tables and heat maps run over several pages."""

from __future__ import annotations

import base64
import itertools
import re
import subprocess
import xml.etree.ElementTree as ET

import pytest
from sqlmodel import select

from helpers import compute_results
from survey.db.models import Round
from survey.demo.build import simulate_into
from survey.demo.simulation import OrgShape
from survey.reports.catalogue import FUNCTION, ORGANISATION, TEAM, round_reports
from survey.reports.data import round_data
from survey.reports.render import ASSETS, STYLESHEET, _fetcher, render_html, render_pdf, report_context

MM = 72 / 25.4  # points in a millimetre
A4 = (210 * MM, 297 * MM)
MARGINS = {"top": 18 * MM, "right": 18 * MM, "bottom": 20 * MM, "left": 18 * MM}  # report.css's @page
SLACK = 0.5  # pt: rounding of positions
SHAPES = {
    "demo": OrgShape(functions=7, teams=12, staff_per_team=7, customers_per_team=40, rounds=4, regions=3),
    # many teams and functions: the heat maps run over pages and the tables are at their widest
    "large": OrgShape(functions=10, teams=64, staff_per_team=6, customers_per_team=30, rounds=3, regions=4),
}


@pytest.fixture(params=list(SHAPES))
def reports(request, db, settings):
    """The round's data and, for its executive report, a support function's and a team's: (kind, context)."""
    sim = simulate_into(db, SHAPES[request.param], seed=5, drop_round=SHAPES[request.param].rounds - 2)
    compute_results(db, settings)
    with db.session() as session:
        latest = session.exec(select(Round).order_by(Round.opens_at)).all()[-1]
        refs = round_reports(session, latest)
    data = round_data(db, latest.id, settings)
    driver = sim.functions[sim.truth.driver].code
    chosen = [
        next(r for r in refs if r.kind == ORGANISATION and r.unit_id is None),
        next(r for r in refs if r.kind == FUNCTION and r.code == driver),
        next(r for r in refs if r.kind == TEAM),
    ]
    return data, [(ref.kind, report_context(data, ref)) for ref in chosen]


def words(pdf: bytes) -> list[list[tuple[str, float, float, float, float]]]:
    """Every word of every page with its box (text, x min, y min, x max, y max in pt, from the top left), as
    poppler's pdftotext reads it."""
    html = subprocess.run(
        ["pdftotext", "-bbox", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    pages = []
    for page in re.findall(r"<page .*?</page>", html, re.S):
        found = re.findall(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>', page
        )
        pages.append([(text, float(a), float(b), float(c), float(d)) for a, b, c, d, text in found])
    return pages


def beyond_the_page(pages) -> list[str]:
    """Words outside the printable box: left or right of the margins (running heads and page numbers sit in the
    top and bottom margins, inside the left and right ones), or off the sheet."""
    width, height = A4
    left, right = MARGINS["left"] - SLACK, width - MARGINS["right"] + SLACK
    return [
        f"page {number}: {text!r} at x {x0:.0f} to {x1:.0f}, y {y0:.0f} to {y1:.0f}"
        for number, page in enumerate(pages, 1)
        for text, x0, y0, x1, y1 in page
        if x0 < left or x1 > right or y0 < 0 or y1 > height
    ]


def overflowing_boxes(context: dict) -> list[str]:
    """From WeasyPrint's own layout: text that runs past the right edge of its table cell or of the page's
    content box, a figure's "(n = ...)" cut over two lines of a table cell, and pictures that run past the bottom
    of the page's content box (a picture cannot break)."""
    from weasyprint import HTML
    from weasyprint.formatting_structure import boxes

    html = render_html(context, STYLESHEET)
    document = HTML(string=html, base_url=str(ASSETS) + "/", url_fetcher=_fetcher()).render()
    found = []

    def visit(box, cell, page_box, number):
        if isinstance(box, boxes.TableCellBox):
            cell = box
        if isinstance(box, boxes.TextBox) and box.text.strip():
            right = box.position_x + box.width
            limit = page_box.content_box_x() + page_box.width
            if cell is not None:
                limit = min(limit, cell.border_box_x() + cell.border_width())
            if right > limit + SLACK:
                found.append(
                    f"page {number}: text {box.text[:40]!r} ends {right - limit:.1f} pt past its box"
                )
            if cell is not None and box.text.rstrip().endswith("(n ="):
                found.append(f"page {number}: {box.text[-40:]!r} ends a line of its cell, its n on the next")
        if isinstance(box, boxes.ReplacedBox):
            bottom = page_box.content_box_y() + page_box.height
            if box.position_y + box.margin_height() > bottom + SLACK:
                found.append(
                    f"page {number}: a picture runs {box.position_y + box.height - bottom:.0f} pt off"
                )
        for child in getattr(box, "children", []):
            visit(child, cell, page_box, number)

    for number, page in enumerate(document.pages, 1):
        visit(page._page_box, None, page._page_box, number)
    return found


def test_no_word_lies_beyond_the_page_and_no_figure_runs_out_of_its_cell(reports):
    """The team report's header "Share of ... explained" ran off the page; a team's "82% favourable (n = 10)"
    ran into the next column, and in a narrow column "(n =" ended a line with its number on the next; a heat map's
    shading ran off the bottom of its page at 60 teams."""
    _, rendered = reports
    for kind, context in rendered:
        assert beyond_the_page(words(render_pdf(context))) == [], kind
        assert overflowing_boxes(context) == [], kind


def filled(page: list[tuple[str, float, float, float, float]]) -> float:
    """How far down its content box a page's text reaches (0 to 1), the running head and foot left out."""
    content_top, content_bottom = MARGINS["top"], A4[1] - MARGINS["bottom"]
    lowest = max(y1 for _, _, y0, _, y1 in page if content_top <= y0 < content_bottom)
    return (lowest - content_top) / (content_bottom - content_top)


def test_page_one_of_every_report_is_at_least_half_filled(reports):
    """Page 1 of the team report was 60% blank: its first section was pushed onto page 2."""
    _, rendered = reports
    for kind, context in rendered:
        first = filled(words(render_pdf(context))[0])
        assert first >= 0.5, f"{kind}: page 1 is {first:.0%} filled"


# The sections that begin on a page of their own: the page before one of them may end early. Elsewhere a page
# may end a little short of half where a picture that cannot break (64 teams' response rates) comes next.
OWN_PAGE = ("How this was worked out", "Trends")
HALF_FILLED = 0.45


def test_no_page_is_left_half_empty_before_a_section_that_could_have_followed_on_it(reports):
    """The support function report's page 2 was half empty because "By team" began a new page, and its page 4
    held the four teams whose rating fell alone; the executive report gave those teams a page of their own."""
    _, rendered = reports
    content_top = MARGINS["top"]
    for kind, context in rendered:
        pages = words(render_pdf(context))
        for number, (page, after) in enumerate(itertools.pairwise(pages), 1):
            next_begins = " ".join(text for text, _, y0, _, _ in after if y0 >= content_top)
            if next_begins.startswith(OWN_PAGE):
                continue
            assert filled(page) >= HALF_FILLED, (
                f"{kind}: page {number} is {filled(page):.0%} filled; next: {next_begins[:60]}"
            )


def _text(pdf: bytes) -> str:
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    return " ".join(text.split())


def test_every_team_of_a_list_is_named_and_none_is_cut_short(reports):
    """A head looks for their team by name: no list of teams or functions ends in "..." or "and others", the
    teams below 60% response are all named, and so is every hotspot team."""
    data, rendered = reports
    for kind, context in rendered:
        text = _text(render_pdf(context))
        for cut in ("…", "...", "and others", "more, with smaller falls"):
            assert cut not in text, (kind, cut, text[max(0, text.find(cut) - 200) : text.find(cut) + 20])
        findings = " ".join(f"{f.headline} {f.evidence}" for f in context["findings"])
        if kind == ORGANISATION:
            for row in data.participation:
                if row.kind == "front_line" and row.low:
                    assert row.name in findings, row.name
            assert [h.team.name for h in context["hotspots"]] == [h.team.name for h in data.linkage.hotspots]
        if kind == FUNCTION:
            for hotspot in context["hotspots"]:
                assert hotspot.team.name in findings


def _svg_texts(uri: str) -> str:
    svg = base64.b64decode(uri.removeprefix("data:image/svg+xml;base64,")).decode()
    return " ".join(
        element.text or "" for element in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")
    )


def test_every_line_of_every_trend_chart_is_named_in_full(reports):
    """The executive trend chart's legend was cut ("The whole organisat…"), its seven lines all grey."""
    _, rendered = reports
    for kind, context in rendered:
        trends = [
            chart for chart in context["charts"].values() if isinstance(chart, dict) and "table" in chart
        ]
        assert trends, kind
        for chart in trends:
            drawn = _svg_texts(chart["chart"])
            # the table under the chart names each line first on its row (a long name wraps below it)
            names = [row.split("  ")[0].strip() for row in chart["table"][1:] if "  " in row]
            named = [name for name in names if name in drawn]
            # a chart draws its first lines (the function report's, only the overall score), each named in full
            assert named and named == names[: len(named)] and "…" not in drawn, (kind, names, drawn)
            if kind == ORGANISATION:  # every function's line, and the organisation's outcome
                assert named == names, (names, drawn)
