"""Questionnaire wording in other languages, and the German wording of the instrument versions installed so far.

Two tables hold a version's wording in another language: per instrument its title and introduction, per item its
wording and scale labels. English stays in `instrument` and `item` (the source).

The German is copied here, keyed by the English it translates, because a migration is history: it must read the
same in every database forever. A version gets German only if every one of its English texts is below, so the
versions of 0002, 0009 and 0010 get it complete, and a version HR has reworded since gets none (HR translates it
through the translation sheet).

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

LANGUAGE = "de"

# English -> German. Formal "Sie"; the {function} and {team} placeholders are kept. A support function is named
# as "der Bereich {function}", which reads right whatever its name's gender; a team as "{team}" after "bei".
GERMAN = {
    # Scale labels
    "Strongly disagree": "Stimme überhaupt nicht zu",
    "Strongly agree": "Stimme voll und ganz zu",
    "Very dissatisfied": "Sehr unzufrieden",
    "Very satisfied": "Sehr zufrieden",
    "Not at all likely": "Überhaupt nicht wahrscheinlich",
    "Extremely likely": "Äußerst wahrscheinlich",
    # Employee survey, full (0002) and short (0009): titles and introductions
    "How well do our support functions serve you?": "Wie gut werden Sie von unseren internen Dienstleistern"
    " unterstützt?",
    "How well do our support functions serve you? (short)": "Wie gut werden Sie von unseren internen"
    " Dienstleistern unterstützt? (Kurzfassung)",
    "Think of this quarter. For each support function you dealt with, say how far you agree with each statement."
    " If you did not use a function this quarter, say so and skip its questions.": "Denken Sie an das laufende"
    " Quartal. Geben Sie für jeden internen Dienstleister, mit dem Sie zu tun hatten, an, wie sehr Sie den"
    " einzelnen Aussagen zustimmen. Wenn Sie einen Bereich in diesem Quartal nicht in Anspruch genommen haben,"
    " geben Sie das an und überspringen Sie die Fragen zu diesem Bereich.",
    "Think of this quarter. For each support function you dealt with, say how far you agree with each statement."
    ' If a statement does not apply to you, or you do not know, choose "Not applicable".': "Denken Sie an das"
    " laufende Quartal. Geben Sie für jeden internen Dienstleister, mit dem Sie zu tun hatten, an, wie sehr Sie"
    " den einzelnen Aussagen zustimmen. Wenn eine Aussage auf Sie nicht zutrifft oder Sie es nicht wissen,"
    " wählen Sie „Trifft nicht zu / weiß nicht“.",
    # Employee survey, full (0002)
    "{function} does what it promises, right the first time.": "Der Bereich {function} hält, was er zusagt, und"
    " erledigt es gleich beim ersten Mal richtig.",
    "I often have to chase {function} to fix its own mistakes.": "Ich muss beim Bereich {function} oft"
    " nachhaken, damit er seine eigenen Fehler behebt.",
    "When I need {function}, I get help quickly.": "Wenn ich den Bereich {function} brauche, bekomme ich schnell"
    " Hilfe.",
    "My requests to {function} wait too long before anyone picks them up.": "Meine Anfragen an den Bereich"
    " {function} bleiben zu lange liegen, bevor sich jemand darum kümmert.",
    "The people in {function} know their job well.": "Die Mitarbeitenden im Bereich {function} beherrschen ihre"
    " Aufgaben gut.",
    "I can rely on the answers {function} gives me.": "Auf die Auskünfte des Bereichs {function} kann ich mich"
    " verlassen.",
    "{function} understands the pressure of working with customers.": "Der Bereich {function} versteht, unter"
    " welchem Druck wir im Kundenkontakt arbeiten.",
    "{function} treats my problems as if they mattered to them.": "Der Bereich {function} nimmt meine Probleme"
    " so ernst, als wären es seine eigenen.",
    "The systems, tools or materials {function} provides work well for my job.": "Die Systeme, Werkzeuge oder"
    " Materialien, die der Bereich {function} bereitstellt, eignen sich gut für meine Arbeit.",
    "What {function} provides (systems, stock, equipment) gets in the way of serving customers.": "Was der"
    " Bereich {function} bereitstellt (Systeme, Ware, Ausstattung), behindert mich dabei, Kundinnen und Kunden"
    " zu betreuen.",
    "This quarter, problems with {function} made it harder for me to serve customers.": "In diesem Quartal"
    " haben mir Probleme mit dem Bereich {function} die Betreuung von Kundinnen und Kunden erschwert.",
    # Employee survey, short (0009)
    "{function} delivers what it promises, right the first time.": "Der Bereich {function} liefert, was er"
    " zusagt, und zwar gleich beim ersten Mal richtig.",
    "When I ask {function} for help, I get it quickly.": "Wenn ich den Bereich {function} um Hilfe bitte,"
    " bekomme ich sie schnell.",
    "The people in {function} know their job and give answers I can rely on.": "Die Mitarbeitenden im Bereich"
    " {function} beherrschen ihre Aufgaben und geben mir Auskünfte, auf die ich mich verlassen kann.",
    "{function} understands what I need to serve customers well.": "Der Bereich {function} versteht, was ich"
    " brauche, um Kundinnen und Kunden gut zu betreuen.",
    "The tools, services and information {function} provides help me do my job.": "Die Werkzeuge, Leistungen"
    " und Informationen, die der Bereich {function} bereitstellt, helfen mir bei meiner Arbeit.",
    "Overall, {function} serves me well.": "Insgesamt unterstützt mich der Bereich {function} gut.",
    # Customer survey, versions 1 (0002) and 2 (0010)
    "How did we do?": "Wie zufrieden waren Sie mit uns?",
    "Tell us about the service you received. It takes about a minute and is anonymous.": "Sagen Sie uns, wie"
    " Sie unseren Service erlebt haben. Das dauert etwa eine Minute und ist anonym.",
    "Tell us how satisfied you are overall; every question after the first is optional. It takes about a minute"
    " and is anonymous.": "Sagen Sie uns, wie zufrieden Sie insgesamt sind; alle Fragen nach der ersten sind"
    " freiwillig. Das dauert etwa eine Minute und ist anonym.",
    "{team} got things right the first time.": "Bei {team} wurde alles gleich beim ersten Mal richtig erledigt.",
    "Staff were ready to help me without a long wait.": "Die Mitarbeitenden haben mir geholfen, ohne dass ich"
    " lange warten musste.",
    "Staff knew what they were talking about.": "Die Mitarbeitenden wussten, wovon sie sprachen.",
    "Staff paid attention to what I actually needed.": "Die Mitarbeitenden sind auf das eingegangen, was ich"
    " tatsächlich brauchte.",
    "The place, equipment and materials were in good order.": "Räumlichkeiten, Ausstattung und Materialien"
    " waren in gutem Zustand.",
    "Overall, how satisfied are you with the service you received?": "Wie zufrieden sind Sie insgesamt mit dem"
    " Service, den Sie erhalten haben?",
    "How likely are you to recommend {team} to a friend or colleague?": "Wie wahrscheinlich ist es, dass Sie"
    " {team} Freunden oder Kollegen weiterempfehlen?",
    "It was easy to get what I needed.": "Es war einfach, das zu bekommen, was ich brauchte.",
}

instrument = sa.table(
    "instrument",
    sa.column("id", sa.Integer),
    sa.column("title", sa.String),
    sa.column("introduction", sa.String),
)
item = sa.table(
    "item",
    sa.column("id", sa.Integer),
    sa.column("instrument_id", sa.Integer),
    sa.column("wording", sa.String),
    sa.column("low_label", sa.String),
    sa.column("high_label", sa.String),
)


def _create_tables() -> None:
    op.create_table(
        "instrument_translation",
        sa.Column("instrument_id", sa.Integer(), nullable=False),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("introduction", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.ForeignKeyConstraint(["instrument_id"], ["instrument.id"]),
        sa.PrimaryKeyConstraint("instrument_id", "language"),
    )
    op.create_table(
        "item_translation",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("wording", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("low_label", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("high_label", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["item.id"]),
        sa.PrimaryKeyConstraint("item_id", "language"),
    )


def _german(text: str) -> str | None:
    """The German of an English text; a blank introduction stays blank; None when there is none."""
    return text if not text else GERMAN.get(text)


def upgrade() -> None:
    _create_tables()
    connection = op.get_bind()
    instrument_rows, item_rows = [], []
    for instrument_id, title, introduction in connection.execute(sa.select(instrument)).all():
        items = connection.execute(sa.select(item).where(item.c.instrument_id == instrument_id)).all()
        texts = [title, introduction, *(t for i in items for t in (i.wording, i.low_label, i.high_label))]
        if any(_german(t) is None for t in texts):
            continue  # a version HR reworded: complete or none, so none
        instrument_rows.append(
            {
                "instrument_id": instrument_id,
                "language": LANGUAGE,
                "title": _german(title),
                "introduction": _german(introduction),
            }
        )
        item_rows += [
            {
                "item_id": i.id,
                "language": LANGUAGE,
                "wording": _german(i.wording),
                "low_label": _german(i.low_label),
                "high_label": _german(i.high_label),
            }
            for i in items
        ]
    translations = sa.table(
        "instrument_translation",
        *(sa.column(c) for c in ("instrument_id", "language", "title", "introduction")),
    )
    item_translations = sa.table(
        "item_translation",
        *(sa.column(c) for c in ("item_id", "language", "wording", "low_label", "high_label")),
    )
    if instrument_rows:
        op.bulk_insert(translations, instrument_rows)
        op.bulk_insert(item_translations, item_rows)


def downgrade() -> None:
    op.drop_table("item_translation")
    op.drop_table("instrument_translation")
