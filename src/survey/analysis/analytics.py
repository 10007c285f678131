"""A round's results for pages, the API and reports: sums from the database (`aggregation`), through the release
gate (`release`), into scores and linkage (`linkage`), as the types of `results`.

A closed round's results are computed once and stored (`RoundResult`), under a key naming everything they read
besides the frozen answers: the group sizes, the customer figures imported for the rounds read (their count and
last import time) and, for the linkage, which rounds it read. New figures or a newly closed earlier round make
a new key, so the next request computes afresh and replaces the stored result. The unit tree a round's numbers
are rolled up by is stored the first time it is needed and used ever after: suppression decided on two
different trees could be subtracted one from the other.

A round that is still open releases no scores: its numbers would change with each answer, and two looks a few
minutes apart would tell one person's answers by subtraction.
"""

from __future__ import annotations

import hashlib
import math
import random
import secrets
from collections.abc import Callable, Hashable
from typing import Any, TypeVar, cast

import msgspec
from sqlalchemy import Connection, delete, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from survey.analysis import linkage as linkage_found
from survey.analysis.aggregation import comments, round_sums
from survey.analysis.anonymity import TOTAL
from survey.analysis.linkage import EarlierFinding, Named, link_round
from survey.analysis.release import CommentGroup, ReleasedRound, Shown, release_comments, release_round
from survey.analysis.results import (
    Comments,
    CustomerCell,
    CustomerScores,
    Driver,
    DriverTests,
    Figure,
    Finding,
    FunctionScores,
    Hotspot,
    Linkage,
    LinkTest,
    Outcome,
    Reliability,
    RoundRef,
    ScoreCell,
    Scores,
    StaffScores,
    TeamShift,
    UnitName,
    Usage,
)
from survey.analysis.statistics import MIN_TEAMS, RESAMPLES
from survey.db.engine import Database
from survey.db.models import (
    ExternalFigure,
    Invitation,
    Round,
    RoundResult,
    RoundStatus,
    RoundUnit,
    Unit,
    utc_now,
)
from survey.errors import Refused
from survey.vocabulary import (
    CSAT_PCT,
    EXTERNAL_MEASURES,
    INTERNAL_MEASURES,
    OUTCOME_LABELS,
    OUTCOMES,
    OVERALL,
    UnitKind,
)

HISTORY = 8  # rounds the linkage reads: the analysed one and up to 7 before it
RELEASED = (RoundStatus.CLOSED, RoundStatus.PUBLISHED)
ALPHA_FLAG = 0.7  # a dimension's items hang together poorly below this
VERSION = 3  # bump when what is computed changes, so stored results are recomputed
T = TypeVar("T")


class NotReleased(Refused):
    """The round's results are not released (yet); the message says why."""


def _key(*parts) -> str:
    return hashlib.sha256(repr((VERSION, *parts)).encode()).hexdigest()[:32]


def _check_released(a_round: Round) -> None:
    if a_round.status not in RELEASED:
        raise NotReleased(
            f"Round {a_round.name!r} is {a_round.status}: its results are released when it closes. Numbers that "
            "change with each answer would let someone who watches them tell one person's answers by subtraction."
        )


def _number(value: float | None) -> float | None:
    """A float as JSON can hold it: a number that is not finite (or numpy's) as a plain float or null."""
    return None if value is None or not math.isfinite(value) else float(value)


def _stored(
    db: Database, round_id: int, kind: str, key: str, compute: Callable[[Connection], T], as_type: type[T]
) -> T:
    """The result `kind` of a round stored under `key`; computed with `compute` and stored when there is none.
    Stored as JSON, field for field as the API sends it."""
    with db.engine.connect() as connection:
        payload = connection.execute(
            select(RoundResult.payload).where(
                RoundResult.round_id == round_id, RoundResult.kind == kind, RoundResult.key == key
            )
        ).scalar()
    if payload is not None:
        return msgspec.convert(payload, as_type)
    with db.engine.connect() as connection:
        result = compute(connection)
    insert = sqlite_insert if db.is_sqlite else postgresql_insert
    with db.write() as connection:  # two processes computing at once store the first; both are the same
        connection.execute(
            delete(RoundResult).where(
                RoundResult.round_id == round_id, RoundResult.kind == kind, RoundResult.key != key
            )
        )
        connection.execute(
            insert(RoundResult)
            .values(
                round_id=round_id,
                kind=kind,
                key=key,
                payload=msgspec.to_builtins(result),
                computed_at=utc_now(),
            )
            .on_conflict_do_nothing()
        )
    return result


def _figures_fingerprint(connection: Connection, round_ids: list[int]) -> tuple:
    """What changes whenever customer figures for these rounds are imported or replaced."""
    count, last = connection.execute(
        select(func.count(ExternalFigure.id), func.max(ExternalFigure.imported_at)).where(
            ExternalFigure.round_id.in_(round_ids)
        )
    ).one()
    return (count, None if last is None else last.isoformat())


def _tree(db: Database, round_id: int) -> dict[int, int | None]:
    """The unit tree (each front-line team and group to the group above) this round's numbers are rolled up by:
    today's tree the first time, the same one ever after."""

    def compute(connection: Connection) -> UnitTree:
        units = _units(connection)
        return UnitTree([(u.id, u.parent_id) for u in units.values() if u.kind != UnitKind.SUPPORT])

    return dict(_stored(db, round_id, "tree", "", compute, UnitTree).parents)


def _units(connection: Connection) -> dict[int, Unit]:
    return {u.id: u for u in (Unit.model_validate(r._mapping) for r in connection.execute(select(Unit)))}


def _round(connection: Connection, round_id: int) -> Round:
    return Round.model_validate(connection.execute(select(Round).where(Round.id == round_id)).one()._mapping)


def _release(connection: Connection, round_id: int, tree: dict, k: int, scales: bool = True) -> ReleasedRound:
    """A round's sums through the release gate, with its invitees per team (whose answered counts the response
    rates show) and its support functions."""
    invited = connection.execute(
        select(Invitation.team_id, func.count())
        .where(Invitation.round_id == round_id)
        .group_by(Invitation.team_id)
    ).all()
    functions = connection.execute(
        select(RoundUnit.unit_id)
        .join(Unit, Unit.id == RoundUnit.unit_id)
        .where(RoundUnit.round_id == round_id, Unit.kind == UnitKind.SUPPORT)
    ).scalars()
    sums = round_sums(connection, round_id, scales)
    return release_round(sums, tree, k, {team: int(n) for team, n in invited}, list(functions))


def _current_tree(connection: Connection) -> dict[int, int | None]:
    return {u.id: u.parent_id for u in _units(connection).values() if u.kind != UnitKind.SUPPORT}


def _figure(shown: Shown | None) -> Figure | None:
    if shown is None or shown.suppressed or shown.n is None or shown.mean is None:
        return None
    return Figure(shown.n, round(shown.mean, 4), None if shown.sd is None else round(shown.sd, 4))


def _code(units: dict[int, Unit], unit_id: Hashable) -> str:
    return units[cast(int, unit_id)].code  # comments are grouped by team id


def _node(units: dict[int, Unit], node: Hashable) -> dict[str, Any]:
    """Which unit a cell is about, as the fields every cell starts with."""
    if node == TOTAL:
        return {"unit_id": None, "code": None, "name": "All teams", "kind": "total"}
    unit = units[cast(int, node)]  # every node but TOTAL is a unit id
    return {"unit_id": unit.id, "code": unit.code, "name": unit.name, "kind": str(unit.kind)}


def _node_order(units: dict[int, Unit], node) -> tuple:
    if node == TOTAL:
        return (0, "")
    return (1 if units[node].kind == UnitKind.GROUP else 2, units[node].code)


def _round_info(a_round: Round) -> RoundRef:
    return RoundRef(a_round.id, a_round.name, str(a_round.status))


def _function_scores(
    units: dict[int, Unit], released: ReleasedRound, function_id: int, groups: list[CommentGroup]
) -> FunctionScores:
    nodes = released.internal[function_id]
    usage = released.usage.get(function_id, {})

    def cell(node: Hashable) -> ScoreCell:
        used = usage.get(node)
        return ScoreCell(
            **_node(units, node),
            suppressed=nodes[node][OVERALL].suppressed,
            scores=StaffScores(**{m: _figure(nodes[node].get(m)) for m in INTERNAL_MEASURES}),
            usage=None if used is None or used.suppressed else Usage(used.answered, used.used),
        )

    return FunctionScores(
        **_node(units, function_id),
        cells=[cell(node) for node in sorted(nodes, key=lambda n: _node_order(units, n))],
        comments=[
            Comments(None if g.team is None else _code(units, g.team), list(g.comments)) for g in groups
        ],
    )


class _StaffPart(msgspec.Struct, frozen=True):
    """What `scores` stores of staff's answers (kept apart from the customers' part, which imports change)."""

    functions: list[FunctionScores]
    reliability: dict[str, Reliability]


class _CustomersPart(msgspec.Struct, frozen=True):
    customers: list[CustomerCell]


class UnitTree(msgspec.Struct, frozen=True):
    """Each front-line team and group with the group above it (None at the top)."""

    parents: list[tuple[int, int | None]]


def scores(db: Database, round_id: int, k: int, comment_k: int) -> Scores:
    """Every score of a closed round that may be shown: per support function, each team, group and the whole,
    with n and spread (null: suppressed), usage and the comments that may be shown; customers' scores per team
    and group; scale reliability."""
    with db.engine.connect() as connection:
        a_round = _round(connection, round_id)
    _check_released(a_round)
    tree = _tree(db, round_id)
    computed: list[ReleasedRound] = []  # staff and customers read the same sums: aggregate them once

    def released_round(connection: Connection) -> ReleasedRound:
        if not computed:
            computed.append(_release(connection, round_id, tree, k))
        return computed[0]

    def staff(connection: Connection) -> _StaffPart:
        return _staff_part(connection, released_round(connection), comment_k)

    def customers(connection: Connection) -> _CustomersPart:
        return _customers_part(_units(connection), released_round(connection))

    with db.engine.connect() as connection:
        figures = _figures_fingerprint(connection, [round_id])
    staff_part = _stored(db, round_id, "staff", _key(k, comment_k), staff, _StaffPart)
    customers_part = _stored(db, round_id, "customers", _key(k, figures), customers, _CustomersPart)
    return Scores(
        round=_round_info(a_round),
        min_group_size=k,
        min_comment_group_size=comment_k,
        scale="internal scores 1 to 7, higher is better; impact 1 to 7, higher is more harm",
        functions=staff_part.functions,
        reliability=staff_part.reliability,
        customers=customers_part.customers,
    )


def _staff_part(connection: Connection, released: ReleasedRound, comment_k: int) -> _StaffPart:
    """Staff's released scores of every support function, their comments and the scales' reliability."""
    by_function: dict[int, list[tuple[Hashable, str]]] = {}
    for function_id, team_id, text in comments(connection, released.round_id):
        by_function.setdefault(function_id, []).append((team_id, text))
    shuffle = random.Random(secrets.randbits(64))  # shown in an order that says nothing, stored as shown
    groups = {f: release_comments(found, comment_k, shuffle) for f, found in by_function.items()}
    units = _units(connection)
    return _StaffPart(
        functions=[
            _function_scores(units, released, f, groups.get(f, []))
            for f in sorted(released.internal, key=lambda f: units[f].code)
        ],
        reliability={
            dimension: Reliability(
                None if alpha is None else round(alpha, 3), alpha is not None and alpha < ALPHA_FLAG
            )
            for dimension, alpha in sorted(released.alpha.items())
        },
    )


def _customers_part(units: dict[int, Unit], released: ReleasedRound) -> _CustomersPart:
    """Customers' released scores of every team and group, and of every team together."""
    return _CustomersPart(
        [
            CustomerCell(
                **_node(units, node),
                suppressed=all(s.suppressed for s in measures.values()),
                scores=CustomerScores(**{m: _figure(measures.get(m)) for m in EXTERNAL_MEASURES}),
            )
            for node, measures in sorted(released.external.items(), key=lambda i: _node_order(units, i[0]))
        ]
    )


def _earlier_rounds(connection: Connection, a_round: Round) -> list[Round]:
    rows = connection.execute(
        select(Round)
        .where(Round.opens_at < a_round.opens_at, Round.status.in_([s.value for s in RELEASED]))
        .order_by(Round.opens_at.desc())
        .limit(HISTORY - 1)
    ).all()
    return [Round.model_validate(r._mapping) for r in reversed(rows)]


def _taking_part(connection: Connection, round_ids: list[int], kind: UnitKind, units) -> list[Named]:
    ids = connection.execute(
        select(RoundUnit.unit_id).where(RoundUnit.round_id.in_(round_ids)).distinct()
    ).scalars()
    chosen = sorted((units[i] for i in ids if units[i].kind == kind), key=lambda u: u.code)
    return [Named(u.id, u.name) for u in chosen]


def linkage(
    db: Database, round_id: int, k: int, outcome: str | None = None, resamples: int = RESAMPLES
) -> Linkage:
    """Drivers, hotspots and every test of a closed round, for one customer outcome, from released numbers.
    Without an outcome: CSAT% if at least MIN_TEAMS teams have it shown this round, else NPS, CES or mean
    satisfaction, the first that does (customer figures imported from another tool may hold only some)."""
    if outcome is not None and outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}")
    with db.engine.connect() as connection:
        a_round = _round(connection, round_id)
        _check_released(a_round)
        rounds = [*_earlier_rounds(connection, a_round), a_round]
        read = [r.id for r in rounds]
        figures = _figures_fingerprint(connection, read)
    trees = {r: _tree(db, r) for r in read}

    def compute(connection: Connection) -> Linkage:
        return compute_linkage(connection, a_round, k, outcome, resamples, trees)

    key = _key(k, outcome or "auto", resamples, read, figures)
    result = _stored(db, round_id, "linkage", key, compute, Linkage)
    return msgspec.structs.replace(result, round=_round_info(a_round))  # its status now, not when computed


def _chosen_outcome(released: ReleasedRound) -> str:
    for outcome in OUTCOMES:
        shown = sum(
            1
            for node, measures in released.external.items()
            if node != TOTAL and outcome in measures and not measures[outcome].suppressed
        )
        if shown >= MIN_TEAMS:
            return outcome
    return CSAT_PCT


def compute_linkage(
    connection: Connection,
    a_round: Round,
    k: int,
    outcome: str | None,
    resamples: int,
    trees: dict[int, dict[int, int | None]] | None = None,
) -> Linkage:
    """The linkage of a closed round, computed now. `trees` holds each read round's unit tree (default: today's,
    for every round)."""
    units = _units(connection)
    rounds = [*_earlier_rounds(connection, a_round), a_round]
    current = _current_tree(connection) if trees is None else None
    released = [  # the linkage needs no reliability: spare the query its item sums
        _release(connection, r.id, current if trees is None else trees[r.id], k, scales=False) for r in rounds
    ]
    outcome = outcome or _chosen_outcome(released[-1])
    functions = _taking_part(connection, [a_round.id], UnitKind.SUPPORT, units)
    teams = _taking_part(connection, [r.id for r in rounds], UnitKind.FRONT_LINE, units)
    earlier = _earlier_findings(connection, rounds[-2].id, outcome) if len(rounds) > 1 else []
    found = link_round(
        released,
        functions,
        teams,
        outcome,
        seed=a_round.id,
        resamples=resamples,
        round_names=[r.name for r in rounds],
        earlier=earlier,
    )
    codes = {u.id: u.code for u in units.values()}
    names = {r.id: r.name for r in rounds}
    label, unit = OUTCOME_LABELS[outcome]
    return Linkage(
        round=_round_info(a_round),
        rounds_read=[r.name for r in rounds],
        outcome=Outcome(outcome, label, unit),
        min_group_size=k,
        teams=found.teams,
        enough_data=found.enough,
        message=found.message,
        r2=_number(found.r2),
        drivers=[_driver(d, codes) for d in found.drivers],
        findings=[_finding(f, codes, names) for f in found.findings],
        hotspots=[_hotspot(h, codes, names) for h in found.hotspots],
        tests=[_test(t, codes) for t in found.tests],
    )


def _unit_name(named: Named, codes: dict[int, str]) -> UnitName:
    return UnitName(named.id, codes[named.id], named.name)


def _driver(driver: linkage_found.Driver, codes: dict[int, str]) -> Driver:
    def test(found: linkage_found.Test | None) -> LinkTest | None:
        return None if found is None else _test(found, codes)

    return Driver(
        function=_unit_name(driver.function, codes),
        measure=driver.measure,
        claim=driver.claim,
        weight=_number(driver.weight),
        weight_low=_number(driver.weight_low),
        weight_high=_number(driver.weight_high),
        n=driver.n,
        tests=DriverTests(test(driver.same), test(driver.lagged), test(driver.reverse), test(driver.change)),
        sentence=driver.sentence,
    )


def _team_shift(shift: linkage_found.TeamShift, codes: dict[int, str], names: dict[int, str]) -> TeamShift:
    return TeamShift(
        team=_unit_name(shift.team, codes),
        since=names[shift.since],
        score_before=round(shift.score_before, 4),
        score=_rounded(shift.score),
        score_n=shift.score_n,
        outcome_before=_rounded(shift.outcome_before),
        outcome=_rounded(shift.outcome),
        outcome_n=shift.outcome_n,
        outcome_shift=_rounded(shift.outcome_shift),
    )


def _rounded(value: float | None) -> float | None:
    number = _number(value)
    return None if number is None else round(number, 4)


def _finding(finding: linkage_found.Finding, codes: dict[int, str], names: dict[int, str]) -> Finding:
    return Finding(
        function=_unit_name(finding.function, codes),
        measure=finding.measure,
        status=finding.status,
        claim=finding.claim,
        since=names[finding.since],
        teams=[_team_shift(t, codes, names) for t in finding.teams],
        effect=_number(finding.effect),
        low=_number(finding.low),
        high=_number(finding.high),
        q=_number(finding.q),
        n=finding.n,
        sentence=finding.sentence,
    )


def _hotspot(hotspot: linkage_found.Hotspot, codes: dict[int, str], names: dict[int, str]) -> Hotspot:
    shift = _team_shift(hotspot.shift, codes, names)
    return Hotspot(
        function=_unit_name(hotspot.function, codes),
        team=shift.team,
        measure=hotspot.measure,
        since=shift.since,
        score_before=shift.score_before,
        score=shift.score,
        score_n=shift.score_n,
        outcome_before=shift.outcome_before,
        outcome=shift.outcome,
        outcome_n=shift.outcome_n,
        outcome_shift=shift.outcome_shift,
        sentence=hotspot.sentence,
    )


def _earlier_findings(connection: Connection, round_id: int, outcome: str) -> list[EarlierFinding]:
    """The ongoing findings of the round before, from its stored linkage for the same outcome (the most recently
    computed), so that this round can say which have ended. None stored: none known."""
    payloads = connection.execute(
        select(RoundResult.payload)
        .where(RoundResult.round_id == round_id, RoundResult.kind == "linkage")
        .order_by(RoundResult.computed_at.desc())
    ).scalars()
    for payload in payloads:
        try:
            stored = msgspec.convert(payload, Linkage)
        except msgspec.ValidationError:  # stored by an earlier version: no findings to carry
            continue
        if stored.outcome.measure != outcome:
            continue
        return [
            EarlierFinding(
                f.function.id, f.measure, _round_id(connection, f.since), tuple(t.team.id for t in f.teams)
            )
            for f in stored.findings
            if f.status == "ongoing"
        ]
    return []


def _round_id(connection: Connection, name: str) -> int:
    return int(connection.execute(select(Round.id).where(Round.name == name)).scalar_one())


def _test(test: linkage_found.Test, codes: dict[int, str]) -> LinkTest:
    return LinkTest(
        function=codes[test.function_id],
        measure=test.measure,
        kind=test.kind,
        n=int(test.n),
        effect=_number(test.effect),
        low=_number(test.low),
        high=_number(test.high),
        p=_number(test.p),
        q=_number(test.q),
        flagged=[codes[team] for team in test.flagged],
    )
