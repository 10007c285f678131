"""Heads and executives read their results in the browser: a function head their function, a team head their
team, an executive the whole chain; each page tells what the PDF report of the same unit tells, with the same
numbers, and nothing another unit's head may not see."""

from __future__ import annotations

import html
import io
import re
import time

import jinja2
import msgspec
import pytest
from pypdf import PdfReader
from sqlmodel import select

from helpers import PASSWORD, compute_results, log_in
from survey.accounts.users import create_user
from survey.analysis.results import Linkage, Scores
from survey.db.models import Role, Round, RoundStatus, Unit
from survey.demo.build import simulate_into
from survey.demo.simulation import OrgShape
from survey.numbers import number
from survey.reports.content.heat import legend_words
from survey.reports.content.organisation import Scope, organisation_report
from survey.reports.heat_table import ROWS_PER_PAGE, HeatQuery, heat_table
from survey.rounds.lifecycle import advance_round
from survey.settings import resource_dir
from survey.vocabulary import INTERNAL_MEASURES

SHAPE = OrgShape(functions=3, teams=10, staff_per_team=6, customers_per_team=30, rounds=3, regions=2)


@pytest.fixture
def published(db, settings):
    """Three rounds with their results, all published; a head of the first function, a head of the first team,
    and an executive."""
    sim = simulate_into(db, SHAPE, seed=21)
    compute_results(db, settings)
    with db.session() as session:
        rounds = session.exec(select(Round).order_by(Round.opens_at)).all()
        for a_round in rounds:
            advance_round(session, a_round, RoundStatus.PUBLISHED)
        create_user(
            session, "f.head@example.com", "F Head", Role.HEAD, [sim.functions[0].code], password=PASSWORD
        )
        create_user(
            session, "t.head@example.com", "T Head", Role.HEAD, [sim.teams[0].code], password=PASSWORD
        )
        create_user(session, "exec@example.com", "Exec", Role.EXECUTIVE, [], password=PASSWORD)
        units = {u.code: u.id for u in session.exec(select(Unit))}
        latest = rounds[-1].id
    return sim, units, latest


def text_of(page: str) -> str:
    """A page's text as a reader sees it: tags gone, entities read, white space single."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def pdf_text(pdf: bytes) -> str:
    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())


def pdf_link(page: str) -> str:
    (link,) = re.findall(r'href="(/reports/\d+/[^"]+/pdf)"', page)
    return link


def test_a_function_head_opens_on_their_function_with_the_numbers_of_its_pdf(client, published):
    sim, units, latest = published
    log_in(client, "f.head@example.com")
    page = client.get("/my").text
    shown = text_of(page)
    assert "Results of" in shown and sim.functions[0].name in shown
    link = pdf_link(page)
    assert link == f"/reports/{latest}/{units[sim.functions[0].code]}/pdf"
    pdf = pdf_text(client.get(link).content)
    # the headline is the report's first finding, word for word, and opens the results
    headline = text_of(re.search(r'<p class="headline">(.*?)</p>', page, re.S).group(1))
    assert headline in pdf
    # the overall score and its n, as the PDF prints them ("Overall 5.4 [5.1, 5.6] n 39")
    overall = re.search(r"Overall (\d\.\d) · \d+% favourable \(n = (\d+)\)", shown)
    assert overall and re.search(rf"Overall {overall.group(1)} \[[^\]]+\] n {overall.group(2)}\b", pdf)
    # the statistics wait behind "How this was worked out"
    before_method = page.split("How this was worked out")[0]
    assert "q " not in text_of(before_method.split('class="headline"')[1]).replace("quarter", "")
    # another function's page, and a unit that does not exist, answer 404
    assert client.get(f"/units/{units[sim.functions[1].code]}").status_code == 404
    assert client.get("/units/999999").status_code == 404


def test_a_team_head_sees_how_their_team_rates_each_function_and_their_customers(client, published):
    sim, units, _ = published
    log_in(client, "t.head@example.com")
    page = client.get(f"/units/{units[sim.teams[0].code]}").text
    shown = text_of(page)
    assert "How your team rates each support function" in shown and "Your customers" in shown
    pdf = pdf_text(client.get(pdf_link(page)).content)
    rated = re.findall(r"\d\.\d(?: · \d+% favourable)? \(n = \d+\)", shown)  # "5.4 · 62% favourable (n = 39)"
    assert any("favourable" in figure for figure in rated)
    assert rated and all(figure in pdf for figure in rated)
    # no other team's dashboard, no heat map of the whole, and no other team named
    assert client.get(f"/units/{units[sim.teams[1].code]}").status_code == 404
    assert sim.teams[1].name not in shown and 'id="heat"' not in page


def test_an_executive_reads_the_heat_map_filters_it_sorts_it_and_opens_any_team(client, published):
    sim, units, _ = published
    log_in(client, "exec@example.com")
    page = client.get("/my").text
    shown = text_of(page)
    assert "only HR administrators" not in shown
    # the key comes before the grid, and every cell states its shade in words
    assert page.index('class="heat-key"') < page.index('<table class="data heat"')
    cells = re.findall(r'<td class="num heat-cell (shade-hidden|shade-?\d|)[^"]*">(.*?)</td>', page, re.S)
    assert cells
    for shade, content in cells:
        words = text_of(content)
        if shade.startswith("shade") and shade != "shade-hidden":
            assert re.search(r"(below|above|level with) the organisation$", words), words
        elif shade == "shade-hidden":
            assert words == "hidden"
    # filtered by a name, only that team is left; every team links to its page
    team = sim.teams[3]
    filtered = client.get("/my", params={"q": team.name}).text
    rows = re.findall(r'<th scope="row"><a href="/units/(\d+)">([^<]+)</a>', filtered.split('id="heat"')[1])
    assert (str(units[team.code]), team.name) in rows
    assert all(
        name == team.name for _, name in rows if int(_) not in (units[c] for c in units if c.startswith("R"))
    )
    assert client.get(f"/units/{units[team.code]}").status_code == 200
    # sorted by the first function, lowest first
    first = sim.functions[0].code
    sorted_page = client.get("/my", params={"sort": first}).text.split('id="heat"')[1]
    values = [
        float(v)
        for v in re.findall(
            r'<tr><th scope="row">.*?</th><td class="num heat-cell [^"]*">([0-9.]+)', sorted_page
        )
    ]
    assert values == sorted(values)
    # a round nobody may read, and nonsense, answer 404 and 400, never 500
    assert client.get("/my", params={"round": 999999}).status_code == 404
    assert client.get("/my", params={"page": "many"}).status_code == 400


def test_a_region_head_reads_their_regions_heat_map_and_no_other_regions_teams(client, db, published):
    sim, units, _ = published
    with db.session() as session:
        create_user(session, "r.head@example.com", "R Head", Role.HEAD, ["R1"], password=PASSWORD)
        inside = {u.code for u in session.exec(select(Unit).where(Unit.parent_id == units["R1"]))}
    log_in(client, "r.head@example.com")
    page = client.get("/my").text
    assert pdf_link(page).endswith(f"/{units['R1']}/pdf")  # the region's report
    heat = page.split('id="heat"')[1]
    named = set(re.findall(r'<th scope="row"><a href="/units/\d+">([^<]+)</a>', heat))
    names = {t.code: t.name for t in sim.teams}
    assert {names[c] for c in inside} <= named
    assert not named & {names[c] for c in names if c not in inside}
    outside = next(t for t in sim.teams if t.code not in inside)
    assert client.get(f"/units/{units[outside.code]}").status_code == 404
    assert client.get(f"/units/{units['R2']}").status_code == 404


def test_the_round_picker_shows_an_earlier_round(client, published):
    _, _, latest = published
    log_in(client, "exec@example.com")
    page = client.get("/my").text
    choices = re.findall(
        r'<option value="(\d+)"( selected)?>', page.split('name="round"')[1].split("</select>")[0]
    )
    assert choices[0] == (str(latest), " selected") and len(choices) == SHAPE.rounds
    earlier = choices[-1][0]
    again = client.get("/my", params={"round": earlier}).text
    assert f'href="/reports/{earlier}/organisation/pdf"' in again


# --- At 2,000 teams ----------------------------------------------------------------------------------------------


def synthetic(teams: int, functions: int, regions: int) -> tuple[Scores, Linkage, dict[str, tuple[str, str]]]:
    """A round's released scores for many teams, built directly: every function rated by every team."""

    def figure(value: float) -> dict:
        return {"mean": value, "n": 12, "sd": 1.1}

    codes = [f"T{t:04d}" for t in range(teams)]
    region_of = {code: (f"R{t % regions}", f"Region {t % regions}") for t, code in enumerate(codes)}

    def staff(t: int, f: int) -> dict:
        return {"overall": figure(3.0 + ((t * 7 + f * 3) % 30) / 10)}

    def cell(unit_id: int | None, code: str | None, name: str, kind: str, scores: dict) -> dict:
        return {
            "unit_id": unit_id,
            "code": code,
            "name": name,
            "kind": kind,
            "suppressed": False,
            "scores": scores,
        }

    data = {
        "round": {"id": 1, "name": "2026 Q3", "status": "published"},
        "min_group_size": 5,
        "min_comment_group_size": 10,
        "scale": "1 to 7",
        "functions": [
            {
                "unit_id": 10_000 + f,
                "code": f"F{f}",
                "name": f"Support function {f}",
                "kind": "support",
                "comments": [],
                "cells": [{**cell(None, None, "All teams", "total", {"overall": figure(4.4)}), "usage": None}]
                + [
                    {**cell(t + 1, code, f"Team {code}", "front_line", staff(t, f)), "usage": None}
                    for t, code in enumerate(codes)
                ],
            }
            for f in range(functions)
        ],
        "reliability": {},
        "measures": list(INTERNAL_MEASURES),
        "customers": [cell(None, None, "All teams", "total", {"csat_pct": figure(80.0)})]
        + [
            cell(t + 1, code, f"Team {code}", "front_line", {"csat_pct": figure(60.0 + t % 40)})
            for t, code in enumerate(codes)
        ],
    }
    scores = msgspec.convert(data, Scores)
    linkage = msgspec.convert(
        {
            "round": data["round"],
            "rounds_read": ["2026 Q3"],
            "outcome": {"measure": "csat_pct", "label": "CSAT%", "unit": "points"},
            "min_group_size": 5,
            "teams": teams,
            "enough_data": False,
            "message": "Not enough rounds yet.",
            "tests": [],
            "drivers": [],
            "findings": [],
            "hotspots": [],
            "r2": None,
        },
        Linkage,
    )
    return scores, linkage, region_of


def dashboard_macro():
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(resource_dir("templates")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters.update(number=number)
    return environment.get_template("staff/_dashboard.html").module.dashboard


def test_at_2000_teams_the_executive_page_stays_under_a_megabyte_a_region_a_page(capsys):
    scores, linkage, region_of = synthetic(teams=2000, functions=10, regions=20)
    teams = frozenset(region_of)
    started = time.perf_counter()
    report = organisation_report(
        Scope(None, "The whole organisation", teams, frozenset()), scores, linkage, [scores], []
    )
    built = time.perf_counter() - started
    columns = [(f.code, f.name) for f in scores.functions] + [("outcome", "CSAT%")]
    dashboard = dashboard_macro()
    sizes = {}
    for label, query in (("every region, page 1", HeatQuery()), ("one region", HeatQuery(region="R3"))):
        table = heat_table(report["heat_lines"], columns, region_of, {}, query)
        a_round = type("R", (), {"id": 1, "name": "2026 Q3", "status": "published"})()
        view = {
            "rounds": [a_round],
            "round": a_round,
            "ref": object(),
            "here": "/my",
            "report": report,
            "pdf": "/reports/1/organisation/pdf",
            "xlsx": "/reports/1/organisation/xlsx",
            "legend": legend_words(),
            "heat": table,
        }
        page = str(dashboard(view))
        sizes[label] = len(page.encode())
        assert page.count('<tr><th scope="row">') <= ROWS_PER_PAGE
    with capsys.disabled():
        print(f"\n2,000 teams x 10 functions: report content {built:.2f} s; HTML {sizes}")
    assert max(sizes.values()) < 1_000_000
    assert table.matching == 100 and table.pages == 1  # one region: its 100 teams on one page
