"""Every route, walked as every kind of visitor: nobody, each role, and API tokens. A guard on every non-public
route; heads reach only their own units, whoever's id they guess."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from litestar.routes import HTTPRoute
from litestar.testing import TestClient
from sqlmodel import select

from conftest import BASE_URL, start_round
from helpers import csrf_from, log_in
from identity_provider import running_provider, sign_in, sso_settings
from survey.accounts.api_tokens import create_api_token
from survey.accounts.sign_in import start_password_reset
from survey.db.models import Instrument, OutboxMessage, Unit, User
from survey.rounds.scheduler import create_schedule
from survey.web.app import create_app
from survey.web.auth import PUBLIC_PATHS

PUBLIC = [re.compile(p) for p in PUBLIC_PATHS]


def _is_public(path: str) -> bool:
    return any(p.search(path) for p in PUBLIC)


def concrete_routes(app, ids: dict[str, int | str]) -> list[tuple[str, str]]:
    """(method, path) for every route of the app, its path parameters filled in from `ids`."""
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        path = route.path
        for name in re.findall(r"{(\w+):?\w*}", path):
            path = re.sub(r"{" + name + r"(:\w+)?}", str(ids[name]), path)
        for method in sorted(
            route.http_handler_names if hasattr(route, "http_handler_names") else route.methods
        ):
            if method not in {"HEAD", "OPTIONS"}:
                found.append((method, path))
    return found


@pytest.fixture
def ids(db, org, people, settings):
    start_round(db)
    with db.session() as session:
        schedule = create_schedule(session, "Quarterly")
        start_password_reset(session, people.executive, settings, datetime.now(UTC))
        message = session.exec(select(OutboxMessage)).one()
        return {
            "unit_id": session.exec(select(Unit).where(Unit.code == "FL2")).one().id,
            "function_id": session.exec(select(Unit).where(Unit.code == "SF1")).one().id,
            "round_id": 1,
            "instrument_id": session.exec(select(Instrument)).first().id,
            "user_id": session.exec(select(User).where(User.email == people.executive)).one().id,
            "token_id": 1,
            "step": "open",
            "token": "not-a-real-token",
            "slug": "not-a-real-slug",
            "file_path": "survey.css",
            "path": "openapi.json",
            "schedule_id": schedule.id,
            "burst_id": 1,
            "decision": "keep",
            "message_id": message.id,
            "name": "units.csv",
            "file_format": "xlsx",
            "unit": str(session.exec(select(Unit).where(Unit.code == "FL2")).one().id),  # a report's unit
            **_action_ids(session),
        }


def _action_ids(session) -> dict[str, int | str]:
    """An action of SF1 for FL2, and FL2's request to SF1, made by HR."""
    from survey.actions import store
    from survey.actions.rules import ActionFields

    hr = store.reader_for(session, session.exec(select(User).where(User.email == "hr@example.com")).one())
    units = {u.code: u.id for u in session.exec(select(Unit))}
    now = datetime.now(UTC)
    action = store.create_action(
        session,
        hr,
        function_id=units["SF1"],
        round_id=1,
        source="other",
        fields=ActionFields("Spare tills in every region", "", "reliability", now.date(), [units["FL2"]]),
        owner_id=hr.user_id,
        now=now,
    )
    request = store.raise_request(
        session, hr, team_id=units["FL2"], function_id=units["SF1"], dimension=None, text="More vans", now=now
    )
    return {"action_id": action.id, "request_id": request.id, "decision": "answer"}


def test_nobody_reaches_a_non_public_route(app, client, ids):
    routes = concrete_routes(app, ids)
    assert len(routes) > 30
    for method, path in routes:
        if _is_public(path):
            continue
        response = client.request(method, path, follow_redirects=False)
        if path.startswith("/api"):
            assert response.status_code == 401, (method, path)
            assert response.headers["www-authenticate"] == "Bearer"
        elif method == "GET":
            assert response.status_code == 303, (method, path)
            assert response.headers["location"].startswith("/login?next=")
        else:
            assert response.status_code in (401, 403), (method, path)  # no session, or no CSRF token


def _walk_as(client, app, ids, email, signed_in_by=None):
    """Every route as one account, signed in by password, or by `signed_in_by(client)` (the identity provider)."""
    if signed_in_by is None:
        log_in(client, email)
    else:
        signed_in_by(client)
    token = csrf_from(client.get("/my").text)
    results = {}
    for method, path in concrete_routes(app, ids):
        if _is_public(path) or path == "/logout":
            continue
        data = {"_csrf_token": token} if method == "POST" else None
        results[(method, path)] = client.request(method, path, data=data, follow_redirects=False).status_code
    return results


@pytest.mark.parametrize("who", ["head_fl1", "head_fl2", "head_region", "executive"])
def test_heads_and_executives_reach_no_admin_page_and_no_api(client, app, ids, people, who):
    results = _walk_as(client, app, ids, getattr(people, who))
    for (method, path), status in results.items():
        if path.startswith("/admin"):
            assert status == 403, (who, method, path, status)
        elif path.startswith("/api"):
            assert status == 401, (who, method, path, status)  # a session cookie is no API credential


def test_a_head_guessing_another_units_ids_finds_nothing(client, db, people):
    log_in(client, people.head_fl1)
    with db.session() as session:
        units = {u.code: u.id for u in session.exec(select(Unit))}
    assert client.get(f"/units/{units['FL1']}").status_code == 200
    for code in ("FL2", "FL3", "SF1", "R1"):
        denied = client.get(f"/units/{units[code]}")
        assert denied.status_code == 404, code
    assert client.get("/units/999999").status_code == 404  # the same answer as a unit that does not exist
    assert "Store 2" not in client.get("/my").text


def test_a_region_head_sees_the_teams_in_the_region(client, db, people):
    log_in(client, people.head_region)
    with db.session() as session:
        units = {u.code: u.id for u in session.exec(select(Unit))}
    for code in ("R1", "FL1", "FL2", "FL3"):
        assert client.get(f"/units/{units[code]}").status_code == 200, code
    assert client.get(f"/units/{units['SF1']}").status_code == 404


def test_hr_reaches_every_admin_page(client, app, ids, people):
    results = _walk_as(client, app, ids, people.hr)
    for (method, path), status in results.items():
        if method == "GET" and not path.startswith("/api"):
            # The round in `ids` is open: it has no reports yet, for HR neither; and units.csv is no report asset.
            # The unit in `ids` is a team, which has no promises and no action pages (a support function's are
            # walked in their own tests).
            function_page = re.fullmatch(r"/units/\d+/(actions(/new)?|promises)", path)
            expected = 404 if path.startswith("/reports/") or function_page else 200
            assert status == expected, (method, path, status)
    # The outbox's message is the executive's password link: never shown, to HR neither.
    assert results[("POST", f"/admin/outbox/{ids['message_id']}/reveal")] == 409


def test_executives_see_every_unit(client, db, people):
    log_in(client, people.executive)
    with db.session() as session:
        unit_ids = [u.id for u in session.exec(select(Unit))]
    assert all(client.get(f"/units/{u}").status_code == 200 for u in unit_ids)


def test_admin_forms_without_their_csrf_token_change_nothing(client, db, people):
    log_in(client, people.hr)
    response = client.post("/admin/users", data={"email": "x@example.com", "name": "X", "role": "hr"})
    assert response.status_code == 403
    with db.session() as session:
        assert session.exec(select(User).where(User.email == "x@example.com")).first() is None


def test_api_tokens_are_scoped_and_revocable(client, db, org):
    with db.session() as session:
        row, token = create_api_token(session, "reader", ["rounds:read"], None, datetime.now(UTC))
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/rounds", headers=headers).status_code == 200
    refused = client.get("/api/units", headers=headers)
    assert refused.status_code == 403 and "roster:read" in refused.json()["detail"]
    assert client.get("/api/rounds", headers={"Authorization": "Bearer svy_forged"}).status_code == 401
    from survey.accounts.api_tokens import revoke_api_token

    with db.session() as session:
        revoke_api_token(session, row.id, datetime.now(UTC))
    assert client.get("/api/rounds", headers=headers).status_code == 401


def test_a_region_head_cannot_work_out_a_small_teams_participation(client, db, people):
    """FL1 and FL2 have 6 invitees, a kiosk in the same region 2: the region's count minus the two teams' would
    give the kiosk's, so one of the two teams is hidden as well."""
    from survey.db.models import Employee
    from survey.vocabulary import UnitKind

    with db.session() as session:
        region = session.exec(select(Unit).where(Unit.code == "R1")).one()
        kiosk = Unit(code="FL9", name="Kiosk", kind=UnitKind.FRONT_LINE, parent_id=region.id, public_slug="k")
        session.add(kiosk)
        session.flush()
        session.add_all(
            Employee(email=f"k{n}@example.com", name=f"K {n}", unit_id=kiosk.id) for n in range(2)
        )
        session.commit()
        unit_ids = {u.code: u.id for u in session.exec(select(Unit))}
    start_round(db)
    log_in(client, people.head_region)
    shown = {}
    for code in ("R1", "FL1", "FL2", "FL3", "FL9"):
        page = client.get(f"/units/{unit_ids[code]}").text
        shown[code] = "hidden" not in page.split("Participation")[1]
    assert not shown["FL9"]
    assert shown["R1"]
    assert sum(not shown[c] for c in ("FL1", "FL2", "FL3")) >= 1


# --- The same walk with single sign-on on and password login off ------------------------------------------


@pytest.fixture(scope="module")
def issuer():
    with running_provider(BASE_URL) as url:
        yield url


@pytest.fixture
def sso_app(settings, issuer):
    return create_app(sso_settings(settings, issuer))


def test_with_single_sign_on_nobody_reaches_a_non_public_route(sso_app, ids):
    with TestClient(sso_app, base_url=BASE_URL) as client:
        for method, path in concrete_routes(sso_app, ids):
            if _is_public(path):
                continue
            response = client.request(method, path, follow_redirects=False)
            if path.startswith("/api"):
                assert response.status_code == 401, (method, path)
            elif method == "GET":
                assert response.headers["location"].startswith("/login?next="), (method, path)
            else:
                assert response.status_code in (401, 403), (method, path)
        # the provider's way back is public, and signs nobody in without a sign-in begun in this browser
        assert client.get("/login/provider/callback?code=x&state=y").status_code == 400


@pytest.mark.parametrize("who, login", [("head_fl1", "hugo"), ("head_region", "rita"), ("executive", "edda")])
def test_with_single_sign_on_heads_and_executives_reach_no_admin_page(sso_app, ids, people, who, login):
    with TestClient(sso_app, base_url=BASE_URL) as client:
        results = _walk_as(client, sso_app, ids, getattr(people, who), lambda c: sign_in(c, login))
    assert results
    for (method, path), status in results.items():
        if path.startswith("/admin"):
            assert status == 403, (who, method, path, status)
        elif path.startswith("/api"):
            assert status == 401, (who, method, path, status)


def test_with_single_sign_on_hr_reaches_every_admin_page(sso_app, ids, people):
    with TestClient(sso_app, base_url=BASE_URL) as client:
        results = _walk_as(client, sso_app, ids, people.hr, lambda c: sign_in(c, "hana"))
    for (method, path), status in results.items():
        if method == "GET" and not path.startswith("/api"):
            function_page = re.fullmatch(r"/units/\d+/(actions(/new)?|promises)", path)
            expected = 404 if path.startswith("/reports/") or function_page else 200
            assert status == expected, (method, path, status)
