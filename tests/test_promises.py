"""A support function's service promises: what a version may hold, and which version a round shows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from conftest import start_round
from survey.db.models import PromiseSet, Round, RoundStatus, ServicePromise
from survey.promises import store
from survey.promises.rules import PromiseDraft, normalised, promise_problems

GOOD = "A broken till is replaced within one working day."


def problems(*drafts: PromiseDraft) -> list[str]:
    return [str(p) for p in promise_problems(normalised(drafts), ("de",))]


def test_a_good_version_has_no_problems():
    assert problems(PromiseDraft("reliability", GOOD, {"de": "Eine defekte Kasse wird ersetzt."})) == []


def test_each_problem_names_the_promise_and_the_field():
    found = problems(
        PromiseDraft("reliability", GOOD),
        PromiseDraft("speed", "Short"),
        PromiseDraft("overall", "  a broken till is replaced   within one working day. "),
        PromiseDraft("empathy", "x" * 301, {"de": "kurz", "fr": "Une caisse cassée est remplacée."}),
    )
    assert found == [
        "promise 2, dimension: 'speed' is not one of reliability, responsiveness, assurance, empathy, "
        "tangibles, overall",
        "promise 2, text: 5 characters; a promise needs at least 10",
        "promise 3, text: the same text as promise 1",
        "promise 4, text: 301 characters; a promise has at most 300",
        "promise 4, text_de: 4 characters; a promise needs at least 10",
        "promise 4, text_fr: not a language promises are kept in",
    ]


def test_a_version_holds_one_to_eight_promises():
    assert problems() == ["promises: none written; a version has 1 to 8 promises"]
    nine = [PromiseDraft("overall", f"Promise number {n} is kept.") for n in range(9)]
    assert problems(*nine) == ["promises: 9 promises; a version has at most 8"]


def test_saving_numbers_versions_and_keeps_the_old_ones(db, org):
    function = org.functions[0]
    first = store.save(
        db, function, [PromiseDraft("reliability", GOOD, {"de": "Defekte Kassen binnen eines Tages."})]
    )
    second = store.save(
        db, function, [PromiseDraft("tangibles", "Every new starter has a laptop on day one.")]
    )
    assert (first.version, second.version) == (1, 2)
    with db.session() as session:
        assert [v.version for v in store.history(session, function)] == [2, 1]
        old = store.history(session, function)[1].promises[0]
    assert (old.text_in("de"), old.text_in("en")) == ("Defekte Kassen binnen eines Tages.", GOOD)
    assert store.save(db, org.functions[1], [PromiseDraft("overall", GOOD)]).version == 1


def test_a_refused_version_stores_nothing(db, org):
    with pytest.raises(store.PromisesRefused, match="promise 2, text"):
        store.save(db, org.functions[0], [PromiseDraft("reliability", GOOD), PromiseDraft("overall", "")])
    with db.session() as session:
        assert session.exec(select(PromiseSet)).all() == []
        assert session.exec(select(ServicePromise)).all() == []


def test_only_a_support_function_has_promises(db, org):
    with pytest.raises(store.NoSuchFunction):
        store.save(db, org.teams[0], [PromiseDraft("reliability", GOOD)])


def test_a_round_keeps_the_promises_it_opened_with(db, org):
    function = org.functions[0]
    store.save(db, function, [PromiseDraft("reliability", GOOD)])
    _backdate_versions(db, days=3)
    opened = start_round(db)  # opened a day ago, after version 1
    scheduled = start_round(db, "2027 Q1", status=RoundStatus.SCHEDULED)
    store.save(db, function, [PromiseDraft("responsiveness", "Calls are answered within two minutes.")])
    with db.session() as session:
        open_round = session.get(Round, opened.id)
        later_round = session.get(Round, scheduled.id)
        assert store.in_force(session, open_round, [function])[function].version == 1
        assert store.in_force(session, later_round, [function])[function].version == 2
        assert store.in_force(session, open_round, [org.functions[1]]) == {}


def test_a_version_written_after_a_round_opened_is_not_in_force_for_it(db, org):
    opened = start_round(db)
    store.save(db, org.functions[0], [PromiseDraft("reliability", GOOD)])
    with db.session() as session:
        assert store.in_force(session, session.get(Round, opened.id), org.functions) == {}


def test_versions_saved_at_once_get_different_numbers(db, org):
    from concurrent.futures import ThreadPoolExecutor

    def save(n: int) -> int:
        return store.save(
            db, org.functions[0], [PromiseDraft("overall", f"Promise number {n} is kept.")]
        ).version

    with ThreadPoolExecutor(4) as pool:
        versions = sorted(pool.map(save, range(8)))
    assert versions == list(range(1, 9))


def _backdate_versions(db, days: int) -> None:
    with db.session() as session:
        for promise_set in session.exec(select(PromiseSet)).all():
            promise_set.created_at = datetime.now(UTC) - timedelta(days=days)
            session.add(promise_set)
        session.commit()
