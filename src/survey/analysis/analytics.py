"""A round's results for pages, the API and reports: sums from the database (`aggregation`), through the release
gate (`release`), into scores and linkage (`linkage`), as the types of `results`.

A closed round's results are computed as work (`compute_results`, run by `rounds.results_work` when a round
closes, claimed by one process) and stored (`store_results`, `RoundResult`): its scores, and its linkage against
every customer outcome. Requests only read them (`read_scores`, `read_linkage`); before they are stored, they
raise `NotReady`, which says why. Nothing a page, report or API request does computes.

Stored results are kept under the settings they were released under (`settings_key`: the group sizes and the
version of the computation; results of other settings are never shown). The group sizes are the round's own,
fixed when it closed (`Round.min_group_size`, `rounds.lifecycle.keep_group_sizes`): a setting changed later
neither hides them nor computes a second suppression pattern of the round. They are marked with what they read that can
change after the close (`ResultState`): the customer figures imported for the round and, for the linkage, which
rounds it reads, their figures and the actions answering them (whose effects it measures: `effects`). When
those change, the work computes them again; meanwhile the stored ones are shown, marked as being updated
(`Stored.updating`): they were released already, showing them again releases nothing new. The unit tree a
round's numbers are rolled up by is stored the first time they are computed and used
ever after: suppression decided on two different trees could be subtracted one from the other.

A round that is still open releases no scores: its numbers would change with each answer, and two looks a few
minutes apart would tell one person's answers by subtraction.
"""

from __future__ import annotations

import hashlib
import math
import random
import secrets
from collections.abc import Callable, Collection, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar, cast

import msgspec
from sqlalchemy import Connection, Text, and_, delete, func, or_, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from survey.analysis import effects as effects_found
from survey.analysis import linkage as linkage_found
from survey.analysis.aggregation import comments, round_sums
from survey.analysis.anonymity import TOTAL
from survey.analysis.linkage import MEASURES as LINKED_MEASURES
from survey.analysis.linkage import EarlierFinding, Named, link_round
from survey.analysis.release import (
    SUPPRESSED,
    CommentGroup,
    ReleasedRound,
    Shown,
    release_comments,
    release_round,
)
from survey.analysis.results import (
    ActionEffect,
    Comments,
    CustomerCell,
    CustomerScores,
    Driver,
    DriverTests,
    EffectTest,
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
    ActionPlan,
    ActionPlanTeam,
    ActionStatus,
    CustomerBurst,
    ExternalFigure,
    Invitation,
    Item,
    ResultWork,
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
    DIMENSIONS,
    EXTERNAL_MEASURES,
    IMPACT,
    INTERNAL_MEASURES,
    OUTCOME_LABELS,
    OUTCOMES,
    OVERALL,
    UnitKind,
)

HISTORY = 8  # rounds the linkage reads: the analysed one and up to 7 before it
RELEASED = (RoundStatus.CLOSED, RoundStatus.PUBLISHED)
ALPHA_FLAG = 0.7  # a dimension's items hang together poorly below this
# Bump when what is computed changes: stored results are computed again, and not shown meanwhile.
VERSION = 7  # 7: the linkage says whether the actions answering earlier rounds worked
# Kinds of stored results: staff's and customers' scores, the default outcome, and "linkage:<outcome>" for each.
STAFF, CUSTOMERS, LINKAGE = "staff", "customers", "linkage"
T = TypeVar("T")


class NotReleased(Refused):
    """The round's results are not released (yet); the message says why."""


class NotReady(NotReleased):
    """The round is closed, but its results are not stored yet: they are being computed. The message says so."""


def _key(*parts) -> str:
    return hashlib.sha256(repr((VERSION, *parts)).encode()).hexdigest()[:32]


def settings_key(k: int, comment_k: int | None = None) -> str:
    """What results are released under, readable: the version of the computation and the minimum group size, and
    for staff's scores (which hold the comments) the minimum comment group size."""
    key = f"v{VERSION} k{k}"
    return key if comment_k is None else f"{key} comments{comment_k}"


def _linkage_kind(outcome: str) -> str:
    return f"{LINKAGE}:{outcome}"


def _check_released(a_round: Round) -> None:
    if a_round.status not in RELEASED:
        raise NotReleased(
            f"Round {a_round.name!r} is {a_round.status}: its results are released when it closes. Numbers that "
            "change with each answer would let someone who watches them tell one person's answers by subtraction."
        )


def _number(value: float | None) -> float | None:
    """A float as JSON can hold it: a number that is not finite (or numpy's) as a plain float or null."""
    return None if value is None or not math.isfinite(value) else float(value)


# --- What stored results read, and whether they still match -----------------------------------------------------


@dataclass(frozen=True)
class Wanted:
    """What a round's results read now: the settings they are released under, the customer figures of the round
    (its scores), and the rounds its linkage reads with their figures."""

    round_id: int
    settings: str  # settings key of the customers' scores and the linkage
    staff_settings: str | None  # settings key of staff's scores (None: not asked)
    read: tuple[int, ...]  # the rounds the linkage reads, oldest first, this one last
    scores: str  # data key of the customers' scores
    linkage: str  # data key of the linkage
    k: int  # the round's minimum group size (`settings` names it)
    comment_k: int | None  # its minimum comment group size (None: not asked)

    @property
    def key(self) -> str:
        """One key for all of it, led by the settings (`work_prefix`): the results work computes each state of a
        round's results once, and a process does only the work of its own settings."""
        return work_prefix(self.settings, self.staff_settings) + _key(self.scores, self.linkage)


def work_prefix(settings: str, staff_settings: str | None) -> str:
    """How the keys of results work for these settings begin."""
    return f"{staff_settings or settings}|"


@dataclass(frozen=True)
class ResultState:
    """A closed round's stored results under the current settings, against what they would read now."""

    wanted: Wanted
    scores: str | None  # data key of the stored scores; None: none stored under these settings
    linkage: str | None  # data key of the stored linkage; None: none stored under these settings
    stored_before: bool  # results were stored for this round under other settings

    @property
    def ready(self) -> bool:
        return self.scores is not None and self.linkage is not None

    @property
    def current(self) -> bool:
        return self.scores == self.wanted.scores and self.linkage == self.wanted.linkage

    @property
    def why(self) -> str:
        """Why the results need computing, in words (for the work's record)."""
        if not self.ready:
            return (
                "the group sizes or the computation changed"
                if self.stored_before
                else "no results stored yet"
            )
        if self.scores != self.wanted.scores:
            return "customer figures were imported for the round"
        return (
            "what its linkage reads changed: an earlier round's customer figures or results, another round "
            "closed, or an action answering a round it reads was recorded, edited or dropped"
        )


def result_states(
    connection: Connection, k: int, comment_k: int | None, round_ids: Collection[int] | None = None
) -> dict[int, ResultState]:
    """The state of every released round's results (or of those named), in four queries, each under the group
    sizes fixed when it closed (`k` and `comment_k`, today's settings, only for a round closed before they were
    kept, until the results work fixes them). Without `comment_k`, staff's scores are left out (the linkage does
    not read them).

    A round's linkage reads the rounds before it (up to HISTORY in all) with their customer figures, and the
    findings stored with the linkage of the round just before: what that one read is part of what it reads."""
    released = connection.execute(
        select(Round.id, Round.opens_at, Round.min_group_size, Round.min_comment_group_size)
        .where(Round.status.in_([s.value for s in RELEASED]))
        .order_by(Round.opens_at, Round.id)
    ).all()
    figures = _figures(connection, [round_id for round_id, *_ in released])
    actions = _action_keys(connection)
    sizes = {
        round_id: (k if kept is None else kept, comment_k if kept_comments is None else kept_comments)
        for round_id, _, kept, kept_comments in released
    }
    reads: dict[int, tuple[int, ...]] = {}
    linkage_keys: dict[int, str] = {}
    for index, (round_id, opens_at, *_) in enumerate(released):
        earlier = [r for r, at, *_ in released[:index] if at < opens_at][-(HISTORY - 1) :]
        read = (*earlier, round_id)
        before = linkage_keys[read[-2]] if len(read) > 1 else None
        linkage_keys[round_id] = _key(
            read, [figures.get(r) for r in read], before, [actions.get(r) for r in read]
        )
        if round_ids is None or round_id in round_ids:
            reads[round_id] = read
    stored: dict[tuple[int, str, str], str] = {
        (r, kind, key): data
        for r, kind, key, data in connection.execute(
            select(RoundResult.round_id, RoundResult.kind, RoundResult.key, RoundResult.data_key).where(
                RoundResult.round_id.in_(list(reads)), RoundResult.kind.in_([STAFF, CUSTOMERS, LINKAGE])
            )
        )
    }
    states = {}
    for round_id, read in reads.items():
        round_k, round_comment_k = sizes[round_id]
        settings = settings_key(round_k)
        staff_settings = None if round_comment_k is None else settings_key(round_k, round_comment_k)
        wanted = Wanted(
            round_id,
            settings,
            staff_settings,
            read,
            _key(figures.get(round_id)),
            linkage_keys[round_id],
            round_k,
            round_comment_k,
        )
        has_staff = staff_settings is None or (round_id, STAFF, staff_settings) in stored
        states[round_id] = ResultState(
            wanted,
            stored.get((round_id, CUSTOMERS, settings)) if has_staff else None,
            stored.get((round_id, LINKAGE, settings)),
            any(r == round_id and key not in (settings, staff_settings) for r, _, key in stored),
        )
    return states


def _figures(connection: Connection, round_ids: Collection[int]) -> dict[int, tuple]:
    """What changes whenever customer figures for a round are imported or replaced (their count and last import),
    or HR keeps or discards a burst of its customer answers (how many were decided, and the last decision; left
    out for a round with none, so its key stays as it was)."""
    figures: dict[int, tuple] = {
        r: (int(n), None if last is None else last.isoformat())
        for r, n, last in connection.execute(
            select(
                ExternalFigure.round_id, func.count(ExternalFigure.id), func.max(ExternalFigure.imported_at)
            )
            .where(ExternalFigure.round_id.in_(sorted(round_ids)))
            .group_by(ExternalFigure.round_id)
        )
    }
    for r, n, last in connection.execute(
        select(CustomerBurst.round_id, func.count(CustomerBurst.id), func.max(CustomerBurst.decided_at))
        .where(CustomerBurst.round_id.in_(sorted(round_ids)), CustomerBurst.decided_at.is_not(None))
        .group_by(CustomerBurst.round_id)
    ):
        figures[r] = (*figures.get(r, (0, None)), "bursts decided", int(n), last.isoformat())
    return figures


def _plans(
    connection: Connection, round_ids: Collection[int] | None = None
) -> list[tuple[ActionPlan, tuple[int, ...]]]:
    """The actions that answer these rounds (all rounds: None), dropped ones left out (they are not evaluated),
    each with the teams it targets, in the order they were recorded."""
    query = select(ActionPlan).where(ActionPlan.status != ActionStatus.DROPPED.value).order_by(ActionPlan.id)
    if round_ids is not None:
        query = query.where(ActionPlan.round_id.in_(sorted(round_ids)))
    plans = [ActionPlan.model_validate(row._mapping) for row in connection.execute(query)]
    teams: dict[int, list[int]] = {}
    for action_id, team_id in connection.execute(
        select(ActionPlanTeam.action_id, ActionPlanTeam.team_id)
        .where(ActionPlanTeam.action_id.in_([plan.id for plan in plans]))
        .order_by(ActionPlanTeam.team_id)
    ):
        teams.setdefault(action_id, []).append(team_id)
    return [(plan, tuple(teams.get(plan.id, ()))) for plan in plans]


def _action_rows(connection: Connection, round_ids: Collection[int]) -> list[effects_found.Action]:
    """The actions answering these rounds, as the effects read them."""
    return [
        effects_found.Action(plan.id, plan.function_id, str(plan.dimension), teams, plan.round_id, plan.title)
        for plan, teams in _plans(connection, round_ids)
    ]


def _action_keys(connection: Connection) -> dict[int, tuple]:
    """A fingerprint of the actions answering each round (id, function, dimension, teams, title; dropped ones are
    left out): actions are recorded, edited and dropped after a round closes, and the linkage of every round
    that evaluates them is then computed again. Progress (planned, under way, done) changes no figure, so it
    changes no fingerprint."""
    keys: dict[int, list[tuple]] = {}
    for plan, teams in _plans(connection):
        keys.setdefault(plan.round_id, []).append(
            (plan.id, plan.function_id, str(plan.dimension), teams, plan.title)
        )
    return {round_id: tuple(found) for round_id, found in keys.items()}


def _not_ready(connection: Connection, a_round: Round) -> NotReady:
    """Why a closed round's results are not there yet, as it stands."""
    work = connection.execute(
        select(ResultWork.claimed_at, ResultWork.outcome)
        .where(ResultWork.round_id == a_round.id, ResultWork.done_at.is_(None))
        .order_by(ResultWork.due_at.desc())
        .limit(1)
    ).first()
    name = f"The results of round {a_round.name!r}"
    if work is not None and work.claimed_at is not None and (work.outcome or "").startswith(FAILED):
        when = work.outcome.split(": ", 1)[0]  # "failed at ... UTC, tried again after ... minutes"
        return NotReady(
            f"{name} could not be computed ({when}); HR's page of the round says what went wrong."
        )
    if work is not None and work.claimed_at is not None:
        return NotReady(
            f"{name} are being computed (since {work.claimed_at:%Y-%m-%d %H:%M} UTC): they are ready a minute or "
            "so after the round closes, a few minutes on a large organisation. Try again shortly."
        )
    return NotReady(
        f"{name} are waiting to be computed: the server's scheduler computes them within a minute or so of the "
        "close (where it is turned off, the next `survey tick` does). Try again shortly."
    )


# --- Reading stored results ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stored(Generic[T]):
    """Stored results, as read by a request. `updating`: what they read has changed since they were computed
    (customer figures were imported, say); newer ones are being computed and replace them when stored."""

    result: T
    updating: bool
    computed_at: datetime


def _rows(connection: Connection, round_id: int, kinds: dict[str, str]) -> dict[str, RoundResult]:
    """The stored results of a round of these kinds, each under its settings key."""
    found = connection.execute(
        select(RoundResult).where(RoundResult.round_id == round_id, RoundResult.kind.in_(list(kinds)))
    )
    rows = (RoundResult.model_validate(r._mapping) for r in found)
    return {row.kind: row for row in rows if row.key == kinds[row.kind]}


def released_round(connection: Connection, round_id: int) -> Round:
    """A round whose results are released; raises NotReleased for one that is not closed."""
    a_round = _round(connection, round_id)
    _check_released(a_round)
    return a_round


def _released_state(
    connection: Connection, round_id: int, k: int, comment_k: int | None
) -> tuple[Round, ResultState]:
    a_round = released_round(connection, round_id)
    return a_round, result_states(connection, k, comment_k, [round_id])[round_id]


def read_scores(db: Database, round_id: int, k: int, comment_k: int) -> Stored[Scores]:
    """Every score of a closed round that may be shown, as stored: per support function, each team, group and
    the whole, with n and spread (null: suppressed), usage and the comments that may be shown; customers' scores
    per team and group; scale reliability. Under the round's own group sizes (`k` and `comment_k`, today's
    settings, only for a round whose sizes are not fixed yet). Raises NotReleased for a round not closed, NotReady
    before its results are stored. Computes nothing."""
    with db.engine.connect() as connection:
        a_round, state = _released_state(connection, round_id, k, comment_k)
        wanted = state.wanted
        rows = _rows(connection, round_id, {STAFF: str(wanted.staff_settings), CUSTOMERS: wanted.settings})
        if len(rows) < 2:
            raise _not_ready(connection, a_round)
        measures = asked_measures(connection, a_round.internal_instrument_id)
    staff = msgspec.convert(rows[STAFF].payload, _StaffPart)
    customers = rows[CUSTOMERS]
    result = Scores(
        round=_round_info(a_round),
        min_group_size=wanted.k,
        min_comment_group_size=cast(int, wanted.comment_k),  # asked for: not None
        scale="internal scores 1 to 7, higher is better; impact 1 to 7, higher is more harm",
        functions=staff.functions,
        reliability=staff.reliability,
        customers=msgspec.convert(customers.payload, _CustomersPart).customers,
        measures=measures,
    )
    return Stored(result, customers.data_key != wanted.scores, customers.computed_at)


def asked_measures(connection: Connection, instrument_id: int) -> list[str]:
    """The staff measures an employee questionnaire asks, overall first: overall and the five dimensions always,
    the impact (harm) item only if the version has one (the short one has none)."""
    dimensions = set(
        connection.execute(select(Item.dimension).where(Item.instrument_id == instrument_id)).scalars()
    )
    return [OVERALL, *DIMENSIONS, *([IMPACT] if IMPACT in dimensions else [])]


def scores(db: Database, round_id: int, k: int, comment_k: int) -> Scores:
    """`read_scores`' scores: raises NotReleased or NotReady as it does."""
    return read_scores(db, round_id, k, comment_k).result


def read_linkage(db: Database, round_id: int, k: int, outcome: str | None = None) -> Stored[Linkage]:
    """Drivers, hotspots and every test of a closed round, for one customer outcome, as stored. Without an
    outcome: the one chosen when they were computed (CSAT% if at least MIN_TEAMS teams have it shown this round,
    else NPS, CES or mean satisfaction, the first that does: customer figures imported from another tool may hold
    only some). Raises NotReleased for a round not closed, NotReady before its results are stored. Computes
    nothing."""
    if outcome is not None and outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}")
    with db.engine.connect() as connection:
        a_round, state = _released_state(connection, round_id, k, None)
        settings = state.wanted.settings
        if outcome is None:
            chosen = _rows(connection, round_id, {LINKAGE: settings}).get(LINKAGE)
            outcome = None if chosen is None else str(chosen.payload["outcome"])
        row = None
        if outcome is not None:
            kind = _linkage_kind(outcome)
            row = _rows(connection, round_id, {kind: settings}).get(kind)
        if row is None:
            raise _not_ready(connection, a_round)
    result = msgspec.structs.replace(  # its status now, not when computed
        msgspec.convert(row.payload, Linkage), round=_round_info(a_round)
    )
    return Stored(result, row.data_key != state.wanted.linkage, row.computed_at)


def read_action_effects(
    db: Database, round_id: int, k: int, function_id: int | None = None, outcome: str | None = None
) -> Stored[list[ActionEffect]]:
    """Did the actions answering earlier rounds work, as this round's linkage found (of one function, or of
    all): each evaluated action's verdict, sentence and tests, as stored. Raises as `read_linkage` does."""
    stored = read_linkage(db, round_id, k, outcome)
    found = [e for e in stored.result.actions if function_id is None or e.function.id == function_id]
    return Stored(found, stored.updating, stored.computed_at)


def linkage(db: Database, round_id: int, k: int, outcome: str | None = None) -> Linkage:
    """`read_linkage`'s linkage: raises NotReleased or NotReady as it does."""
    return read_linkage(db, round_id, k, outcome).result


# --- Computing and storing them: the results work (`rounds.results_work`) runs these ------------------------------


FAILED = "failed"  # how the work's record of a failure begins


def _kept_tree(db: Database, round_id: int) -> dict[int, int | None]:
    """The unit tree (each front-line team and group to the group above) this round's numbers are rolled up by:
    today's tree the first time, the same one ever after."""

    def kept(connection: Connection) -> Any:
        return connection.execute(
            select(RoundResult.payload).where(RoundResult.round_id == round_id, RoundResult.kind == "tree")
        ).scalar()

    with db.engine.connect() as connection:
        payload = kept(connection)
    if payload is None:
        insert = sqlite_insert if db.is_sqlite else postgresql_insert
        with db.write() as connection:  # two processes storing at once keep the first
            tree = UnitTree(sorted(_current_tree(connection).items()))
            connection.execute(
                insert(RoundResult)
                .values(
                    round_id=round_id,
                    kind="tree",
                    key="",
                    payload=msgspec.to_builtins(tree),
                    computed_at=utc_now(),
                )
                .on_conflict_do_nothing()
            )
            payload = kept(connection)
    return dict(msgspec.convert(payload, UnitTree).parents)


@dataclass(frozen=True)
class Computed:
    """A closed round's results, computed and not stored yet: the payload of each kind, and what they read."""

    wanted: Wanted
    payloads: dict[str, Any]
    summary: str  # what was computed, in words


def compute_results(db: Database, wanted: Wanted, step: Callable[[str], None] = lambda _: None) -> Computed:
    """Compute a closed round's results as `wanted` says they read now, under the round's group sizes: its
    scores (staff's part is reused when stored under the same settings: their answers are frozen at the close)
    and its linkage against every customer outcome, reading each earlier round as stored under its own sizes.
    `step` is called before each long step (the work renews its claim there). Reads, and writes nothing but the
    unit trees of the rounds read, the first time one is needed."""
    k, comment_k = wanted.k, cast(int, wanted.comment_k)  # the work asks for staff's scores: not None
    trees = {r: _kept_tree(db, r) for r in wanted.read}
    payloads: dict[str, Any] = {}
    with db.engine.connect() as connection:
        rounds = [_round(connection, r) for r in wanted.read]
        stored_staff = _rows(connection, wanted.round_id, {STAFF: str(wanted.staff_settings)}).get(STAFF)
        step("scores")
        current = _release(
            connection, wanted.round_id, trees[wanted.round_id], k, scales=stored_staff is None
        )
        units = _units(connection)
        staff = (
            stored_staff.payload
            if stored_staff
            else msgspec.to_builtins(_staff_part(connection, current, comment_k))
        )
        payloads[STAFF] = staff
        payloads[CUSTOMERS] = msgspec.to_builtins(_customers_part(units, current))
        # The linkage reads every round as its scores were stored: each round's answers are summed once, at
        # its close, and every later linkage reads the same rounded numbers whichever process computes it.
        released = [
            *(_stored_release(connection, r.id, trees[r.id], r.group_size(k)) for r in rounds[:-1]),
            _parts_release(wanted.round_id, k, payloads[STAFF], payloads[CUSTOMERS]),
        ]
        chosen = _chosen_outcome(current)
        payloads[LINKAGE] = {"outcome": chosen}
        said = []
        for outcome in OUTCOMES:
            label = OUTCOME_LABELS[outcome][0]
            step(f"the linkage against {label}")
            found = _linkage_of(connection, units, rounds, released, outcome, k, RESAMPLES)
            payloads[_linkage_kind(outcome)] = msgspec.to_builtins(found)
            shown = f"{label} (shown by default)" if outcome == chosen else label
            said.append(shown if found.enough_data else f"{label}: not enough data ({found.teams} teams)")
    return Computed(wanted, payloads, f"scores; the linkage against {', '.join(said)}")


def store_results(connection: Connection, computed: Computed, now: datetime, k: int, comment_k: int) -> bool:
    """Store computed results in the caller's transaction, replacing those stored under the same settings, unless
    those are up to date and the computed ones are not (what they read changed while they were computed, and
    another process stored newer ones meanwhile). Results of other versions of the computation are dropped.
    Returns whether they were stored."""
    wanted = computed.wanted
    now_state = result_states(connection, k, comment_k, [wanted.round_id]).get(wanted.round_id)
    if now_state is None or (now_state.current and now_state.wanted != wanted):
        return False
    settings = {STAFF: str(wanted.staff_settings)}
    connection.execute(
        delete(RoundResult).where(
            RoundResult.round_id == wanted.round_id,
            RoundResult.kind != "tree",
            RoundResult.key.in_([wanted.settings, settings[STAFF]])
            | ~RoundResult.key.startswith(f"v{VERSION} "),
        )
    )
    data = {STAFF: "", CUSTOMERS: wanted.scores}
    connection.execute(
        RoundResult.__table__.insert(),
        [
            {
                "round_id": wanted.round_id,
                "kind": kind,
                "key": settings.get(kind, wanted.settings),
                "data_key": data.get(kind, wanted.linkage),
                "payload": payload,
                "computed_at": now,
            }
            for kind, payload in computed.payloads.items()
        ],
    )
    return True


def _units(connection: Connection) -> dict[int, Unit]:
    return {u.id: u for u in (Unit.model_validate(r._mapping) for r in connection.execute(select(Unit)))}


def _round(connection: Connection, round_id: int) -> Round:
    return Round.model_validate(connection.execute(select(Round).where(Round.id == round_id)).one()._mapping)


def _release(connection: Connection, round_id: int, tree: dict, k: int, scales: bool = True) -> ReleasedRound:
    """A round's sums through the release gate, with its invitees per team (whose answered counts the response
    rates show) and its support functions."""
    invited, functions = release_inputs(connection, round_id)
    return release_round(round_sums(connection, round_id, scales), tree, k, invited, functions)


def release_inputs(connection: Connection, round_id: int) -> tuple[dict[int, int], list[int]]:
    """What the release gate reads of a round besides its sums: the invitees per team, and its support
    functions."""
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
    return {team: int(n) for team, n in invited}, list(functions)


def _stored_release(connection: Connection, round_id: int, tree: dict, k: int) -> ReleasedRound:
    """A round's released numbers as its stored scores hold them (under k; staff's under any comment group
    size: comments change no number). A round whose scores are not stored is summed now (the linkage needs no
    reliability: the query is spared the item sums) and rounded as they would have been stored."""
    rows = connection.execute(  # as text: msgspec decodes it into the parts' types many times faster
        select(RoundResult.kind, sql_cast(RoundResult.payload, Text)).where(
            RoundResult.round_id == round_id,
            or_(
                and_(RoundResult.kind == CUSTOMERS, RoundResult.key == settings_key(k)),
                and_(RoundResult.kind == STAFF, RoundResult.key.startswith(settings_key(k) + " comments")),
            ),
        )
    ).all()
    payloads = dict(rows)
    if len(payloads) == 2:
        return _parts_release(
            round_id,
            k,
            msgspec.json.decode(payloads[STAFF], type=_StaffPart),
            msgspec.json.decode(payloads[CUSTOMERS], type=_CustomersPart),
        )
    released = _release(connection, round_id, tree, k, scales=False)
    units = _units(connection)
    staff = _StaffPart(
        [
            _function_scores(units, released, f, [])
            for f in sorted(released.internal, key=lambda f: units[f].code)
        ],
        {},
    )
    return _parts_release(round_id, k, staff, _customers_part(units, released))


def _parts_release(round_id: int, k: int, staff: Any, customers: Any) -> ReleasedRound:
    """The numbers the linkage reads (each team's scores and customer measures, with n and spread) from staff's
    and customers' parts of a round's scores, as stored (JSON) or as computed."""
    if not isinstance(staff, _StaffPart):
        staff = msgspec.convert(staff, _StaffPart)
    if not isinstance(customers, _CustomersPart):
        customers = msgspec.convert(customers, _CustomersPart)

    def shown(figure: Figure | None) -> Shown:
        if figure is None:
            return SUPPRESSED
        favourable = None if figure.favourable is None else figure.favourable / 100
        return Shown(figure.n, figure.mean, figure.sd, favourable)

    def node(unit_id: int | None) -> Hashable:
        return TOTAL if unit_id is None else unit_id

    released = ReleasedRound(round_id, k)
    for function in staff.functions:  # the linkage reads the teams' scores: groups' are left out
        released.internal[function.unit_id] = {
            c.unit_id: {m: shown(c.scores.of(m)) for m in LINKED_MEASURES}
            for c in function.cells
            if c.kind == UnitKind.FRONT_LINE and c.unit_id is not None
        }
    released.external = {
        node(c.unit_id): {m: shown(c.scores.of(m)) for m in EXTERNAL_MEASURES} for c in customers.customers
    }
    return released


def _current_tree(connection: Connection) -> dict[int, int | None]:
    return {u.id: u.parent_id for u in _units(connection).values() if u.kind != UnitKind.SUPPORT}


def _figure(shown: Shown | None) -> Figure | None:
    """A released number as stored and sent: its mean and spread to 4 decimals, its share favourable as a
    percentage to 2 (the same precision)."""
    if shown is None or shown.suppressed or shown.n is None or shown.mean is None:
        return None
    return Figure(
        shown.n,
        round(shown.mean, 4),
        None if shown.sd is None else round(shown.sd, 4),
        None if shown.favourable is None else round(100 * shown.favourable, 2),
    )


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
        .order_by(Round.opens_at.desc(), Round.id.desc())  # as `result_states` reads them
        .limit(HISTORY - 1)
    ).all()
    return [Round.model_validate(r._mapping) for r in reversed(rows)]


def _taking_part(connection: Connection, round_ids: list[int], kind: UnitKind, units) -> list[Named]:
    ids = connection.execute(
        select(RoundUnit.unit_id).where(RoundUnit.round_id.in_(round_ids)).distinct()
    ).scalars()
    chosen = sorted((units[i] for i in ids if units[i].kind == kind), key=lambda u: u.code)
    return [Named(u.id, u.name) for u in chosen]


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
    resamples: int = RESAMPLES,
    trees: dict[int, dict[int, int | None]] | None = None,
) -> Linkage:
    """The linkage of a closed round against one outcome (None: the one chosen by default), computed now and not
    stored (the benchmark's measure), each round read under its own group size (`k` for one not fixed yet).
    `trees` holds each read round's unit tree (default: today's, for every round)."""
    units = _units(connection)
    rounds = [*_earlier_rounds(connection, a_round), a_round]
    current = _current_tree(connection) if trees is None else None
    released = [
        _stored_release(connection, r.id, current if trees is None else trees[r.id], r.group_size(k))
        for r in rounds
    ]
    return _linkage_of(
        connection, units, rounds, released, outcome or _chosen_outcome(released[-1]), k, resamples
    )


def _linkage_of(
    connection: Connection,
    units: dict[int, Unit],
    rounds: list[Round],
    released: list[ReleasedRound],
    outcome: str,
    k: int,
    resamples: int,
) -> Linkage:
    """The linkage of the last of `rounds` (oldest first) against `outcome`, from their released numbers."""
    a_round = rounds[-1]
    functions = _taking_part(connection, [a_round.id], UnitKind.SUPPORT, units)
    teams = _taking_part(connection, [r.id for r in rounds], UnitKind.FRONT_LINE, units)
    before = released[-2] if len(rounds) > 1 else None  # read under its own group size
    earlier = [] if before is None else _earlier_findings(connection, before.round_id, outcome, before.k)
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
    effects = effects_found.action_effects(
        released,
        teams,
        _action_rows(connection, list(names)),
        outcome,
        k,
        seed=a_round.id,
        resamples=resamples,
        round_names=[r.name for r in rounds],
    )
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
        actions=[_action_effect(e, units, names) for e in effects],
    )


def _action_effect(
    effect: effects_found.Effect, units: dict[int, Unit], names: dict[int, str]
) -> ActionEffect:
    def test(found: effects_found.Comparison | None) -> EffectTest | None:
        if found is None:
            return None
        return EffectTest(
            found.targeted,
            found.compared,
            _rounded(found.effect),
            _rounded(found.low),
            _rounded(found.high),
            _number(found.p),
            _number(found.q),
        )

    function = units[effect.function_id]
    return ActionEffect(
        actions=list(effect.action_ids),
        titles=list(effect.titles),
        function=UnitName(function.id, function.code, function.name),
        measure=effect.measure,
        answers=names[effect.round_id],
        teams=effect.teams,
        verdict=effect.verdict,
        customers_verdict=effect.customers_verdict,
        ratings=test(effect.ratings),
        customers=test(effect.customers),
        sentence=effect.sentence,
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


def _earlier_findings(connection: Connection, round_id: int, outcome: str, k: int) -> list[EarlierFinding]:
    """The ongoing findings of the round before, from its stored linkage for the same outcome under its group size, so
    that this round can say which have ended. None stored: none known. (The results work computes the rounds
    oldest first, and a round's waits for the round before's: `rounds.results_work`.)"""
    payload = connection.execute(
        select(RoundResult.payload).where(
            RoundResult.round_id == round_id,
            RoundResult.kind == _linkage_kind(outcome),
            RoundResult.key == settings_key(k),
        )
    ).scalar()
    if payload is None:
        return []
    try:
        stored = msgspec.convert(payload, Linkage)
    except msgspec.ValidationError:  # stored by a version that did not bump VERSION: no findings to carry
        return []
    return [
        EarlierFinding(
            f.function.id, f.measure, _round_id(connection, f.since), tuple(t.team.id for t in f.teams)
        )
        for f in stored.findings
        if f.status == "ongoing"
    ]


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
