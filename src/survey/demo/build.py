"""`survey demo`: a realistic organisation with four closed quarterly rounds, their results computed, and one open
round, in SQLite. `survey simulate`: closed rounds only, whose results the scheduler computes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, insert, update
from sqlmodel import select

from survey.accounts.users import create_user
from survey.db.engine import Database, upgrade
from survey.db.models import (
    ActionPlan,
    ActionPlanTeam,
    ActionSource,
    ActionStatus,
    Employee,
    Invitation,
    Item,
    Role,
    Round,
    RoundStatus,
    SurveyKind,
    Unit,
    User,
    UserUnit,
)
from survey.demo.promises import add_demo_promises
from survey.demo.simulation import (
    ItemSpec,
    OrgShape,
    Plant,
    SimulatedRound,
    make_organisation,
    plant,
    plant_actions,
    simulate_rounds,
)
from survey.mail.delivery import store_due
from survey.reports.catalogue import ReportRef, round_reports
from survey.reports.render import render_round, round_folder
from survey.rounds.lifecycle import (
    advance_round,
    close_round,
    create_round,
    invitation_link,
    latest_instrument,
    new_public_slug,
)
from survey.rounds.results_work import results_pass
from survey.rounds.scheduler import create_schedule, open_now
from survey.settings import Settings
from survey.surveys.intake import external_rows, internal_rows, store_external, store_internal
from survey.surveys.questionnaire import CustomerAnswers, Review
from survey.tokens import new_token, token_hash
from survey.vocabulary import UnitKind

DEMO_DATABASE = "survey-demo.db"
# Beside the database: the PDF reports of the latest closed round, which the demo server serves from there.
DEMO_REPORTS = "survey-demo-reports"
# The demo's accounts share this password. A demo on 127.0.0.1 only; never a real deployment.
DEMO_PASSWORD = "demo-password-2026"
# Shares of each team's staff who have answered the open round so far, team by team in turn: most teams are on
# their way to a healthy 75%, some are below the 60% that deserves a warning.
OPEN_ROUND_ANSWERED_SHARES = (0.42, 0.58, 0.67, 0.75, 0.83, 0.92)


@dataclass
class DemoInfo:
    database: Path
    employee_link: str
    customer_link: str
    customer_team: str
    summary: str
    planted: str
    truth: Plant  # the planted story, in indexes of the two lists below
    function_ids: list[int]
    team_ids: list[int]
    accounts: list[tuple[str, str]]  # (e-mail, what the account sees); every one's password is DEMO_PASSWORD
    published_round_id: int  # the latest closed round, published: its reports are what heads download


def first_monday(year: int, month: int) -> date:
    day = date(year, month, 1)
    return day + timedelta(days=(7 - day.weekday()) % 7)


def quarter_names(today: date, count: int) -> list[tuple[str, date]]:
    """The `count` quarters up to and including today's, oldest first, with their first Mondays."""
    year, quarter = today.year, (today.month - 1) // 3 + 1
    quarters = []
    for _ in range(count):
        quarters.append((f"{year} Q{quarter}", first_monday(year, 3 * quarter - 2)))
        year, quarter = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
    return quarters[::-1]


@dataclass
class Simulated:
    """An organisation and rounds written by `simulate_into`, with the truth planted in them."""

    shape: OrgShape
    truth: Plant  # in indexes of the lists below
    planted: bool
    functions: list[Unit]
    teams: list[Unit]
    round_names: list[str]
    last_round: SimulatedRound  # the last round's answers (not written when it is left open)
    items: tuple[list[Item], list[Item]]

    def describe(self) -> str:
        if not self.planted:
            return "Nothing planted: every difference between teams and rounds is noise or stable."
        names = [f.name for f in self.functions]
        truth, rounds = self.truth, self.round_names
        return (
            f"{names[truth.driver]} ({self.functions[truth.driver].code}) failed {len(truth.driver_teams)} teams "
            f"in {rounds[truth.internal_drop_round]}: {', '.join(self.teams[t].code for t in truth.driver_teams)}; "
            f"their customers' scores dropped in {rounds[truth.internal_drop_round + 1]}. "
            f"{names[truth.decoy]} ({self.functions[truth.decoy].code}) dropped for other teams with no customer "
            f"effect. Customers of {', '.join(self.teams[t].code for t in truth.customer_only_teams)} dropped "
            "with no internal cause."
        )

    def truth_record(self) -> dict[str, Any]:
        """The planted truth by unit codes and round names, as `survey simulate --truth` writes it (JSON)."""
        truth, planted = self.truth, self.planted

        def codes(indexes: Iterable[int]) -> list[str]:
            return [self.teams[i].code for i in indexes] if planted else []

        return {
            "planted": planted,
            "rounds": self.round_names,
            "driver": self.functions[truth.driver].code if planted else None,
            "driver_teams": codes(truth.driver_teams),
            "decoy": self.functions[truth.decoy].code if planted else None,
            "decoy_teams": codes(truth.decoy_teams),
            "customer_only_teams": codes(truth.customer_only_teams),
            "internal_drop_round": self.round_names[truth.internal_drop_round] if planted else None,
        }


def simulate_into(
    db: Database,
    shape: OrgShape,
    seed: int,
    *,
    planted: bool = True,
    drop_round: int | None = None,
    affected_share: float = 0.2,
    acting: Callable[[Plant], Plant] | None = None,
    internal_drop: float = 1.4,
    customer_drop: float = 0.9,
    leave_last_open: bool = False,
    now: datetime | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> Simulated:
    """Write a synthetic organisation into an empty, migrated database, and quarterly rounds of answers up to
    now's quarter with a planted story (see simulation.py): every round closed, or the last left for the caller
    to open (`leave_last_open`). With `planted` False, nothing drops: a null organisation. The closed rounds'
    results are left to the results work (`rounds.results_work`), as after any close. `acting` plants the
    driver's actions in the story (`simulation.plant_actions`); the caller records them."""
    rng = np.random.default_rng(seed)
    org = make_organisation(shape, rng)
    truth = plant(shape, rng, affected_share=affected_share, drop_round=drop_round)
    if acting is not None:
        truth = acting(truth)
    with db.session() as session:
        progress(f"Importing {shape.teams} front-line teams, {shape.functions} support functions")
        function_ids, team_ids = _organisation(session, org)
        internal_items, external_items = _items(session)
        functions = [session.get(Unit, i) for i in function_ids]
        teams = [session.get(Unit, i) for i in team_ids]
    progress(f"Simulating {shape.rounds} quarters of answers")
    drops = (
        {"internal_drop": internal_drop, "customer_drop": customer_drop}
        if planted
        else {"internal_drop": 0.0, "customer_drop": 0.0}
    )
    simulated = simulate_rounds(
        shape, [_spec(i) for i in internal_items], [_spec(i) for i in external_items], truth, rng, **drops
    )
    now = now or datetime.now(UTC)
    quarters = quarter_names(now.date(), shape.rounds)
    written = list(zip(quarters, simulated, strict=True))
    if leave_last_open:
        written = written[:-1]
    for (name, monday), answers in written:
        progress(
            f"Round {name}: {len(answers.internal)} employee and {len(answers.external)} customer answers"
        )
        opens = datetime.combine(monday, datetime.min.time(), UTC) + timedelta(hours=7)
        _closed_round(db, name, opens, answers, function_ids, team_ids, internal_items, external_items)
    return Simulated(
        shape,
        truth,
        planted,
        functions,
        teams,
        [name for name, _ in quarters],
        simulated[-1],
        (internal_items, external_items),
    )


def close_simulated_round(
    db: Database, sim: Simulated, name: str, opens: datetime, answers: SimulatedRound
) -> None:
    """Write one more round of simulated answers and close it, as `simulate_into` does for each of its rounds
    (its results left to the results work): a story that goes on after someone acted in between."""
    internal_items, external_items = sim.items
    function_ids, team_ids = [f.id for f in sim.functions], [t.id for t in sim.teams]
    _closed_round(db, name, opens, answers, function_ids, team_ids, internal_items, external_items)


def open_simulated_round(
    db: Database, sim: Simulated, settings: Settings, name: str, now: datetime, answers: SimulatedRound
) -> str:
    """Open one more round now, as the demo opens its last one; returns an unused employee link."""
    function_ids, team_ids = [f.id for f in sim.functions], [t.id for t in sim.teams]
    return _open_round(db, name, now, answers, function_ids, team_ids, sim.items, settings, sim.shape)


def build_demo(
    path: Path,
    base_url: str,
    secret_key: str,
    seed: int = 2026,
    progress: Callable[[str], None] = lambda _: None,
) -> DemoInfo:
    """Create (or reset) the demo database at `path` and fill it."""
    for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        stale.unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    progress("Creating the database")
    upgrade(url)
    db = Database(url)
    shape = OrgShape(rounds=5, customers_per_team=150)
    now = datetime.now(UTC)
    settings = Settings(database_url=url, secret_key=secret_key, base_url=base_url)
    try:
        # The story plays out in the closed rounds; the last round is open.
        sim = _simulate_demo(db, shape, seed, now, progress)
        function_ids, team_ids = [f.id for f in sim.functions], [t.id for t in sim.teams]
        with db.session() as session:
            first_opened = session.exec(select(func.min(Round.opens_at))).one()
        add_demo_promises(db, function_ids, first_opened)  # in force from the first round
        name = sim.round_names[-1]
        progress(f"Round {name}: open, two thirds of the invitations answered")
        link = _open_round(db, name, now, sim.last_round, function_ids, team_ids, sim.items, settings, shape)
        truth = sim.truth
        with db.session() as session:
            # HR has published the closed rounds: heads and executives can download their reports.
            published = _publish_closed_rounds(session)
            team = session.get(Unit, team_ids[0])
            accounts = _accounts(session, session.get(Unit, function_ids[truth.driver]), team)
            _record_actions(session, sim)
            create_schedule(session, "Quarterly", timezone="Europe/Berlin", now=now)
        store_due(db, now)  # no mail server in the demo: HR reads the invitations in the outbox
        _demo_actions(db, sim, published, now)  # the function head's actions, the team head's request
        # The closed rounds' results, computed as the server's scheduler would have at each close.
        progress(f"Computing the results of the {shape.rounds - 1} closed rounds")
        computed = results_pass(db, settings, now)
        if computed.problems:
            raise RuntimeError("; ".join(computed.problems))
        names = [f.name for f in sim.functions]
        summary = (
            f"{shape.teams} front-line teams in {shape.regions} regions, {shape.functions} support functions, "
            f"{shape.teams * shape.staff_per_team} employees; {shape.rounds - 1} closed rounds and 1 open"
        )
        rounds = sim.round_names
        planted = (
            f"{names[truth.driver]} failed {len(truth.driver_teams)} teams in {rounds[truth.internal_drop_round]}; "
            f"their customers' scores dropped in {rounds[truth.internal_drop_round + 1]}. "
            f"{names[truth.decoy]} dropped for other teams with no customer effect."
        )
        return DemoInfo(
            path,
            link,
            f"{base_url}/c/{team.public_slug}",
            team.name,
            summary,
            planted,
            truth,
            function_ids,
            team_ids,
            accounts,
            published,
        )
    finally:
        db.dispose()


def _simulate_demo(
    db: Database, shape: OrgShape, seed: int, now: datetime, progress: Callable[[str], None]
) -> Simulated:
    """The demo's story: the driver fails some teams from the third round, and acts (`_acting`)."""
    return simulate_into(
        db,
        shape,
        seed,
        drop_round=shape.rounds - 3,
        acting=lambda truth: _acting(truth, shape.teams),
        leave_last_open=True,
        now=now,
        progress=progress,
    )


def _acting(truth: Plant, teams: int) -> Plant:
    """The driver's actions in the demo, answering the second round: before the story's shortfall, it had
    failed five other teams from the first round; one action restored its service there from the third round
    (their customers recovered in the fourth, the latest closed one); the other, at five more teams, changed
    nothing. The main shortfall, and its finding, are left as they were."""
    involved = {*truth.driver_teams, *truth.decoy_teams, *truth.customer_only_teams}
    spare = [t for t in range(teams) if t not in involved]
    restored, unchanged = spare[:5], spare[5:10]
    truth.earlier_teams = restored
    truth.starts.update(dict.fromkeys(restored, 0))
    return plant_actions(truth, 1, restored, unchanged)


DEMO_ACTIONS = (  # title, dimension, source: the effective action first, as `_acting` plants them
    ("Deliveries checked against the order before they leave the depot", "reliability", ActionSource.FINDING),
    ("A weekly call with the store managers about stock", "responsiveness", ActionSource.OTHER),
)


def _record_actions(session, sim: Simulated) -> None:
    """The planted actions as the function head recorded them: done, at their teams, answering their round."""
    owner = session.exec(select(User).where(User.email == "function.head@demo.example")).one()
    rounds = {r.name: r for r in session.exec(select(Round)).all()}
    for planted, (title, dimension, source) in zip(sim.truth.actions, DEMO_ACTIONS, strict=True):
        answered = rounds[sim.round_names[planted.answers_round]]
        done = answered.closes_at + timedelta(days=30)
        action = ActionPlan(
            function_id=sim.functions[sim.truth.driver].id,
            round_id=answered.id,
            source=source,
            dimension=dimension,
            title=title,
            owner_id=owner.id,
            due_on=done.date(),
            status=ActionStatus.DONE,
            created_by_id=owner.id,
            created_at=answered.closes_at + timedelta(days=7),
            updated_at=done,
            completed_at=done,
        )
        session.add(action)
        session.flush()
        session.add_all(ActionPlanTeam(action_id=action.id, team_id=sim.teams[t].id) for t in planted.teams)
    session.commit()


def _publish_closed_rounds(session) -> int:
    """Publish the closed rounds, each as it closed; returns the latest one's id."""
    closed = session.exec(select(Round).where(Round.status == RoundStatus.CLOSED).order_by(Round.opens_at))
    for a_round in closed.all():
        advance_round(session, a_round, RoundStatus.PUBLISHED, now=a_round.closes_at)
        published = a_round.id
    return published


def _demo_actions(db: Database, sim: Simulated, round_id: int, now: datetime) -> None:
    """The driver function's head answers the latest published round: one action done (with notes), one under
    way (for the demo team head's team too), one planned and overdue; and the demo team head's request to the
    function, answered."""
    from survey.actions import store
    from survey.actions.rules import ActionFields

    function_id = sim.functions[sim.truth.driver].id
    failed = [sim.teams[t].id for t in sim.truth.driver_teams]
    with db.session() as session:
        own_team = session.exec(
            select(UserUnit.unit_id).join(User).where(User.email == "team.head@demo.example")
        ).one()
        head = session.exec(select(User).where(User.email == "function.head@demo.example")).one()
        team_head = session.exec(select(User).where(User.email == "team.head@demo.example")).one()
        fiona, theo = store.reader_for(session, head), store.reader_for(session, team_head)
        started = now - timedelta(days=40)
        plans = [
            (
                "hotspot",
                "reliability",
                "Spare tills kept in every region",
                failed[:2],
                10,
                ["under_way", "done"],
            ),
            (
                "finding",
                "responsiveness",
                "A named contact answers each team's calls the same day",
                [*failed, own_team],
                45,
                ["under_way"],
            ),
            (
                "dimension",
                "tangibles",
                "Card readers replaced in the older stores",
                failed[2:5] or failed,
                -5,
                [],
            ),
        ]
        notes = {
            "under_way": "Started: the first region has its spares and contact list.",
            "done": "Done: every region keeps two spare tills; a broken one is swapped the same day.",
        }
        for source, dimension, title, teams, due_in, moves in plans:
            action = store.create_action(
                session,
                fiona,
                function_id=function_id,
                round_id=round_id,
                source=source,
                fields=ActionFields(
                    title, "", dimension, (started + timedelta(days=40 + due_in)).date(), sorted(set(teams))
                ),
                owner_id=head.id,
                now=started,
            )
            for step, status in enumerate(moves, 1):
                store.add_note(
                    session, fiona, action.id, notes[status], status, started + timedelta(days=7 * step)
                )
        request = store.raise_request(
            session,
            theo,
            team_id=own_team,
            function_id=function_id,
            dimension="responsiveness",
            text="Our calls about broken tills wait two days for an answer.",
            now=started,
        )
        store.answer_request(
            session,
            fiona,
            request.id,
            "Each team now has a named contact who answers the same day; see the action for your team.",
            started + timedelta(days=2),
        )


def _organisation(session, org) -> tuple[list[int], list[int]]:
    regions = [
        Unit(code=f"R{i + 1}", name=f"{name} region", kind=UnitKind.GROUP)
        for i, name in enumerate(org.regions)
    ]
    session.add_all(regions)
    session.flush()
    functions = [
        Unit(code=f"SF{i + 1:02d}", name=name, kind=UnitKind.SUPPORT) for i, name in enumerate(org.functions)
    ]
    teams = [
        Unit(
            code=f"FL{i + 1:03d}",
            name=name,
            kind=UnitKind.FRONT_LINE,
            parent_id=regions[region].id,
            public_slug=new_public_slug(),
        )
        for i, (name, region) in enumerate(org.teams)
    ]
    session.add_all(functions + teams)
    session.flush()
    session.add_all(
        Employee(email=email, name=name, unit_id=teams[t].id)
        for t, people in enumerate(org.staff)
        for name, email in people
    )
    session.commit()
    return [f.id for f in functions], [t.id for t in teams]


def _accounts(session, function: Unit, team: Unit) -> list[tuple[str, str]]:
    """One account of each role, to log in and look around."""
    people = [
        ("hr@demo.example", "Harriet HR", Role.HR, [], "HR: everything, administration"),
        ("exec@demo.example", "Evan Executive", Role.EXECUTIVE, [], "executive: every unit"),
        (
            "function.head@demo.example",
            "Fiona Function",
            Role.HEAD,
            [function.code],
            f"head of {function.name}",
        ),
        ("team.head@demo.example", "Theo Team", Role.HEAD, [team.code], f"head of {team.name}"),
    ]
    for email, name, role, units, _ in people:
        create_user(session, email, name, role, units, password=DEMO_PASSWORD)
    return [(email, sees) for email, _, _, _, sees in people]


def _items(session) -> tuple[list[Item], list[Item]]:
    """The items of the newest internal and external instruments, in order."""

    def items(kind: SurveyKind) -> list[Item]:
        instrument = latest_instrument(session, kind)
        return list(
            session.exec(select(Item).where(Item.instrument_id == instrument.id).order_by(Item.position))
        )

    return items(SurveyKind.INTERNAL), items(SurveyKind.EXTERNAL)


def _spec(item: Item) -> ItemSpec:
    return ItemSpec(item.dimension, item.scale_min, item.scale_max, item.reverse_keyed)


def _reviews(answer_set, functions, internal_items) -> list[Review]:
    reviews = []
    for function_id, review in zip(functions, answer_set.reviews, strict=True):
        if review is None:
            reviews.append(Review(function_id, used=False))
        else:
            values, comment = review
            reviews.append(
                Review(
                    function_id, True, {i.id: v for i, v in zip(internal_items, values, strict=True)}, comment
                )
            )
    return reviews


def _closed_round(db, name, opens, answers: SimulatedRound, functions, teams, internal_items, external_items):
    with db.session() as session:
        a_round = create_round(session, name, opens, opens + timedelta(days=14), now=opens)
        advance_round(session, a_round, RoundStatus.OPEN, now=opens)
        round_id = a_round.id
    respondents = _count_by_team(answers, len(teams))
    with db.write() as connection:
        employees = connection.execute(select(Employee.id, Employee.unit_id).order_by(Employee.id)).all()
        seen: dict[int, int] = {}
        index_of = {team_id: index for index, team_id in enumerate(teams)}
        invitations = []
        for employee_id, team_id in employees:
            index = index_of[team_id]
            seen[team_id] = seen.get(team_id, 0) + 1
            invitations.append(
                {
                    "round_id": round_id,
                    "employee_id": employee_id,
                    "team_id": team_id,
                    "token_hash": token_hash(new_token()),  # links of past rounds were sent and are long gone
                    "session_hash": None,
                    "answered": seen[team_id] <= respondents[index],
                }
            )
        connection.execute(insert(Invitation.__table__), invitations)
        store_internal(
            connection,
            [
                internal_rows(round_id, teams[a.team], _reviews(a, functions, internal_items))
                for a in answers.internal
            ],
        )
        store_external(connection, _external(round_id, teams, answers.external, external_items))
    # A simulated history has no settings: the results pass fixes the rounds' group sizes, as for a round closed
    # before they were kept.
    close_round(db, round_id, settings=None, now=opens + timedelta(days=14))


def _open_round(db, name, now, answers: SimulatedRound, functions, teams, items, settings, shape) -> str:
    """Open the current round, invite everyone, and answer some of each team's invitations (and take about half
    the customers' answers). Returns an unused employee link."""
    internal_items, external_items = items
    opens = now - timedelta(days=3)
    with db.session() as session:
        round_id = create_round(
            session,
            name,
            opens,
            now + timedelta(days=11),
            reminders_at=[opens + timedelta(days=5)],
            now=opens,
        ).id
    open_now(db, settings, round_id, now=opens)  # invitations issued and mailed, as the schedule would
    # Answer the first few of each team's simulated respondents, through the same rows live answers use.
    per_team: dict[int, int] = {}
    chosen = []
    for a in answers.internal:
        per_team[a.team] = per_team.get(a.team, 0) + 1
        share = OPEN_ROUND_ANSWERED_SHARES[a.team % len(OPEN_ROUND_ANSWERED_SHARES)]
        if per_team[a.team] <= round(shape.staff_per_team * share):
            chosen.append(a)
    with db.write() as connection:
        invitations_by_team: dict[int, list[int]] = {}
        for row in connection.execute(
            select(Invitation.team_id, Invitation.id).where(Invitation.round_id == round_id)
        ):
            invitations_by_team.setdefault(row.team_id, []).append(row.id)
        answered = [invitations_by_team[teams[a.team]].pop() for a in chosen]
        connection.execute(update(Invitation).where(Invitation.id.in_(answered)).values(answered=True))
        store_internal(
            connection,
            [internal_rows(round_id, teams[a.team], _reviews(a, functions, internal_items)) for a in chosen],
        )
        store_external(connection, _external(round_id, teams, answers.external[::2], external_items))
    with db.session() as session:
        unused = session.exec(
            select(Invitation)
            .where(Invitation.round_id == round_id, Invitation.answered.is_(False))
            .order_by(Invitation.id)
        ).first()
    return invitation_link(settings.base_url, settings.secret_key, unused)


def _external(round_id, teams, answer_sets, external_items):
    return [
        external_rows(
            round_id,
            teams[a.team],
            CustomerAnswers({i.id: v for i, v in zip(external_items, a.values, strict=True)}, None),
        )
        for a in answer_sets
    ]


def _count_by_team(answers: SimulatedRound, team_count: int) -> list[int]:
    counts = [0] * team_count
    for a in answers.internal:
        counts[a.team] += 1
    return counts


def render_demo_reports(
    info: DemoInfo, directory: Path, progress: Callable[[str], None] = lambda _: None
) -> Path:
    """Render every report of the demo's latest published round into `directory` (as a reports folder the
    server serves from: see `cached_pdf`), on every core. Returns the round's folder."""
    url = f"sqlite:///{info.database}"
    db = Database(url)
    try:
        with db.session() as session:
            a_round = session.get(Round, info.published_round_id)
            refs = round_reports(session, a_round)
        folder = round_folder(directory, a_round.id)
        done = []

        def step(ref: ReportRef) -> None:
            done.append(ref)
            if len(done) % 10 == 0 or len(done) == len(refs):
                progress(f"Rendered {len(done)} of {len(refs)} reports of {a_round.name}")

        render_round(db, a_round.id, Settings(database_url=url), folder, refs, progress=step, keep_keys=True)
        return folder
    finally:
        db.dispose()
