"""The rules of action plans: statuses and the moves between them, what a valid action is, when one is overdue,
and when its reminders are due.

Pure: no web, no database.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta

from survey.analysis.results import Driver, FunctionScores, Hotspot
from survey.errors import Refused
from survey.vocabulary import DIMENSIONS, MEASURE_LABELS, OVERALL

PLANNED, UNDER_WAY, DONE, DROPPED = "planned", "under_way", "done", "dropped"
STATUSES: tuple[str, ...] = (PLANNED, UNDER_WAY, DONE, DROPPED)
STATUS_LABELS: dict[str, str] = {
    PLANNED: "Planned",
    UNDER_WAY: "Under way",
    DONE: "Done",
    DROPPED: "Dropped",
}
CLOSED: frozenset[str] = frozenset({DONE, DROPPED})  # no reminders, never overdue

# Each status and the statuses it may move to: planned -> under way -> done; any open one may be dropped; a done
# or dropped action is reopened as under way.
MOVES: dict[str, frozenset[str]] = {
    PLANNED: frozenset({UNDER_WAY, DROPPED}),
    UNDER_WAY: frozenset({DONE, DROPPED}),
    DONE: frozenset({UNDER_WAY, DROPPED}),
    DROPPED: frozenset({UNDER_WAY}),
}

# What an action may target: one of the five dimensions of service, or the function's service overall.
ACTION_DIMENSIONS: tuple[str, ...] = (*DIMENSIONS, OVERALL)
DIMENSION_LABELS: dict[str, str] = {d: MEASURE_LABELS[d] for d in ACTION_DIMENSIONS}

SOURCES: tuple[str, ...] = ("finding", "hotspot", "dimension", "request", "other")
SOURCE_LABELS: dict[str, str] = {
    "finding": "a finding of the round",
    "hotspot": "a hotspot: a team whose rating fell",
    "dimension": "a low-rated part of the service",
    "request": "a team head's request",
    "other": "something else",
}

TITLE_LENGTH = (5, 200)
DESCRIPTION_LENGTH = 2_000
NOTE_LENGTH = 2_000
REQUEST_LENGTH = (5, 2_000)
ANSWER_LENGTH = (2, 2_000)
DUE_SOON = timedelta(days=7)  # the "due soon" reminder goes out this long before the due date


class ActionError(Refused):
    """An action, note or request that cannot be saved. `errors` maps each wrong field to what is accepted."""

    def __init__(self, errors: dict[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{field}: {message}" for field, message in self.errors.items()))


def clean(text: str) -> str:
    """A typed text as stored: without NUL (which PostgreSQL text cannot hold) and white space at its ends."""
    return text.replace("\x00", "").strip()


@dataclass(frozen=True)
class ActionFields:
    """What a person types to create or edit an action (its texts cleaned as they are stored)."""

    title: str
    description: str
    dimension: str
    due_on: date | None
    team_ids: Collection[int]

    def __post_init__(self) -> None:
        object.__setattr__(self, "title", clean(self.title))
        object.__setattr__(self, "description", clean(self.description))


def action_problems(fields: ActionFields, created_on: date) -> dict[str, str]:
    """Each wrong field of an action and what it accepts; empty when the action is valid. `created_on` is the day
    the action was (or is being) created: its due date may not be earlier."""
    problems: dict[str, str] = {}
    low, high = TITLE_LENGTH
    if not low <= len(fields.title) <= high:
        problems["title"] = f"say what will change in {low} to {high} characters (it has {len(fields.title)})"
    if len(fields.description) > DESCRIPTION_LENGTH:
        problems["description"] = (
            f"at most {DESCRIPTION_LENGTH} characters (it has {len(fields.description)})"
        )
    if fields.dimension not in ACTION_DIMENSIONS:
        problems["dimension"] = f"one of {', '.join(ACTION_DIMENSIONS)}"
    if fields.due_on is None:
        problems["due_on"] = "give a due date (YYYY-MM-DD)"
    elif fields.due_on < created_on:
        problems["due_on"] = f"the due date may not be before the day the action was created ({created_on})"
    if not fields.team_ids:
        problems["teams"] = "choose at least one front-line team the action is for"
    return problems


def check_action(fields: ActionFields, created_on: date) -> None:
    """Raise ActionError naming every wrong field."""
    problems = action_problems(fields, created_on)
    if problems:
        raise ActionError(problems)


def check_move(current: str, new: str) -> None:
    """Raise ActionError unless an action may move from `current` to `new`."""
    if new not in STATUSES:
        raise ActionError({"status": f"one of {', '.join(STATUSES)}"})
    if new not in MOVES[current]:
        allowed = ", ".join(STATUS_LABELS[s].lower() for s in STATUSES if s in MOVES[current])
        raise ActionError(
            {"status": f"a {STATUS_LABELS[current].lower()} action can move to {allowed}, not to {new}"}
        )


def check_text(field: str, text: str, length: tuple[int, int]) -> None:
    low, high = length
    if not low <= len(text) <= high:
        raise ActionError({field: f"{low} to {high} characters (it has {len(text)})"})


def is_overdue(status: str, due_on: date, today: date) -> bool:
    """Past its due date and neither done nor dropped."""
    return status not in CLOSED and due_on < today


def parse_date(text: str) -> date | None:
    """A YYYY-MM-DD date, or None when it is not one."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def reminder_due(status: str, due_on: date, today: date, sent_for: date | None) -> bool:
    """Whether the "due soon" reminder is to go out today: within a week of the due date, not past it, not sent
    for this due date yet, and the action still open."""
    return status not in CLOSED and today <= due_on <= today + DUE_SOON and sent_for != due_on


def overdue_reminder_due(status: str, due_on: date, today: date, sent_for: date | None) -> bool:
    """Whether the "overdue" reminder is to go out: from the day after the due date, once per due date."""
    return is_overdue(status, due_on, today) and sent_for != due_on


def open_first(status: str, due_on: date, today: date) -> tuple[int, date]:
    """The order of a list of actions: overdue ones first, then the other open ones by due date, then the done
    and dropped ones."""
    if is_overdue(status, due_on, today):
        return 0, due_on
    return (2 if status in CLOSED else 1), due_on


# --- "Plan an action" from a function's results ------------------------------------------------------------------

LOW_TEAMS = 5  # a low dimension's action is prefilled with the teams that rate it lowest


@dataclass(frozen=True)
class Suggestion:
    """An action to plan from a function's results, prefilled: what it answers (`source`), the dimension, the
    teams (ids) and, in words, what on the dashboard it is about."""

    source: str
    dimension: str
    team_ids: tuple[int, ...]
    about: str


_CLAIM_WORDS = {
    "precedes": "come before",
    "lines up with": "line up with",
}  # the finding's claim, of plural ratings


def suggestions(
    function: FunctionScores | None, driver: Driver | None, hotspots: list[Hotspot]
) -> list[Suggestion]:
    """The actions a function head may plan from a round's results: one for a claimed finding (its teams the
    hotspots), one per hotspot (its team's lowest-rated part of the service), one for the lowest-rated dimension
    (the teams that rate it lowest)."""
    found = []
    if driver is not None and driver.claim:
        dimension = driver.measure if driver.measure in ACTION_DIMENSIONS else OVERALL
        found.append(
            Suggestion(
                "finding",
                dimension,
                tuple(h.team.id for h in hotspots),
                f"The finding: low ratings of {driver.function.name} {_CLAIM_WORDS.get(driver.claim, driver.claim)} "
                "lower customer figures",
            )
        )
    for hotspot in hotspots:
        found.append(
            Suggestion(
                "hotspot",
                _lowest_dimension(function, hotspot.team.code) or OVERALL,
                (hotspot.team.id,),
                f"Hotspot: {hotspot.team.name} rates {hotspot.function.name} lower than it used to",
            )
        )
    weakest = _lowest_dimension(function, None)
    if function is not None and weakest is not None:
        rated = [
            (f.mean, c.name, c.unit_id) for c in function.teams if (f := c.scores.of(weakest)) and c.unit_id
        ]
        low = tuple(unit_id for _, _, unit_id in sorted(rated)[:LOW_TEAMS])
        found.append(
            Suggestion(
                "dimension",
                weakest,
                low,
                f"The lowest-rated part of the service: {DIMENSION_LABELS[weakest].lower()}",
            )
        )
    return found


def _lowest_dimension(function: FunctionScores | None, code: str | None) -> str | None:
    """The dimension with the lowest shown score at a team (`code`) or over every team (None)."""
    if function is None:
        return None
    shown = [(figure.mean, d) for d in DIMENSIONS if (figure := function.score(code, d)) is not None]
    return min(shown)[1] if shown else None
