"""External instrument version with overall satisfaction first: the CSAT item, then the recommend question, then
the follow-ups as optional questions (the customer survey reads every item after the CSAT item as optional).

The order of the items is part of an instrument version (`item.position`): rounds keep the version they were made
with, and an earlier answer can colour a later one, so asking satisfaction first is a new version, which new
rounds take as the newest. The wording is copied here, not read from version 1, because a migration is history:
this version must read the same in every database forever.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

AGREE = (1, 7, "Strongly disagree", "Strongly agree")
TITLE = "How did we do?"
INTRODUCTION = (
    "Tell us how satisfied you are overall; every question after the first is optional. It takes about a minute "
    "and is anonymous."
)

# (code, dimension, wording, scale, reverse_keyed), in the order they are asked. Wording names the team as {team}.
EXTERNAL = [
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
    ("REL1", "reliability", "{team} got things right the first time.", AGREE, False),
    ("RES1", "responsiveness", "Staff were ready to help me without a long wait.", AGREE, False),
    ("ASS1", "assurance", "Staff knew what they were talking about.", AGREE, False),
    ("EMP1", "empathy", "Staff paid attention to what I actually needed.", AGREE, False),
    ("TAN1", "tangibles", "The place, equipment and materials were in good order.", AGREE, False),
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
_THIS_VERSION = (instrument.c.kind == "external") & (instrument.c.introduction == INTRODUCTION)


def upgrade() -> None:
    connection = op.get_bind()
    # The next version number: HR may have made versions of their own since version 1.
    newest = connection.execute(
        sa.select(sa.func.max(instrument.c.version)).where(instrument.c.kind == "external")
    ).scalar_one()
    instrument_id = connection.execute(
        instrument.insert()
        .values(kind="external", version=(newest or 0) + 1, title=TITLE, introduction=INTRODUCTION)
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
        for position, (code, dimension, wording, scale, reverse_keyed) in enumerate(EXTERNAL, start=1)
    ]
    op.bulk_insert(item, rows)


def downgrade() -> None:
    connection = op.get_bind()
    this_version = sa.select(instrument.c.id).where(_THIS_VERSION)
    connection.execute(item.delete().where(item.c.instrument_id.in_(this_version)))
    connection.execute(instrument.delete().where(instrument.c.id.in_(this_version)))
