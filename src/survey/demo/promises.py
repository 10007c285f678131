"""The demo's service promises: two to four per support function, in English and German, written before the
demo's first round opened, so every round shows them."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import col, select

from survey.db.engine import Database
from survey.db.models import PromiseSet, Unit
from survey.promises import store
from survey.promises.rules import PromiseDraft

# By function name (demo.simulation.FUNCTION_NAMES): (dimension, English, German).
DEMO_PROMISES: dict[str, list[tuple[str, str, str]]] = {
    "IT Service Desk": [
        ("reliability", "A broken till or scanner is replaced within one working day.",
         "Eine defekte Kasse oder ein defekter Scanner wird binnen eines Arbeitstages ersetzt."),
        ("responsiveness", "Calls to the service desk are answered within two minutes.",
         "Anrufe beim Service Desk werden binnen zwei Minuten angenommen."),
        ("tangibles", "Every new starter has a working login on their first day.",
         "Alle Neuen haben an ihrem ersten Tag eine funktionierende Anmeldung."),
    ],
    "Human Resources": [
        ("responsiveness", "Questions about leave or contracts get an answer within two working days.",
         "Fragen zu Urlaub oder Vertrag werden binnen zwei Arbeitstagen beantwortet."),
        ("empathy", "Team heads can book an HR adviser for a confidential talk within a week.",
         "Teamleitungen bekommen binnen einer Woche ein vertrauliches Gespräch mit der Personalberatung."),
    ],
    "Payroll": [
        ("reliability", "Pay is right and on time every month; a mistake is corrected within three days.",
         "Das Gehalt kommt jeden Monat richtig und pünktlich; ein Fehler wird binnen drei Tagen korrigiert."),
        ("assurance", "Every payslip question is answered by someone who can fix it.",
         "Jede Frage zur Abrechnung beantwortet jemand, der sie auch lösen kann."),
    ],
    "Logistics": [
        ("reliability", "Stock ordered by noon arrives in store the next working day.",
         "Ware, die bis mittags bestellt wird, ist am nächsten Arbeitstag im Laden."),
        ("responsiveness", "A missing or damaged delivery is replaced within two working days.",
         "Eine fehlende oder beschädigte Lieferung wird binnen zwei Arbeitstagen ersetzt."),
        ("tangibles", "Stores can see where each delivery is at any time.",
         "Die Läden sehen jederzeit, wo jede Lieferung gerade ist."),
    ],
    "Facilities": [
        ("responsiveness", "An urgent repair (heating, doors, lighting) starts within four hours.",
         "Eine dringende Reparatur (Heizung, Türen, Licht) beginnt binnen vier Stunden."),
        ("tangibles", "Every store is cleaned before it opens.",
         "Jeder Laden ist vor der Öffnung gereinigt."),
    ],
    "Procurement": [
        ("reliability", "Orders for standard supplies are placed within one working day.",
         "Bestellungen für Standardbedarf werden binnen eines Arbeitstages aufgegeben."),
        ("empathy", "Teams are asked before a supplier they rely on is changed.",
         "Teams werden gefragt, bevor ein Lieferant gewechselt wird, auf den sie angewiesen sind."),
    ],
    "Finance": [
        ("reliability", "Expense claims are paid within ten working days.",
         "Spesen werden binnen zehn Arbeitstagen erstattet."),
        ("assurance", "Monthly figures for each store arrive by the fifth working day.",
         "Die Monatszahlen jedes Ladens liegen bis zum fünften Arbeitstag vor."),
    ],
}  # fmt: skip
FALLBACK = [
    ("overall", "We answer every request from the front line within two working days.",
     "Wir beantworten jede Anfrage der Teams vor Ort binnen zwei Arbeitstagen."),
]  # fmt: skip


def add_demo_promises(db: Database, function_ids: list[int], in_force_from: datetime) -> None:
    """Give each support function its demo promises, written a day before `in_force_from` (the first round's
    opening), so that every round of the demo shows them."""
    with db.session() as session:
        names = dict(session.exec(select(Unit.id, Unit.name).where(col(Unit.id).in_(function_ids))).all())
    for function_id in function_ids:
        promises = DEMO_PROMISES.get(names[function_id], FALLBACK)
        store.save(db, function_id, [PromiseDraft(d, en, {"de": de}) for d, en, de in promises])
    with db.session() as session:
        for promise_set in session.exec(
            select(PromiseSet).where(col(PromiseSet.function_id).in_(function_ids))
        ).all():
            promise_set.created_at = in_force_from - timedelta(days=1)
            session.add(promise_set)
        session.commit()
