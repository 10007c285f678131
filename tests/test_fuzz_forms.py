"""Whatever a client posts, the surveys answer with a page and a 2xx, 3xx or 4xx: never a server error."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import csrf_from, open_survey

field_names = st.one_of(
    st.sampled_from(["use-1", "q-1-1", "comment-1", "form_key", "comment", "q-1", "step", "go", "round"]),
    st.from_regex(r"(use|q|comment)-[0-9]{1,12}(-[0-9]{1,12})?", fullmatch=True),
    st.text(min_size=1, max_size=20),
)
field_values = st.one_of(
    st.sampled_from(["yes", "no", "na", "3", "-1", "0", "1", "2", "99999999999999999999"]),
    st.sampled_from(["next", "back", "stay", "submit"]),
    st.text(max_size=200),
)
posted = st.dictionaries(field_names, field_values, max_size=12)


@given(data=posted)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_employee_form_post_gets_an_answer_not_a_crash(client, open_round, data):
    form = open_survey(client, open_round.path(sorted(open_round.links)[0]))
    if "already answered" in form.text:
        return
    # Most posts name the page's round, as every step does; the fuzzed fields may still replace it.
    posted = {"round": re.search(r'name="round" value="(\d+)"', form.text).group(1), **data}
    response = client.post("/survey", data={**posted, "_csrf_token": csrf_from(form.text)})
    assert response.status_code < 500, response.text


@given(data=posted)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_customer_form_post_gets_an_answer_not_a_crash(settings_for_fuzz, org, open_round, data):
    client = settings_for_fuzz
    page = client.get(f"/c/{org.team_slugs[0]}")
    response = client.post(f"/c/{org.team_slugs[0]}", data={**data, "_csrf_token": csrf_from(page.text)})
    assert response.status_code < 500, response.text
