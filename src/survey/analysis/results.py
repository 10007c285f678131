"""A closed round's released results as types: what `analytics.scores` and `analytics.linkage` return, what is
stored once a round closes (as JSON, field for field), what the API sends (named schemas in
/schema/openapi.json) and what the pages, reports and command line read.

Pure (no web, no database). Every number here passed the release gate: a figure that did not is `None`
("suppressed"), never a number.
"""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta, Struct

from survey.vocabulary import MEASURE_LABELS


class RoundRef(Struct, frozen=True):
    """The round a result is about."""

    id: int
    name: str
    status: str


class Figure(Struct, frozen=True):
    """A released mean: `n` respondents (at least the minimum group size), their mean and standard deviation
    (`sd` null when it cannot be given, e.g. a figure imported without its distribution), and the share
    favourable beside it (`favourable`, a percentage; null for a measure without one)."""

    n: Annotated[int, Meta(description="respondents behind the figure: at least the minimum group size")]
    mean: float
    sd: Annotated[float | None, Meta(description="sample standard deviation; null when not known")]
    favourable: Annotated[
        float | None,
        Meta(
            description=(
                "share favourable, 0 to 100: the percentage of scored answers in the top of the scale (5 to 7 "
                "of 1 to 7, 4 to 5 of 1 to 5), each of the n respondents weighing as one; released with the "
                "mean, over the same n. Null for a measure without one (impact, CSAT%, NPS) or a figure imported "
                "without it"
            )
        ),
    ] = None


class Usage(Struct, frozen=True):
    """How many respondents answered about a function, and how many of them used it."""

    answered: Annotated[int, Meta(description="respondents who said whether they used the function")]
    used: Annotated[int, Meta(description="of them, those who used it (their ratings make the scores)")]


# Each staff measure's description in the API: the name the pages, reports and workbook give it.
_NAMED = {
    key: Meta(
        description=f'"{label}"'
        + ("; higher is worse, asked by the full questionnaire only" if key == "impact" else "")
    )
    for key, label in MEASURE_LABELS.items()
}


class StaffScores(Struct, frozen=True):
    """Staff's scores of a support function, 1 to 7; null: suppressed. Each field's description gives the name
    the pages and reports use for it."""

    reliability: Annotated[Figure | None, _NAMED["reliability"]] = None
    responsiveness: Annotated[Figure | None, _NAMED["responsiveness"]] = None
    assurance: Annotated[Figure | None, _NAMED["assurance"]] = None
    empathy: Annotated[Figure | None, _NAMED["empathy"]] = None
    tangibles: Annotated[Figure | None, _NAMED["tangibles"]] = None
    overall: Annotated[Figure | None, _NAMED["overall"]] = None
    impact: Annotated[Figure | None, _NAMED["impact"]] = None

    def of(self, measure: str) -> Figure | None:
        """The figure of a measure named by its vocabulary name ("overall", "reliability", ...)."""
        value: Figure | None = getattr(self, measure)
        return value


class CustomerScores(Struct, frozen=True):
    """Customers' scores of a front-line team: the five dimensions (1 to 5), CSAT% (0 to 100), NPS (-100 to
    100), CES (1 to 7) and mean satisfaction (`csat`, 1 to 5); null: suppressed or not measured."""

    reliability: Figure | None = None
    responsiveness: Figure | None = None
    assurance: Figure | None = None
    empathy: Figure | None = None
    tangibles: Figure | None = None
    csat_pct: Figure | None = None
    nps: Figure | None = None
    ces: Figure | None = None
    csat: Figure | None = None

    def of(self, measure: str) -> Figure | None:
        value: Figure | None = getattr(self, measure)
        return value


class ScoreCell(Struct, frozen=True):
    """A support function's scores at one node of the unit tree: a front-line team, a group, or every team
    (`kind` "total", `code` null)."""

    unit_id: Annotated[int | None, Meta(description="the team or group; null: every team together")]
    code: str | None
    name: str
    kind: Annotated[str, Meta(description="front_line, group or total")]
    suppressed: Annotated[bool, Meta(description="the overall score is suppressed")]
    scores: StaffScores
    usage: Annotated[Usage | None, Meta(description="null: suppressed")]


class Comments(Struct, frozen=True):
    """Comments shown together, in an order that says nothing: under a team's code, or pooled (`team` null)."""

    team: Annotated[str | None, Meta(description="the team's code; null: pooled from several teams, unnamed")]
    comments: list[str]


class FunctionScores(Struct, frozen=True):
    """How the front line rates one support function, at every team, group and in all."""

    unit_id: int
    code: str
    name: str
    kind: str
    cells: list[ScoreCell]
    comments: list[Comments]

    def cell(self, code: str | None) -> ScoreCell | None:
        """The cell of a team or group by its code; None: every team."""
        return next((c for c in self.cells if c.code == code), None)

    @property
    def teams(self) -> list[ScoreCell]:
        return [c for c in self.cells if c.kind == "front_line"]

    def score(self, code: str | None, measure: str) -> Figure | None:
        cell = self.cell(code)
        return None if cell is None else cell.scores.of(measure)


class CustomerCell(Struct, frozen=True):
    unit_id: Annotated[int | None, Meta(description="the team or group; null: every team together")]
    code: str | None
    name: str
    kind: Annotated[str, Meta(description="front_line, group or total")]
    suppressed: Annotated[bool, Meta(description="every measure is suppressed")]
    scores: CustomerScores


class Reliability(Struct, frozen=True):
    """Cronbach's alpha of a dimension's items over every respondent of the round; `low` below 0.7."""

    alpha: Annotated[float | None, Meta(description="Cronbach's alpha; null when it cannot be computed")]
    low: Annotated[bool, Meta(description="alpha below 0.7: the dimension's items hang together poorly")]


class Scores(Struct, frozen=True):
    """Every score of a closed round that may be shown."""

    round: RoundRef
    min_group_size: Annotated[int, Meta(description="k: the fewest respondents behind any figure shown")]
    min_comment_group_size: Annotated[int, Meta(description="the fewest comments in any group shown")]
    scale: Annotated[str, Meta(description="how to read the staff scores")]
    functions: Annotated[list[FunctionScores], Meta(description="staff's scores of each support function")]
    reliability: Annotated[dict[str, Reliability], Meta(description="by dimension")]
    customers: Annotated[list[CustomerCell], Meta(description="customers' scores of each team and group")]
    measures: Annotated[
        list[str],
        Meta(
            description="the staff measures the round's questionnaire asks: overall, the dimensions, impact if asked"
        ),
    ]

    def function(self, code: str) -> FunctionScores | None:
        return next((f for f in self.functions if f.code == code), None)

    def customer(self, code: str | None) -> CustomerCell | None:
        """Customers' scores of a team or group by its code; None: every team."""
        return next((c for c in self.customers if c.code == code), None)

    def staff_score(self, function_code: str, code: str | None, measure: str) -> tuple[Figure | None, bool]:
        """A function's score at a node, and whether the node has a cell at all (a cell without the score: the
        score is suppressed; no cell: nobody rated)."""
        function = self.function(function_code)
        cell = None if function is None else function.cell(code)
        return (None if cell is None else cell.scores.of(measure)), cell is not None

    def customer_score(self, code: str | None, measure: str) -> tuple[Figure | None, bool]:
        """Customers' score at a node, and whether the node has a cell at all."""
        cell = self.customer(code)
        return (None if cell is None else cell.scores.of(measure)), cell is not None


class UnitName(Struct, frozen=True):
    id: int
    code: str
    name: str


class Outcome(Struct, frozen=True):
    """The customer outcome the linkage reads: its measure, its name in a sentence, and the unit of its
    differences."""

    measure: str
    label: str
    unit: str


class LinkTest(Struct, frozen=True):
    """One test of the round. `effect` is Spearman's rho (correlations across teams are tested on the overall
    score), or for the within-team shift test ("change", on every score) the customers' shift at the teams whose
    rating fell and stays down, against their own level before, minus the other teams' over the same rounds (in
    outcome points); `low` and `high` its 90% interval; p, and q after Benjamini-Hochberg over every test of the
    round; `n` teams. Null when there was not enough data."""

    function: Annotated[str, Meta(description="the support function's code")]
    measure: Annotated[str, Meta(description="overall, or a SERVQUAL dimension")]
    kind: Annotated[
        str, Meta(description="same_round, lagged, reverse or change (the within-team shift test)")
    ]
    n: Annotated[int, Meta(description="teams in the test")]
    effect: Annotated[
        float | None, Meta(description="Spearman's rho; for change, the difference in outcome change")
    ]
    low: Annotated[float | None, Meta(description="90% interval, low end")]
    high: Annotated[float | None, Meta(description="90% interval, high end")]
    p: Annotated[float | None, Meta(description="permutation p-value")]
    q: Annotated[float | None, Meta(description="p after Benjamini-Hochberg over every test of the round")]
    flagged: Annotated[
        list[str], Meta(description="change test: the codes of the teams whose rating fell and stays down")
    ]


class DriverTests(Struct, frozen=True):
    same_round: LinkTest | None
    lagged: LinkTest | None
    reverse: LinkTest | None
    change: LinkTest | None


class Driver(Struct, frozen=True):
    """A support function's evidence against the customer outcome. `claim`: "precedes", "lines up with" or
    null (not claimed). `weight`: its share of the outcome's differences between teams (relative weight, 0 to 1)
    with a 90% interval, over `n` teams."""

    function: UnitName
    measure: Annotated[str, Meta(description="the score the evidence is about: overall, or one dimension")]
    claim: Annotated[str | None, Meta(description='"precedes", "lines up with", or null: not claimed')]
    weight: Annotated[
        float | None, Meta(description="share of the outcome's differences between teams, 0 to 1")
    ]
    weight_low: float | None
    weight_high: float | None
    n: Annotated[int | None, Meta(description="teams in the key-driver analysis")]
    tests: DriverTests
    sentence: Annotated[str, Meta(description="the evidence in one plain sentence")]


class TeamShift(Struct, frozen=True):
    """One team's part in a finding: its rating of the function and its customers' outcome before its shortfall
    began (means over the rounds before `since`) and in the latest round, with the latest n."""

    team: UnitName
    since: Annotated[str, Meta(description="the round the team's rating fell in")]
    score_before: Annotated[float, Meta(description="the team's mean score of the function before it fell")]
    score: Annotated[float | None, Meta(description="its score this round; null: not shown")]
    score_n: int | None
    outcome_before: Annotated[float | None, Meta(description="its customers' mean outcome before")]
    outcome: Annotated[float | None, Meta(description="its customers' outcome this round; null: not shown")]
    outcome_n: int | None
    outcome_shift: Annotated[
        float | None,
        Meta(description="its customers' shift since, against the other teams' over the same rounds"),
    ]


class Finding(Struct, frozen=True):
    """A support function whose shortfall at some teams lines up with, or comes before, a fall in their
    customers' outcome: since when, at which teams, how far below their own level the ratings and the customers
    are. `ongoing` while it lasts; `ended` in the round after it stops (the ratings recovered, or the evidence
    no longer holds). The effect is the customers' measured shift at those teams against the other teams', with
    its 90% interval: an association in time, not a proof of cause."""

    function: UnitName
    measure: Annotated[str, Meta(description="overall, or the one dimension that carries the evidence")]
    status: Annotated[str, Meta(description="ongoing or ended")]
    claim: Annotated[str | None, Meta(description='"precedes" or "lines up with"; null when ended')]
    since: Annotated[str, Meta(description="the round the earliest of its teams' shortfalls began")]
    teams: list[TeamShift]
    effect: Annotated[
        float | None,
        Meta(description="the customers' shift at these teams minus the other teams', in outcome points"),
    ]
    low: float | None
    high: float | None
    q: Annotated[float | None, Meta(description="p after Benjamini-Hochberg over every test of the round")]
    n: Annotated[int | None, Meta(description="teams compared")]
    sentence: str


class Hotspot(Struct, frozen=True):
    """A team that carries a finding's evidence: its rating of the function fell against its own level before
    and its customers fell against the other teams'. Ranked by both falls."""

    function: UnitName
    team: UnitName
    measure: str
    since: Annotated[str, Meta(description="the round the team's rating fell in")]
    score_before: float
    score: float | None
    score_n: int | None
    outcome_before: float | None
    outcome: float | None
    outcome_n: int | None
    outcome_shift: Annotated[
        float | None,
        Meta(description="its customers' shift since, against the other teams' over the same rounds"),
    ]
    sentence: str


class EffectTest(Struct, frozen=True):
    """Did the targeted teams' numbers rise more than the other teams'? Their mean change against their own level
    before the action, less the other teams' (a difference in differences), with its 90% interval, one-sided p
    (towards improvement) and q (Benjamini-Hochberg over every action's tests of the round). Null numbers: too
    few teams with the numbers shown before and after."""

    targeted: Annotated[int, Meta(description="targeted teams compared")]
    compared: Annotated[int, Meta(description="teams compared in all")]
    effect: Annotated[float | None, Meta(description="the targeted teams' change less the other teams'")]
    low: Annotated[float | None, Meta(description="90% interval, low end")]
    high: Annotated[float | None, Meta(description="90% interval, high end")]
    p: Annotated[float | None, Meta(description="one-sided permutation p-value: did it rise more")]
    q: Annotated[float | None, Meta(description="p after Benjamini-Hochberg over every action's tests")]


class ActionEffect(Struct, frozen=True):
    """Did an action work? Its targeted teams' rating of the function on the action's dimension in this round,
    and their customers' outcome, against their own level before and against the other teams'. Several actions
    of a function answering one round, each at fewer teams than the minimum group size, are reported together
    (`actions` lists them); if they are still too few, with no numbers. Evidence, not proof of cause."""

    actions: Annotated[list[int], Meta(description="the action's id; several: small actions pooled")]
    titles: list[str]
    function: UnitName
    measure: Annotated[str, Meta(description="overall, or the SERVQUAL dimension the action targets")]
    answers: Annotated[str, Meta(description="the round whose results the action answers")]
    teams: Annotated[int, Meta(description="teams targeted")]
    verdict: Annotated[
        str, Meta(description="working, no clear change, worse, too early, too few teams or not enough data")
    ]
    customers_verdict: Annotated[
        str, Meta(description="better, no clear change, worse, too early, too few teams or not enough data")
    ]
    ratings: EffectTest | None
    customers: Annotated[EffectTest | None, Meta(description="the linkage's outcome, read a round later")]
    sentence: str


class Linkage(Struct, frozen=True):
    """Which support functions' shortfalls line up with, and come before, the customer outcome in a closed
    round, from released numbers only."""

    round: RoundRef
    rounds_read: Annotated[list[str], Meta(description="the rounds the tests read, oldest first")]
    outcome: Outcome
    min_group_size: int
    teams: Annotated[int, Meta(description="teams with both staff ratings and the outcome shown")]
    enough_data: Annotated[bool, Meta(description="false below 8 teams: then there are no tests")]
    message: str
    r2: Annotated[float | None, Meta(description="share of the outcome's differences all functions explain")]
    drivers: list[Driver]
    findings: Annotated[list[Finding], Meta(description="ongoing findings, and those that ended this round")]
    hotspots: list[Hotspot]
    tests: list[LinkTest]
    actions: Annotated[
        list[ActionEffect],
        Meta(description="did the actions answering earlier rounds work: each one's effect this round"),
    ] = []

    def driver(self, function_code: str) -> Driver | None:
        return next((d for d in self.drivers if d.function.code == function_code), None)
