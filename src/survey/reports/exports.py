"""A round's Excel workbook for one reader: the released results the round's reports read (`reports.data`), cut
to what the reports the reader may read show (which reports: `reports.catalogue`; what they show:
`content.workbook`), written by `reports.xlsx`. The pages, the API and `survey export` all make it here."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime

from survey.db.models import Round
from survey.reports.catalogue import FUNCTION, TEAM, ReportRef
from survey.reports.content.workbook import About, Sight, workbook_sheets
from survey.reports.data import RoundData
from survey.reports.xlsx import build_workbook

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def sight_of(refs: Iterable[ReportRef], data: RoundData) -> Sight:
    """What the reports `refs` show of a round: everything for the executive report; a support function's
    scores at every team for its report; every function's scores, customers and response rates of a team, or
    of a group and every team and group below it, for theirs."""
    everything, functions, units = False, set(), set()
    for ref in refs:
        if ref.unit_id is None:
            everything = True
        elif ref.kind == FUNCTION:
            functions.add(str(ref.code))
        elif ref.kind == TEAM:
            units.add(str(ref.code))
        else:
            teams, groups = data.below.get(ref.unit_id, (frozenset(), frozenset()))
            units |= teams | groups | {str(ref.code)}
    return Sight(everything, frozenset(functions), frozenset(units))


def round_workbook(data: RoundData, a_round: Round, refs: Iterable[ReportRef], made_for: str) -> bytes:
    """The workbook of everything the reports `refs` of the round show, made for `made_for` (who asked)."""
    about = About(
        round_name=a_round.name,
        opens=a_round.opens_at.date().isoformat(),
        closes=a_round.closes_at.date().isoformat(),
        made_for=made_for,
        made_on=datetime.now(UTC).date().isoformat(),
    )
    sheets = workbook_sheets(about, data.scores, data.linkage, data.participation, sight_of(refs, data))
    return build_workbook(sheets)


def workbook_filename(round_name: str, unit_code: str | None = None) -> str:
    """ "2026-Q3-results.xlsx", or with a unit's code "2026-Q3-SF02.xlsx": safe on every system."""
    stem = f"{round_name}-{unit_code}" if unit_code else f"{round_name}-results"
    return re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-.") + ".xlsx"
