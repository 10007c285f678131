"""Default internal and external instruments, version 1.

The wording is ours. It lives here, not in a module, because a migration is history: version 1 must read the
same in every database forever; later wording comes as a new instrument version.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

AGREE = (1, 7, "Strongly disagree", "Strongly agree")

# (code, dimension, wording, scale, reverse_keyed). Internal wording names the rated function as {function}.
INTERNAL = [
    ("REL1", "reliability", "{function} does what it promises, right the first time.", AGREE, False),
    ("REL2", "reliability", "I often have to chase {function} to fix its own mistakes.", AGREE, True),
    ("RES1", "responsiveness", "When I need {function}, I get help quickly.", AGREE, False),
    (
        "RES2",
        "responsiveness",
        "My requests to {function} wait too long before anyone picks them up.",
        AGREE,
        True,
    ),
    ("ASS1", "assurance", "The people in {function} know their job well.", AGREE, False),
    ("ASS2", "assurance", "I can rely on the answers {function} gives me.", AGREE, False),
    ("EMP1", "empathy", "{function} understands the pressure of working with customers.", AGREE, False),
    ("EMP2", "empathy", "{function} treats my problems as if they mattered to them.", AGREE, False),
    (
        "TAN1",
        "tangibles",
        "The systems, tools or materials {function} provides work well for my job.",
        AGREE,
        False,
    ),
    (
        "TAN2",
        "tangibles",
        "What {function} provides (systems, stock, equipment) gets in the way of serving customers.",
        AGREE,
        True,
    ),
    (
        "IMP1",
        "impact",
        "This quarter, problems with {function} made it harder for me to serve customers.",
        AGREE,
        False,
    ),
]

# Customer wording names the team as {team}.
EXTERNAL = [
    ("REL1", "reliability", "{team} got things right the first time.", AGREE, False),
    ("RES1", "responsiveness", "Staff were ready to help me without a long wait.", AGREE, False),
    ("ASS1", "assurance", "Staff knew what they were talking about.", AGREE, False),
    ("EMP1", "empathy", "Staff paid attention to what I actually needed.", AGREE, False),
    ("TAN1", "tangibles", "The place, equipment and materials were in good order.", AGREE, False),
    (
        "CSAT",
        "csat",
        "Overall, how satisfied are you with the service you received?",
        (1, 5, "Very dissatisfied", "Very satisfied"),
        False,
    ),
    (
        "NPS",
        "nps",
        "How likely are you to recommend {team} to a friend or colleague?",
        (0, 10, "Not at all likely", "Extremely likely"),
        False,
    ),
    ("CES", "ces", "It was easy to get what I needed.", AGREE, False),
]

instrument = sa.table(
    "instrument",
    sa.column("id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("version", sa.Integer),
    sa.column("title", sa.String),
    sa.column("introduction", sa.String),
)
item = sa.table(
    "item",
    sa.column("instrument_id", sa.Integer),
    sa.column("position", sa.Integer),
    sa.column("code", sa.String),
    sa.column("dimension", sa.String),
    sa.column("wording", sa.String),
    sa.column("scale_min", sa.Integer),
    sa.column("scale_max", sa.Integer),
    sa.column("low_label", sa.String),
    sa.column("high_label", sa.String),
    sa.column("reverse_keyed", sa.Boolean),
)


def _install(kind: str, title: str, introduction: str, items: list) -> None:
    connection = op.get_bind()
    instrument_id = connection.execute(
        instrument.insert()
        .values(kind=kind, version=1, title=title, introduction=introduction)
        .returning(instrument.c.id)
    ).scalar_one()
    rows = [
        {
            "instrument_id": instrument_id,
            "position": position,
            "code": code,
            "dimension": dimension,
            "wording": wording,
            "scale_min": scale[0],
            "scale_max": scale[1],
            "low_label": scale[2],
            "high_label": scale[3],
            "reverse_keyed": reverse_keyed,
        }
        for position, (code, dimension, wording, scale, reverse_keyed) in enumerate(items, start=1)
    ]
    op.bulk_insert(item, rows)


def upgrade() -> None:
    _install(
        "internal",
        "How well do our support functions serve you?",
        "Think of this quarter. For each support function you dealt with, say how far you agree with each "
        "statement. If you did not use a function this quarter, say so and skip its questions.",
        INTERNAL,
    )
    _install(
        "external",
        "How did we do?",
        "Tell us about the service you received. It takes about a minute and is anonymous.",
        EXTERNAL,
    )


def downgrade() -> None:
    connection = op.get_bind()
    version_1 = sa.select(instrument.c.id).where(instrument.c.version == 1)
    connection.execute(item.delete().where(item.c.instrument_id.in_(version_1)))
    connection.execute(instrument.delete().where(instrument.c.id.in_(version_1)))
