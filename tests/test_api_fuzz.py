"""Schemathesis walks the API from its own OpenAPI description, with a token holding every scope: whatever it
sends, no server error and no response that breaks the published schema. And without a token, every route
answers 401."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from litestar.testing import TestClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from conftest import BASE_URL, start_round
from survey.accounts.api_tokens import API_SCOPES, create_api_token
from survey.settings import Settings
from survey.web.app import create_app

pytestmark = pytest.mark.web


@pytest.fixture
def api(db, org, settings):
    start_round(db)
    with db.session() as session:
        _, token = create_api_token(session, "fuzzer", API_SCOPES, None, datetime.now(UTC))
    # Schemathesis calls the app as http://localhost or http://testserver.
    app = create_app(settings.with_(allowed_hosts=("localhost", "testserver", "testserver.local")))
    return app, token


def _operations() -> list[tuple[str, str]]:
    """(method, path) of every API operation, read from the OpenAPI description (no database needed)."""
    spec = create_app(Settings(secret_key="only-to-read-the-schema")).openapi_schema.to_schema()
    return [(method.upper(), path) for path, item in spec["paths"].items() for method in item]


@pytest.mark.parametrize(("method", "path"), _operations())
def test_the_api_never_fails_or_breaks_its_schema(api, method, path):
    app, token = api
    operation = schemathesis.openapi.from_asgi("/schema/openapi.json", app)[path][method]

    @given(case=operation.as_strategy())
    @hypothesis_settings(
        max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    def no_failure(case):
        case.call_and_validate(
            headers={"Authorization": f"Bearer {token}"},
            checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
        )

    no_failure()


def test_every_api_route_answers_401_without_credentials(api):
    app, _ = api
    with TestClient(app, base_url=BASE_URL) as client:
        spec = client.get("/schema/openapi.json").json()
        assert spec["paths"], "the API publishes its routes"
        for path, operations in spec["paths"].items():
            concrete = re.sub(r"\{[^}]+\}", "1", path)  # every path parameter, e.g. {round_id}
            for method in operations:
                if method.upper() not in {"GET", "POST", "PUT", "PATCH", "DELETE"}:
                    continue
                response = client.request(method.upper(), concrete)
                assert response.status_code == 401, (method, path)
                assert "Bearer" in response.headers["www-authenticate"]
