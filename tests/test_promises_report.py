"""The support-function report and dashboard set each promise beside the score of the dimension it concerns."""

from __future__ import annotations

import html
import re
import subprocess

import pytest
from sqlmodel import select

from helpers import PASSWORD, compute_results, log_in
from survey.accounts.users import create_user
from survey.analysis import analytics
from survey.db.models import PromiseSet, Role, Round, RoundStatus, Unit
from survey.demo.build import simulate_into
from survey.demo.simulation import OrgShape
from survey.promises import store
from survey.promises.rules import PromiseDraft
from survey.reports.catalogue import report_by_code
from survey.reports.content.common import shown_text
from survey.reports.data import round_data
from survey.reports.render import render_pdf, report_context
from survey.rounds.lifecycle import advance_round

SHAPE = OrgShape(functions=3, teams=10, staff_per_team=6, customers_per_team=30, rounds=3, regions=2)
FIRST = "Tills fixed within a day."  # short: one line of the table
LATER = "A promise written after the round opened."


@pytest.fixture
def promised(db, settings):
    """Simulated rounds with results; the first function promised reliability before the rounds (in force for
    the latest) and wrote another version after it opened (not in force for it)."""
    sim = simulate_into(db, SHAPE, seed=21)
    with db.session() as session:
        rounds = session.exec(select(Round).order_by(Round.opens_at)).all()
        function_id = session.exec(select(Unit.id).where(Unit.code == sim.functions[0].code)).one()
    store.save(
        db,
        function_id,
        [PromiseDraft("reliability", FIRST), PromiseDraft("overall", "Every call is answered.")],
    )
    with db.session() as session:
        first = session.exec(select(PromiseSet)).one()
        first.created_at = rounds[0].opens_at.replace(year=rounds[0].opens_at.year - 1)
        session.add(first)
        session.commit()
    store.save(db, function_id, [PromiseDraft("reliability", LATER)])
    compute_results(db, settings)
    return sim, rounds[-1].id, function_id


def _pdf_lines(pdf: bytes) -> list[str]:
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout
    return [" ".join(line.split()) for line in text.decode().splitlines()]


def test_the_function_reports_pdf_puts_each_promise_beside_its_dimensions_figure(db, settings, promised):
    sim, round_id, _ = promised
    code = sim.functions[0].code
    with db.session() as session:
        ref = report_by_code(session, session.get(Round, round_id), code)
    lines = _pdf_lines(render_pdf(report_context(round_data(db, round_id, settings), ref)))
    scores = analytics.scores(db, round_id, settings.min_group_size, settings.min_comment_group_size)
    reliability = scores.function(code).score(None, "reliability")
    (line,) = [line for line in lines if line.startswith(FIRST)]
    assert "Doing what was promised" in line and shown_text(reliability) in line
    assert not any(LATER in line for line in lines)  # written after the round opened
    assert "What we promise" in " ".join(lines)


def test_the_function_dashboard_shows_the_promises_block_and_links_to_the_page(
    client, db, settings, promised
):
    sim, round_id, function_id = promised
    with db.session() as session:
        advance_round(session, session.get(Round, round_id), RoundStatus.PUBLISHED)
        create_user(
            session, "f.head@example.com", "F Head", Role.HEAD, [sim.functions[0].code], password=PASSWORD
        )
    log_in(client, "f.head@example.com")
    page = client.get(f"/units/{function_id}").text
    block = page.split('<section class="promises-block"')[1].split("</section>")[0]
    scores = analytics.scores(db, round_id, settings.min_group_size, settings.min_comment_group_size)
    reliability = scores.function(sim.functions[0].code).score(None, "reliability")
    row = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", block.split(FIRST)[1].split("</tr>")[0])).split())
    assert (
        row.startswith("Doing what was promised")
        and f"{reliability.mean:.1f}" in row
        and f"n = {reliability.n}" in row
    )
    assert LATER not in block
    assert f'href="/units/{function_id}/promises"' in block
