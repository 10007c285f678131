"""Integrations use the JSON API with a scoped token: rounds, schedules, response rates, the roster."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from conftest import NEXT_YEAR
from survey.accounts.api_tokens import API_SCOPES, create_api_token
from survey.vocabulary import EXTERNAL_MEASURES, INTERNAL_MEASURES


@pytest.fixture
def api(client, db, org):
    with db.session() as session:
        _, token = create_api_token(session, "integration", API_SCOPES, None, datetime.now(UTC))
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def test_a_round_is_created_opened_closed_and_published_through_the_api(api, db):
    made = api.post(
        "/api/rounds",
        json={
            "name": "2027 Q1",
            "opens_at": f"{NEXT_YEAR}-01-04T09:00:00+01:00",
            "closes_at": f"{NEXT_YEAR}-01-18T17:00:00+01:00",
        },
    )
    assert made.status_code == 201, made.text
    a_round = made.json()
    assert a_round["status"] == "scheduled" and "FL1" in a_round["unit_codes"]
    for step, status in (("open", "open"), ("close", "closed"), ("publish", "published")):
        moved = api.post(f"/api/rounds/{a_round['id']}/{step}")
        assert moved.status_code == 200 and moved.json()["status"] == status
    again = api.post(f"/api/rounds/{a_round['id']}/open")
    assert again.status_code == 409 and "only a scheduled round can be opened" in again.json()["detail"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {
                "name": "Q",
                "opens_at": f"{NEXT_YEAR}-01-04T09:00:00",
                "closes_at": f"{NEXT_YEAR}-01-18T09:00:00",
            },
            "time zone",
        ),
        (
            {
                "name": "Q",
                "opens_at": f"{NEXT_YEAR}-01-18T09:00:00Z",
                "closes_at": f"{NEXT_YEAR}-01-04T09:00:00Z",
            },
            "close after",
        ),
        ({"name": "Q", "opens_at": "soon", "closes_at": f"{NEXT_YEAR}-01-04T09:00:00Z"}, "opens_at"),
        ({"name": "Q"}, "opens_at"),
    ],
)
def test_a_bad_round_body_is_a_400_that_names_the_problem(api, body, message):
    refused = api.post("/api/rounds", json=body)
    assert refused.status_code == 400 and message in refused.json()["detail"], refused.text


def test_a_round_that_could_never_open_is_refused_as_opening_it_would_be(api, db):
    from survey.db.models import Round

    refused = api.post(
        "/api/rounds",
        json={
            "name": "Late",
            "opens_at": "2020-01-06T09:00:00+01:00",
            "closes_at": "2020-01-20T09:00:00+01:00",
        },
    )
    assert refused.status_code == 400
    assert refused.json()["detail"] == "round 'Late' was due to close 2020-01-20 08:00 UTC; it cannot open"
    with db.session() as session:
        assert session.exec(select(Round)).all() == []


def test_schedules_are_created_listed_and_changed_through_the_api(api):
    made = api.post("/api/schedules", json={"name": "Quarterly", "timezone": "Europe/Berlin"})
    assert made.status_code == 201, made.text
    schedule = made.json()
    assert schedule["months"] == "1,4,7,10" and schedule["next_opens_at"] and schedule["unit_codes"] == []
    changed = api.post(f"/api/schedules/{schedule['id']}", json={"days_open": 21, "active": False})
    assert changed.status_code == 200 and changed.json()["days_open"] == 21 and not changed.json()["active"]
    assert [s["name"] for s in api.get("/api/schedules").json()] == ["Quarterly"]
    assert api.get(f"/api/schedules/{schedule['id']}").json()["days_open"] == 21
    assert api.get("/api/schedules/999").status_code == 404
    bad = api.post("/api/schedules", json={"name": "Other", "timezone": "Mars/Olympus", "days_open": 0})
    assert bad.status_code == 400
    assert "timezone" in bad.json()["detail"] and "days_open" in bad.json()["detail"]
    assert api.post("/api/schedules/999", json={}).status_code == 404


def test_the_roster_can_be_read_page_by_page(api):
    units = api.get("/api/units").json()
    assert {u["code"] for u in units} == {"R1", "SF1", "SF2", "FL1", "FL2", "FL3"}
    assert next(u for u in units if u["code"] == "FL1")["parent_code"] == "R1"
    first = api.get("/api/employees?limit=10").json()
    rest = api.get("/api/employees?limit=10&offset=10").json()
    assert (
        len(first) == 10 and len(rest) == 8 and not {e["email"] for e in first} & {e["email"] for e in rest}
    )
    assert api.get("/api/employees?limit=0").status_code == 400


def test_control_characters_in_a_round_name_or_unit_code_are_a_400(api):
    for body in (
        {
            "name": "Q\x00",
            "opens_at": f"{NEXT_YEAR}-01-04T09:00:00Z",
            "closes_at": f"{NEXT_YEAR}-01-18T09:00:00Z",
        },
        {
            "name": "Q",
            "opens_at": f"{NEXT_YEAR}-01-04T09:00:00Z",
            "closes_at": f"{NEXT_YEAR}-01-18T09:00:00Z",
            "unit_codes": ["\x00"],
        },
    ):
        refused = api.post("/api/rounds", json=body)
        assert refused.status_code == 400 and "characters" in refused.json()["detail"]


def test_response_rates_roll_up_to_regions(api, db):
    from conftest import start_round

    opened = start_round(db)
    rates = api.get(f"/api/rounds/{opened.id}/response-rates").json()
    assert rates["groups"] == [
        {
            "group_code": "R1",
            "group_name": "North region",
            "invited": 18,
            "answered": 0,
            "rate": 0.0,
            "low_participation": True,
        }
    ]


def _response_schema(schema: dict, path: str) -> dict:
    return schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]


def test_the_schema_describes_scores_and_linkage_field_by_field(client):
    """An integrator reads from /schema/openapi.json what every field of a round's results is, down to each
    figure's n, mean and spread, not an untyped object."""
    schema = client.get("/schema/openapi.json").json()
    components = schema["components"]["schemas"]

    def fields(name: str) -> set[str]:
        return set(components[name]["properties"])

    def ref(name: str) -> dict:
        return {"$ref": f"#/components/schemas/{name}"}

    assert _response_schema(schema, "/api/rounds/{round_id}/scores") == ref("Scores")
    assert _response_schema(schema, "/api/rounds/{round_id}/linkage") == ref("Linkage")
    assert fields("Scores") == {
        "round",
        "min_group_size",
        "min_comment_group_size",
        "scale",
        "functions",
        "reliability",
        "customers",
        "measures",
    }
    assert components["Scores"]["properties"]["functions"]["items"] == ref("FunctionScores")
    assert components["FunctionScores"]["properties"]["cells"]["items"] == ref("ScoreCell")
    assert fields("StaffScores") == set(INTERNAL_MEASURES)
    assert fields("CustomerScores") == set(EXTERNAL_MEASURES)
    assert fields("Figure") == {"n", "mean", "sd", "favourable"} and set(
        components["Figure"]["required"]
    ) == {
        "n",
        "mean",
        "sd",
    }
    assert fields("Linkage") >= {"outcome", "enough_data", "message", "drivers", "hotspots", "tests"}
    assert components["Linkage"]["properties"]["drivers"]["items"] == ref("Driver")
    assert fields("DriverTests") == {"same_round", "lagged", "reverse", "change"}
    assert fields("LinkTest") == {
        "function",
        "measure",
        "kind",
        "n",
        "effect",
        "low",
        "high",
        "p",
        "q",
        "flagged",
    }
    assert fields("Hotspot") >= {"function", "team", "score", "score_n", "outcome", "outcome_n", "sentence"}
