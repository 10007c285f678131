"""The JSON API under `/api`, for integrations: an API token (created by HR) in `Authorization: Bearer ...`, with
the scope each route names (`opt={"scope": ...}`), checked by the router's guard. Each capability keeps its own
handlers (`api.py` in its package); this router gathers them. The OpenAPI description is at
`/schema/openapi.json`.

Numbers leave here under the same anonymity rules as the pages: response rates only for groups of at least k,
results only through the release gate.
"""

from __future__ import annotations

from litestar import Router

from survey.actions import api as actions_api
from survey.analysis import api as analysis_api
from survey.imports import api as imports_api
from survey.organisation import api as organisation_api
from survey.promises import api as promises_api
from survey.reports import api as reports_api
from survey.rounds import api as rounds_api
from survey.web.auth import api_scope
from survey.wording import api as wording_api


def api_router() -> Router:
    return Router(
        path="/api",
        guards=[api_scope],
        security=[{"bearer": []}],
        route_handlers=[
            *organisation_api.ROUTES,
            *rounds_api.ROUTES,
            *analysis_api.ROUTES,
            *reports_api.ROUTES,
            *imports_api.ROUTES,
            *wording_api.ROUTES,
            *promises_api.ROUTES,
            *actions_api.ROUTES,
        ],
    )
