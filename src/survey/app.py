"""The web application: `create_app()` wires settings, database, pages and security together."""

from __future__ import annotations

import gc

from litestar import Litestar, get
from litestar.config.allowed_hosts import AllowedHostsConfig
from litestar.config.csrf import CSRFConfig
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig

from survey import customer, employee
from survey.db import Database
from survey.intake import Intake
from survey.settings import Settings, resource_dir
from survey.web import http_error_page, security_headers, server_error_page, unreadable_request_page


def tune_garbage_collection() -> None:
    """Startup hook. Keep what start-up built (modules, app, caches) out of the garbage collector's full scans,
    which otherwise pause every request now and then (they made up most of bench/intake.py's p99 latency); and
    collect young objects less often, since a request makes thousands and reference counting frees nearly all."""
    gc.freeze()
    gc.set_threshold(20_000, 50, 1_000)


@get("/health", sync_to_thread=False, exclude_from_csrf=True)
def health() -> dict[str, str]:
    """Liveness: answers without touching the database."""
    return {"status": "ok"}


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    if not settings.secret_key:
        raise ValueError("SURVEY_SECRET_KEY is not set: it signs the forms' CSRF tokens")
    db = Database(settings.database_url)
    intake = Intake(db)
    templates = resource_dir("templates")

    return Litestar(
        route_handlers=[
            health,
            employee.EmployeeSurvey,
            customer.customer_router(settings),
            create_static_files_router(path="/static", directories=[templates / "static"]),
        ],
        dependencies={
            "settings": Provide(lambda: settings, sync_to_thread=False, use_cache=True),
            "intake": Provide(lambda: intake, sync_to_thread=False, use_cache=True),
        },
        template_config=TemplateConfig(directory=templates, engine=JinjaTemplateEngine),
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_secure=settings.cookie_secure,
            cookie_httponly=True,
            cookie_samesite="lax",
            exclude=["/health"],
        ),
        allowed_hosts=AllowedHostsConfig(allowed_hosts=settings.hosts),
        before_send=[security_headers(hsts=settings.base_url.startswith("https://"))],
        exception_handlers={
            HTTPException: http_error_page,
            UnicodeDecodeError: unreadable_request_page,
            Exception: server_error_page,
        },
        on_startup=[tune_garbage_collection],
        on_shutdown=[db.dispose],
        openapi_config=None,
    )
