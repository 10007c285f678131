"""Reading posted forms: every answer checked, every problem named at its question, nothing else trusted."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from survey.surveys.questionnaire import (
    CustomerForm,
    FunctionSection,
    Question,
    read_customer_form,
    read_internal_form,
    read_rating,
)
from survey.surveys.steps import BACK, NEXT, StepRefused, next_page

AGREE = {"scale_min": 1, "scale_max": 7, "low_label": "Strongly disagree", "high_label": "Strongly agree"}
QUESTIONS = (
    Question(1, "REL1", "reliability", "Works first time.", **AGREE),
    Question(2, "RES1", "responsiveness", "Answers fast.", **AGREE),
)
SECTIONS = (FunctionSection(10, "IT", QUESTIONS), FunctionSection(11, "Payroll", QUESTIONS))
NPS = Question(3, "NPS", "nps", "Recommend?", 0, 10, "Not at all likely", "Extremely likely")


def test_a_complete_form_reads_into_one_review_per_function():
    form = {"use-10": "yes", "q-10-1": "7", "q-10-2": "1", "comment-10": "  Great.  ", "use-11": "no"}
    reviews, errors = read_internal_form(form, SECTIONS)
    assert errors == {}
    assert [(r.function_id, r.used, r.answers, r.comment) for r in reviews] == [
        (10, True, {1: 7, 2: 1}, "Great."),
        (11, False, {}, None),
    ]


def test_each_problem_is_named_at_its_question():
    form = {"use-10": "yes", "q-10-1": "8", "use-11": "maybe"}
    _, errors = read_internal_form(form, SECTIONS)
    assert errors == {
        "q-10-1": "“8” is not one of the answers (1 to 7).",
        "use-11": "Tell us whether you used Payroll this quarter.",
    }


def test_not_applicable_and_a_skipped_rating_are_both_kept_as_none():
    form = {"use-10": "yes", "q-10-1": "na", "use-11": "yes", "q-11-1": "3", "q-11-2": "  "}
    reviews, errors = read_internal_form(form, SECTIONS)
    assert errors == {}
    assert [r.answers for r in reviews] == [{1: None, 2: None}, {1: 3, 2: None}]


def test_steps_follow_the_functions_ticked_and_refuse_a_step_that_does_not_exist():
    ticked = next_page({"step": "0", "use-11": "yes", "use-10": "no"}, SECTIONS, NEXT)
    assert ticked.kind == "function" and ticked.section.name == "Payroll" and ticked.is_last
    assert ("use-10", "no") in ticked.hidden and ("use-11", "yes") in ticked.hidden
    none = next_page({"step": "0"}, SECTIONS, NEXT)
    assert none.kind == "confirm" and none.used == ()
    back = next_page({"step": "1", "use-10": "yes", "use-11": "yes", "q-11-1": "4"}, SECTIONS, BACK)
    assert back.kind == "checklist" and ("q-11-1", "4") in back.hidden
    assert not any(name.startswith("use-") for name, _ in back.hidden)  # its boxes say it
    with pytest.raises(StepRefused, match="no step 3"):
        next_page({"step": "3", "use-10": "yes", "use-11": "yes"}, SECTIONS, NEXT)
    tampered = next_page({"step": "2", "use-10": "yes", "use-11": "yes", "q-10-2": "0"}, SECTIONS, NEXT)
    assert tampered.number == 1 and set(tampered.errors) == {"q-10-2"}


def test_scales_other_than_one_to_seven_are_respected():
    assert read_rating("0", NPS) == (0, None)
    assert read_rating("10", NPS) == (10, None)
    assert read_rating("-1", NPS)[1] and read_rating("11", NPS)[1] and read_rating("1.5", NPS)[1]
    assert read_rating("٣", QUESTIONS[0])[1] and read_rating("²", QUESTIONS[0])[1]  # only ASCII digits


def test_customer_comment_is_optional_and_bounded():
    survey = CustomerForm((QUESTIONS[0], NPS))
    answers, errors = read_customer_form({"q-1": "6", "q-3": "9"}, survey)
    assert errors == {} and answers.answers == {1: 6, 3: 9} and answers.comment is None
    _, errors = read_customer_form({"q-1": "6", "q-3": "9", "comment": "é" * 2001}, survey)
    assert set(errors) == {"comment"}


form_values = st.dictionaries(
    st.sampled_from(["use-10", "use-11", "q-10-1", "q-10-2", "q-11-1", "q-11-2", "comment-10", "other"]),
    st.one_of(st.sampled_from(["yes", "no", "1", "7", "0", "8", ""]), st.text(max_size=30)),
)


@given(form_values)
@settings(max_examples=300, deadline=None)  # a correctness property, not a timing one
def test_any_form_reads_into_complete_reviews_or_named_errors(form):
    reviews, errors = read_internal_form(form, SECTIONS)
    known_fields = {"use-10", "use-11", "q-10-1", "q-10-2", "q-11-1", "q-11-2", "comment-10", "comment-11"}
    assert set(errors) <= known_fields
    if not errors:
        assert [r.function_id for r in reviews] == [10, 11]
        for review in reviews:
            if review.used:
                assert set(review.answers) == {1, 2}
                assert all(v is None or 1 <= v <= 7 for v in review.answers.values())
            else:
                assert review.answers == {} and review.comment is None
