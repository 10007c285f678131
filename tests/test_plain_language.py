"""Heads read plain language first and the statistics one click away: every report opens with its headline, says
nothing statistical before "How this was worked out", calls each item by one name, rounds a figure the same way
wherever it is printed (the PDF's pages and the dashboard), and every difference printed beside its parts adds
up."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from helpers import PASSWORD, compute_results, log_in
from survey.accounts.users import create_user
from survey.db.models import Role, Round, RoundStatus, Unit
from survey.demo.build import simulate_into
from survey.demo.simulation import OrgShape
from survey.numbers import outcome_text, rate_text
from survey.reports.catalogue import round_reports
from survey.reports.data import round_data
from survey.reports.render import render_pdf, report_context
from survey.rounds.lifecycle import advance_round
from survey.vocabulary import CSAT_PCT, IMPACT, MEASURE_LABELS, SERVQUAL_NAMES
from test_dashboards import pdf_text as flat_pdf_text
from test_dashboards import text_of

METHOD = "How this was worked out"
STATISTICS = [r"\bq \d", r"\binterval", r"\brho\b", r"\balpha\b", r"\bp =", r"within the noise", r"Cronbach"]
CAUSAL = [r"\bcause", r"\bcaused\b", r"\beffect of\b", r"\bestimated effect\b"]
# "0.7 below all teams (3.6 against 4.3)", "1.2 points below their own level before (3.8 against 5.0)"
DIFFERENCE = re.compile(
    r"(\d+(?:\.\d+)?)(?: points)? (below|above)[^().;]{0,80}\((\d+(?:\.\d+)?)%? against (\d+(?:\.\d+)?)%?\)"
)


# Teams large enough for their ratings of each function to be shown.
SHAPE = OrgShape(functions=3, teams=10, staff_per_team=12, customers_per_team=30, rounds=3, regions=2)
# "up 0.4 from 2026 Q3 (5.0)" after the figure it is about
CHANGE = re.compile(
    r"(\d+(?:\.\d+)?)%?(?: · \d+% favourable)? \(n = \d+\)[^;()]*?[;,] (up|down) (\d+(?:\.\d+)?)(?: points)? "
    r"from [^()]+\((\d+(?:\.\d+)?)%?\)"
)


@pytest.fixture
def published(db, settings):
    """Three rounds with their results, all published; a head of the first team and HR."""
    sim = simulate_into(db, SHAPE, seed=21)
    compute_results(db, settings)
    with db.session() as session:
        rounds = session.exec(select(Round).order_by(Round.opens_at)).all()
        for a_round in rounds:
            advance_round(session, a_round, RoundStatus.PUBLISHED)
        create_user(
            session, "t.head@example.com", "T Head", Role.HEAD, [sim.teams[0].code], password=PASSWORD
        )
        create_user(session, "hr@example.com", "HR", Role.HR, [], password=PASSWORD)
        units = {u.code: u.id for u in session.exec(select(Unit))}
        latest = rounds[-1].id
    return sim, units, latest


@pytest.fixture
def reports(db, settings, published):
    """Every report of the latest round: its content and its PDF's text, white space made single."""
    _, _, latest = published
    data = round_data(db, latest, settings)
    with db.session() as session:
        refs = round_reports(session, session.get(Round, latest))
    made = []
    for ref in (
        refs[:1] + [r for r in refs if r.kind == "function"][:2] + [r for r in refs if r.kind == "team"][:3]
    ):
        context = report_context(data, ref)
        made.append((ref, context, flat_pdf_text(render_pdf(context))))
    return made


def test_each_report_opens_with_its_most_important_finding_and_keeps_the_statistics_for_the_end(reports):
    for ref, context, text in reports:
        headline = context["headline"]
        assert headline is not None, ref
        # the first text after the report's kind and title is the headline
        title = " ".join(context["title"].split())
        after_title = text[text.index(title) + len(title) :].strip()
        assert after_title.startswith(" ".join(headline.headline.split())), (ref, after_title[:200])
        # chosen by its importance: no finding of the report matters more
        assert all(f.importance <= headline.importance for f in context["findings"])
        assert len(context["findings"]) <= 3
        # the statistics come after the plain words, in the method section
        assert METHOD in text
        plain, method = text.split(METHOD, 1)
        for term in STATISTICS:
            assert not re.search(term, plain), (ref, term, re.search(term, plain))
        # the dimensions by their plain names; the SERVQUAL names only where the method is explained
        for name in SERVQUAL_NAMES.values():
            assert not re.search(rf"\b{name}\b", plain, re.IGNORECASE), (ref, name)
            assert name in method
        for term in CAUSAL:
            assert not re.search(term, text, re.IGNORECASE), (ref, term)


def test_every_difference_printed_beside_its_parts_adds_up(reports):
    checked = changes = 0
    for _ref, _, text in reports:
        for match in DIFFERENCE.finditer(text):
            size, direction, first, second = match.groups()
            _adds_up(size, first, second, direction == "below", match.group(0))
            checked += 1
        for match in CHANGE.finditer(text):
            now, direction, size, before = match.groups()
            _adds_up(size, now, before, direction == "down", match.group(0))
            changes += 1
    assert checked, "each team report says how far below all teams its lowest-rated function is"
    assert changes, "the reports say how a figure changed since the round before"


def _adds_up(size: str, first: str, second: str, lower: bool, sentence: str) -> None:
    decimals = len(size.split(".")[1]) if "." in size else 0
    assert f"{abs(float(first) - float(second)):.{decimals}f}" == size, sentence
    assert (float(first) < float(second)) == lower, sentence


def test_every_figure_in_the_findings_carries_its_n(reports):
    for ref, context, _ in reports:
        for finding in [context["headline"], *context["findings"]]:
            said = f"{finding.headline} {finding.evidence}"
            figures = re.findall(r"\d+\.\d|\d+%", said)
            if figures:
                assert re.search(r"\(n = \d+|\d+ (staff|customers|teams)|of \d+\)|\(\d+ teams", said), (
                    ref,
                    said,
                )


def test_a_team_s_csat_and_response_rate_read_the_same_on_every_page_and_on_its_dashboard(
    db,
    settings,
    client,
    published,
    reports,
):
    sim, units, _latest = published
    _ref, context, text = next(r for r in reports if r[0].kind == "team" and r[0].code == sim.teams[0].code)
    mine = next(row for row in context["customer_rows"] if row.measure == CSAT_PCT).shown
    assert mine is not None, "the shape is meant to show the first team's CSAT%"
    csat = f"{outcome_text(CSAT_PCT, mine.mean)} (n = {mine.n})"
    # in the findings on page 1 and in the customers' table after it, alike
    assert text.count(csat) >= 2, (csat, text[:1500])
    # never printed with another rounding
    assert f"{mine.mean:.1f}" not in text or f"{mine.mean:.1f}".endswith(".0")
    rate = context["participation"]
    assert rate is not None and rate.rate is not None
    answered = f"{rate_text(rate.rate)} of"
    assert text.count(answered) >= 2 and f"{rate.rate:.2f}" not in text

    log_in(client, "t.head@example.com")
    page = text_of(client.get(f"/units/{units[sim.teams[0].code]}").text)
    assert csat in page and answered in page


def test_the_harm_item_has_one_name_in_reports_pages_and_api(db, client, published, reports):
    _, _, latest = published
    label = MEASURE_LABELS[IMPACT]
    for ref, _, text in reports:
        assert not re.search(r"\bHarm\b", text), ref
    log_in(client, "hr@example.com")
    page = client.get(f"/admin/rounds/{latest}/results?measure=impact")
    assert page.status_code == 200
    shown = text_of(page.text)
    assert label.lower() in shown.lower() and not re.search(r"\b(Harm|impact)\b", shown)
    schema = client.get("/schema/openapi.json").json()
    described = schema["components"]["schemas"]["StaffScores"]["properties"]["impact"]["description"]
    assert label in described
