"""The domain's shared names: the kinds of unit, what the surveys measure, and what each measure is called.

Pure (no web, no database): the tables (`db.models`), the statistics, the release gate, the linkage and the
reports all take their names from here, so that importing the pure modules loads no ORM. `docs/measurement.md`
explains the measures.
"""

from __future__ import annotations

from enum import StrEnum


class UnitKind(StrEnum):
    GROUP = "group"  # a region or division, for roll-ups
    SUPPORT = "support"  # an internal support function: IT, HR, logistics...
    FRONT_LINE = "front_line"  # a customer-facing team; the join key between the two surveys


class Dimension(StrEnum):
    """What an item measures: a SERVQUAL dimension, the internal impact item or a customer outcome."""

    RELIABILITY = "reliability"
    RESPONSIVENESS = "responsiveness"
    ASSURANCE = "assurance"
    EMPATHY = "empathy"
    TANGIBLES = "tangibles"
    IMPACT = "impact"  # "problems with this function made it harder for me to serve customers"
    OVERALL = "overall"  # a staff member's overall rating of a function (the short instrument asks it)
    CSAT = "csat"  # 1..5; CSAT% is the share of 4 and 5
    NPS = "nps"  # 0..10; NPS is % of 9-10 minus % of 0-6
    CES = "ces"  # 1..7; "it was easy to get what I needed"


SERVQUAL = (
    Dimension.RELIABILITY,
    Dimension.RESPONSIVENESS,
    Dimension.ASSURANCE,
    Dimension.EMPATHY,
    Dimension.TANGIBLES,
)
DIMENSIONS: tuple[str, ...] = tuple(d.value for d in SERVQUAL)

# Staff's scores of a support function: each dimension, the overall score (the mean of the five and, where the
# instrument asks one, of the overall rating) and the impact item (higher is more harm; the short one has none).
OVERALL = "overall"
IMPACT = Dimension.IMPACT.value
INTERNAL_MEASURES: tuple[str, ...] = (*DIMENSIONS, OVERALL, IMPACT)

# Customer outcomes, each a mean of per-customer values: CSAT% averages 100 for a 4 or 5 and 0 otherwise; NPS
# averages 100 for a promoter (9-10), -100 for a detractor (0-6) and 0 otherwise.
CSAT_PCT, CSAT_MEAN, NPS, CES = "csat_pct", "csat", "nps", "ces"
OUTCOMES: tuple[str, ...] = (CSAT_PCT, NPS, CES, CSAT_MEAN)
EXTERNAL_MEASURES: tuple[str, ...] = (*DIMENSIONS, *OUTCOMES)

# Each outcome's name in a sentence, and the unit its differences are counted in.
OUTCOME_LABELS: dict[str, tuple[str, str]] = {
    CSAT_PCT: ("CSAT%", "points"),
    NPS: ("NPS", "points"),
    CES: ("customer ease (CES)", "points"),
    CSAT_MEAN: ("mean satisfaction", "points"),
}
# The measures shown with a share favourable beside their mean: staff's dimensions and overall score, customers'
# dimensions, satisfaction (its share favourable is its CSAT%) and ease. Not impact (its top is harm, not
# service), CSAT% (a share already) or NPS (its own promoters-minus-detractors figure).
FAVOURABLE_MEASURES: frozenset[str] = frozenset({*DIMENSIONS, OVERALL, CSAT_MEAN, CES})
# One name per measure, everywhere a reader meets it (pages, reports, the API's descriptions, the workbook): plain
# names a head recognises, worded after the short questionnaire's statements. The SERVQUAL names are for the
# method sections only (`SERVQUAL_NAMES`); the stored keys ("reliability", "impact", ...) never change.
MEASURE_LABELS: dict[str, str] = {
    OVERALL: "Overall",
    "reliability": "Doing what was promised",
    "responsiveness": "Quick help when asked",
    "assurance": "Know-how and trust",
    "empathy": "Understanding our needs",
    "tangibles": "Tools and information",
    IMPACT: "Problems passed on to customers",
}
# The dimensions' names in the service-quality literature (SERVQUAL: Parasuraman, Zeithaml and Berry, 1988).
SERVQUAL_NAMES: dict[str, str] = {
    "reliability": "Reliability",
    "responsiveness": "Responsiveness",
    "assurance": "Assurance",
    "empathy": "Empathy",
    "tangibles": "Tangibles",
}
STAFF_SCALE = (1, 7)
CSAT_SCALE, CES_SCALE = (1, 5), (1, 7)  # the answers of satisfaction and ease, as imported figures give them


def favourable_from(scale_min: int, scale_max: int) -> int:
    """The lowest answer that counts as favourable on a scale from `scale_min` to `scale_max`: the points above
    the middle of the scale, and on an even number of points the upper half. 5 to 7 on a 1 to 7 agreement scale
    (the top three), 4 to 5 on 1 to 5 (the top two), 3 to 4 on 1 to 4, 4 to 6 on 1 to 6. It applies to the scored
    answer: a reverse-keyed item is turned round first (`scale_min + scale_max - answer`), so disagreeing with
    "I often have to chase them" is favourable. NPS has its own figure (promoters and detractors) and no share
    favourable."""
    if scale_max <= scale_min:
        raise ValueError(f"a scale from {scale_min} to {scale_max} has no top")
    points = scale_max - scale_min + 1
    return scale_min + (points + 1) // 2


# The scales whose reliability (Cronbach's alpha) is computed: each dimension with two items or more; with one
# item per dimension (the short instrument), the dimensions' items of a function as one scale.
ONE_SCALE = "one_scale"
SCALE_LABELS: dict[str, str] = {
    **{d: MEASURE_LABELS[d] for d in DIMENSIONS},
    ONE_SCALE: "The five dimensions' statements as one scale",
}


class Metric(StrEnum):
    """A customer figure imported from another tool: satisfaction (1 to 5, or CSAT%), NPS (answers 0 to 10, or
    the score) or effort (CES, 1 to 7)."""

    CSAT = "csat"
    NPS = "nps"
    CES = "ces"  # every staff rating, and so every staff score


def outcome_scale(measure: str) -> tuple[int, int]:
    """The range a customer outcome can take: NPS -100 to 100, CSAT% 0 to 100, CES 1 to 7, satisfaction 1 to 5
    (and a customer dimension 1 to 5)."""
    if measure == NPS:
        return (-100, 100)
    if measure == CSAT_PCT:
        return (0, 100)
    return (1, 7) if measure == CES else (1, 5)


def outcome_decimals(measure: str) -> int:
    """Decimals a customer outcome is printed with: whole points for CSAT% and NPS, one for means."""
    return 0 if measure in (CSAT_PCT, NPS) else 1
