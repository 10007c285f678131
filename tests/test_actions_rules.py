"""The rules of action plans, pure: moves between statuses, a valid action, overdue, reminders' days, and the
actions a function's results suggest."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from survey.actions import rules
from survey.actions.rules import ActionError, ActionFields

TODAY = date(2027, 3, 10)


@pytest.mark.parametrize(
    ("current", "new", "allowed"),
    [
        ("planned", "under_way", True),
        ("planned", "done", False),  # under way first
        ("under_way", "done", True),
        ("under_way", "planned", False),
        ("planned", "dropped", True),
        ("under_way", "dropped", True),
        ("done", "dropped", True),
        ("done", "under_way", True),  # reopened
        ("dropped", "under_way", True),  # reopened
        ("dropped", "done", False),
        ("done", "planned", False),
    ],
)
def test_statuses_move_only_as_the_rules_say(current, new, allowed):
    if allowed:
        rules.check_move(current, new)
    else:
        with pytest.raises(ActionError) as refused:
            rules.check_move(current, new)
        assert "status" in refused.value.errors


def test_an_unknown_status_is_named():
    with pytest.raises(ActionError, match="status: one of planned, under_way, done, dropped"):
        rules.check_move("planned", "finished")


def test_a_valid_action_has_no_problems():
    fields = ActionFields("Replace tills within a day", "", "reliability", TODAY, [3])
    assert rules.action_problems(fields, TODAY) == {}
    assert rules.action_problems(ActionFields("x" * 200, "y" * 2000, "overall", TODAY, [1]), TODAY) == {}


def test_every_wrong_field_is_named():
    fields = ActionFields("Fix", "y" * 2001, "speed", TODAY - timedelta(days=1), [])
    problems = rules.action_problems(fields, TODAY)
    assert set(problems) == {"title", "description", "dimension", "due_on", "teams"}
    assert "5 to 200" in problems["title"] and str(TODAY) in problems["due_on"]
    assert rules.action_problems(ActionFields("x" * 201, "", "overall", None, [1]), TODAY).keys() == {
        "title",
        "due_on",
    }


def test_overdue_means_past_due_and_still_open():
    assert rules.is_overdue("under_way", TODAY - timedelta(days=1), TODAY)
    assert not rules.is_overdue("under_way", TODAY, TODAY)  # due today is not late yet
    assert not rules.is_overdue("done", TODAY - timedelta(days=30), TODAY)
    assert not rules.is_overdue("dropped", TODAY - timedelta(days=30), TODAY)


def test_reminders_fall_a_week_before_and_the_day_after_the_due_date():
    due = TODAY + timedelta(days=7)
    assert rules.reminder_due("planned", due, TODAY, None)
    assert not rules.reminder_due("planned", due + timedelta(days=1), TODAY, None)  # more than a week ahead
    assert not rules.reminder_due("planned", due, TODAY, due)  # sent for this due date already
    assert rules.reminder_due("planned", due, TODAY, due - timedelta(days=3))  # the date moved: again
    assert not rules.reminder_due("done", due, TODAY, None)
    assert not rules.overdue_reminder_due("planned", TODAY, TODAY, None)
    assert rules.overdue_reminder_due("planned", TODAY - timedelta(days=1), TODAY, None)
    assert not rules.overdue_reminder_due(
        "planned", TODAY - timedelta(days=1), TODAY, TODAY - timedelta(days=1)
    )
    assert not rules.overdue_reminder_due("dropped", TODAY - timedelta(days=1), TODAY, None)


def test_lists_put_overdue_first_then_open_then_closed():
    actions = [
        ("done", TODAY - timedelta(days=9)),
        ("planned", TODAY + timedelta(days=5)),
        ("under_way", TODAY - timedelta(days=2)),
        ("planned", TODAY + timedelta(days=1)),
    ]
    ordered = sorted(actions, key=lambda a: rules.open_first(a[0], a[1], TODAY))
    assert ordered == [actions[2], actions[3], actions[1], actions[0]]
