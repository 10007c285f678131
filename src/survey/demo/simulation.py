"""Synthetic organisations and survey answers with a known, planted structure.

Pure: numpy only. The demo and the tests use it; so will the analytics validation. The story it plants:
- one *driver* support function whose service to some front-line teams drops in one round, and those teams'
  customer scores drop in the next round;
- a *decoy* function that drops for other teams with no customer effect;
- a few teams whose customer scores drop with no internal cause;
- actions the driver takes in answer to a round (`plant_actions`): an effective one restores its service at the
  teams it targets from the next round (their customers recover a round after that), an ineffective one changes
  nothing;
- stable differences between teams, and noise in every answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

FUNCTION_NAMES = [
    "IT Service Desk", "Human Resources", "Payroll", "Logistics", "Facilities", "Procurement", "Finance",
    "Training", "Marketing Support", "Legal",
]  # fmt: skip
REGIONS = ["North", "Central", "South", "West", "East"]
TOWNS = [
    "Aberton", "Bramley", "Carsford", "Dunmore", "Eastleigh", "Fairholm", "Glenby", "Harrowgate", "Ingleton",
    "Jarrow", "Kelso", "Lydney", "Marlow", "Newby", "Oakham", "Penrith", "Quinton", "Redruth", "Selby", "Thirsk",
    "Ulverston", "Ventnor", "Whitby", "Yarm", "Alston", "Bude", "Clitheroe", "Dorking", "Ely", "Frome", "Goole",
    "Hexham", "Ilkley", "Keswick", "Ledbury", "Malton", "Nairn", "Otley", "Pickering", "Ripon",
]  # fmt: skip
FIRST_NAMES = [
    "Alex", "Sam", "Jordan", "Priya", "Tomasz", "Aisha", "Chen", "Maria", "Olu", "Fatima", "Liam", "Sofia",
    "Noah", "Emma", "Ravi", "Ines", "Kofi", "Hana", "Mateo", "Zara", "Ewan", "Leila", "Jonas", "Amara",
]  # fmt: skip
LAST_NAMES = [
    "Smith", "Khan", "Nowak", "Okafor", "Garcia", "Li", "Patel", "Jones", "Silva", "Murphy", "Rossi", "Ahmed",
    "Brown", "Kowalski", "Nguyen", "Evans", "Haddad", "Walsh", "Costa", "Larsen",
]  # fmt: skip
COMMENTS = {
    "driver": ["Deliveries keep arriving late or short.", "We ran out of stock customers asked for, again.",
               "Nobody answers when a delivery is missing."],
    "decoy": ["Took weeks to get an answer this time.", "The new process is confusing."],
    "neutral": ["Generally fine.", "Helpful when you reach the right person.", "No complaints this quarter.",
                "Could be quicker, but they get there."],
}  # fmt: skip


@dataclass(frozen=True)
class ItemSpec:
    """What the simulation needs to know about an item: what it measures and how it is scored."""

    dimension: str
    scale_min: int
    scale_max: int
    reverse_keyed: bool = False


@dataclass(frozen=True)
class OrgShape:
    functions: int = 7
    teams: int = 30
    staff_per_team: int = 12
    staff_max: int | None = None  # team sizes drawn from staff_per_team to this (default: all the same)
    customers_per_team: int = 60
    rounds: int = 4
    response_rate: float = 0.78
    regions: int = 3


@dataclass
class Organisation:
    functions: list[str]
    regions: list[str]
    teams: list[tuple[str, int]]  # (name, region index)
    staff: list[list[tuple[str, str]]]  # per team: (name, email)


@dataclass(frozen=True)
class PlantedAction:
    """An action of the driver answering a round, at some teams; effective or not (the truth to check)."""

    teams: tuple[int, ...]
    answers_round: int
    effective: bool


@dataclass
class Plant:
    """The planted truth, for checking what the analysis finds."""

    driver: int  # function index
    decoy: int
    driver_teams: list[int]
    decoy_teams: list[int]
    customer_only_teams: list[int]
    internal_drop_round: int  # the driver fails from this round on; customers feel it one round later
    # Staggered shortfalls (default: every driver and decoy team from internal_drop_round, never recovering):
    # the round each team's shortfall begins, and the round its ratings recover (customers one round later).
    starts: dict[int, int] = field(default_factory=dict)
    recoveries: dict[int, int] = field(default_factory=dict)
    actions: list[PlantedAction] = field(default_factory=list)
    # Teams the driver fails outside the main story, each from its own start (`starts`) until its recovery, as
    # a driver team (the demo's: an earlier shortfall an action put right).
    earlier_teams: list[int] = field(default_factory=list)

    def start(self, team: int) -> int:
        return self.starts.get(team, self.internal_drop_round)

    def failing(self, team: int, r: int) -> bool:
        """The driver (or decoy) fails this team in round r."""
        return self.start(team) <= r < self.recoveries.get(team, 10**6)

    def customers_down(self, team: int, r: int) -> bool:
        """This driver team's customers feel the shortfall in round r: from the round after it began until the
        round after its ratings recovered."""
        return self.start(team) + 1 <= r < self.recoveries.get(team, 10**6) + 1


@dataclass
class InternalAnswerSet:
    team: int
    # per function: None if "did not use", else (item values, comment)
    reviews: list[tuple[list[int], str | None] | None]


@dataclass
class ExternalAnswerSet:
    team: int
    values: list[int]
    comment: str | None = None


@dataclass
class SimulatedRound:
    internal: list[InternalAnswerSet] = field(default_factory=list)
    external: list[ExternalAnswerSet] = field(default_factory=list)


def make_organisation(shape: OrgShape, rng: np.random.Generator) -> Organisation:
    towns = list(rng.permutation(TOWNS))
    teams = [(f"{towns[t % len(towns)]} store", t % shape.regions) for t in range(shape.teams)]
    staff, used = [], set()
    for _ in range(shape.teams):
        people = []
        for _ in range(shape.staff_per_team):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            base = f"{first}.{last}".lower()
            email, n = f"{base}@example.com", 2
            while email in used:
                email, n = f"{base}{n}@example.com", n + 1
            used.add(email)
            people.append((f"{first} {last}", email))
        staff.append(people)
    return Organisation(FUNCTION_NAMES[: shape.functions], REGIONS[: shape.regions], teams, staff)


def plant(
    shape: OrgShape, rng: np.random.Generator, affected_share: float = 0.2, drop_round: int | None = None
) -> Plant:
    """Choose the driver, the decoy and their teams; the driver fails from `drop_round` (default: two rounds
    before the last), and its teams' customers feel it one round later."""
    teams = rng.permutation(shape.teams)
    k = max(2, round(shape.teams * affected_share))
    driver, decoy = rng.choice(shape.functions, size=2, replace=False)
    return Plant(
        driver=int(driver),
        decoy=int(decoy),
        driver_teams=sorted(int(t) for t in teams[:k]),
        decoy_teams=sorted(int(t) for t in teams[k : 2 * k]),
        customer_only_teams=sorted(int(t) for t in teams[2 * k : 2 * k + max(1, k // 2)]),
        internal_drop_round=max(1, shape.rounds - 2) if drop_round is None else drop_round,
    )


def plant_actions(
    truth: Plant, answers_round: int, effective: Sequence[int], ineffective: Sequence[int]
) -> Plant:
    """The driver acts in answer to `answers_round`: at the `effective` teams its service recovers from the next
    round (their customers a round later: `Plant.recoveries`); at the `ineffective` ones nothing changes."""
    for team in effective:
        truth.recoveries[team] = answers_round + 1
    truth.actions.extend(
        [
            PlantedAction(tuple(sorted(effective)), answers_round, True),
            PlantedAction(tuple(sorted(ineffective)), answers_round, False),
        ]
    )
    return truth


def _scale_of(items: list[ItemSpec]) -> Callable[[np.ndarray], np.ndarray]:
    """`_to_scale` for a vector holding one latent value per item, all items at once."""
    low = np.array([spec.scale_min for spec in items], dtype=float)
    high = np.array([spec.scale_max for spec in items], dtype=float)
    reverse = np.array([spec.reverse_keyed for spec in items])

    def to_scale(latent: np.ndarray) -> np.ndarray:
        value = low + (latent - 1.0) / 6.0 * (high - low)
        value = np.where(reverse, low + high - value, value)
        scaled: np.ndarray = np.clip(np.rint(value), low, high).astype(int)
        return scaled

    return to_scale


def _to_scale(latent: np.ndarray, spec: ItemSpec) -> np.ndarray:
    """Map a latent score on the 1..7 agreement scale onto an item's own scale, rounded and clipped."""
    span = spec.scale_max - spec.scale_min
    value = spec.scale_min + (latent - 1.0) / 6.0 * span
    if spec.reverse_keyed:
        value = spec.scale_min + spec.scale_max - value
    return np.clip(np.rint(value), spec.scale_min, spec.scale_max).astype(int)


def simulate_rounds(
    shape: OrgShape,
    internal_items: list[ItemSpec],
    external_items: list[ItemSpec],
    truth: Plant,
    rng: np.random.Generator,
    internal_drop: float = 1.4,
    customer_drop: float = 0.9,
    planted_usage: float | None = None,
) -> list[SimulatedRound]:
    """Answers for every round, following the planted structure. Drops are in points of the 1..7 scale.
    `planted_usage`: the share of staff who use the driver and the decoy (default: drawn like every function's,
    0.55 to 0.95)."""
    f_mean = rng.uniform(4.6, 5.6, size=shape.functions)
    team_function = rng.normal(0, 0.35, size=(shape.teams, shape.functions))
    usage = rng.uniform(0.55, 0.95, size=shape.functions)
    if planted_usage is not None:
        usage[[truth.driver, truth.decoy]] = planted_usage
    customer_base = rng.normal(5.4, 0.35, size=shape.teams)
    sizes = _team_sizes(shape, rng)
    rounds = []
    for r in range(shape.rounds):
        internal_latent = f_mean + team_function + rng.normal(0, 0.15, size=(shape.teams, shape.functions))
        customer_latent = customer_base + rng.normal(0, 0.12, size=shape.teams)
        driven = truth.driver_teams + truth.earlier_teams
        failing = [t for t in driven if truth.failing(t, r)]
        internal_latent[failing, truth.driver] -= internal_drop
        internal_latent[[t for t in truth.decoy_teams if truth.failing(t, r)], truth.decoy] -= internal_drop
        customer_latent[[t for t in driven if truth.customers_down(t, r)]] -= customer_drop
        if r >= truth.internal_drop_round + 1:
            customer_latent[truth.customer_only_teams] -= customer_drop
        rounds.append(
            _answers(
                shape,
                internal_items,
                external_items,
                internal_latent,
                customer_latent,
                usage,
                truth,
                rng,
                sizes,
            )
        )
    return rounds


def _team_sizes(shape: OrgShape, rng: np.random.Generator) -> np.ndarray:
    """Each team's staff: all staff_per_team, or drawn from staff_per_team to staff_max (with a draw of the
    generator only then, so that organisations of one size are as before)."""
    if shape.staff_max is None or shape.staff_max == shape.staff_per_team:
        return np.full(shape.teams, shape.staff_per_team)
    return rng.integers(shape.staff_per_team, shape.staff_max + 1, size=shape.teams)


def _answers(
    shape: OrgShape,
    internal_items: list[ItemSpec],
    external_items: list[ItemSpec],
    internal_latent: np.ndarray,
    customer_latent: np.ndarray,
    usage: np.ndarray,
    truth: Plant,
    rng: np.random.Generator,
    sizes: np.ndarray,
) -> SimulatedRound:
    result = SimulatedRound()
    internal_scale = _scale_of(internal_items)
    for t in range(shape.teams):
        respondents = rng.binomial(sizes[t], shape.response_rate)
        for _ in range(respondents):
            mood = rng.normal(0, 0.4)  # some people rate everything a little higher or lower
            reviews: list[tuple[list[int], str | None] | None] = []
            for f in range(shape.functions):
                if rng.random() > usage[f]:
                    reviews.append(None)
                    continue
                latent = internal_latent[t, f] + mood + rng.normal(0, 0.6, size=len(internal_items))
                values = _impact_follows_quality(
                    internal_scale(latent).tolist(), internal_items, internal_latent[t, f] + mood
                )
                reviews.append((values, _comment(f, t, truth, rng)))
            result.internal.append(InternalAnswerSet(t, reviews))
        customers = rng.poisson(shape.customers_per_team)
        latent = (
            customer_latent[t]
            + rng.normal(0, 0.9, size=(customers, 1))
            + rng.normal(0, 0.5, size=(customers, len(external_items)))
        )
        columns = [_to_scale(latent[:, i], spec) for i, spec in enumerate(external_items)]
        for c in range(customers):
            result.external.append(ExternalAnswerSet(t, [int(col[c]) for col in columns]))
    return result


def _impact_follows_quality(values: list[int], items: list[ItemSpec], quality: float) -> list[int]:
    """The impact item agrees more when service is worse: mirror it around the scale's middle."""
    for i, spec in enumerate(items):
        if spec.dimension == "impact":
            values[i] = int(np.clip(round(8 - quality), spec.scale_min, spec.scale_max))
    return values


def _comment(f: int, t: int, truth: Plant, rng: np.random.Generator) -> str | None:
    if rng.random() > 0.12:
        return None
    if f == truth.driver and t in truth.driver_teams:
        pool = COMMENTS["driver"]
    elif f == truth.decoy and t in truth.decoy_teams:
        pool = COMMENTS["decoy"]
    else:
        pool = COMMENTS["neutral"]
    return str(rng.choice(pool))
