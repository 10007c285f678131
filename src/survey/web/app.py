"""The web application: `create_app()` wires settings, database, pages and security together."""

from __future__ import annotations

import gc
from collections.abc import Callable

from litestar import Litestar, Router, get
from litestar.config.allowed_hosts import AllowedHostsConfig
from litestar.config.csrf import CSRFConfig
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig

from survey.accounts.pages import LoginPages
from survey.accounts.provider import IdentityProvider
from survey.accounts.users import prepare_password_checks
from survey.actions import pages as actions_pages
from survey.db.engine import Database
from survey.languages import install_translations
from survey.organisation import pages as organisation_pages
from survey.promises import pages as promises_pages
from survey.reports import pages as reports_pages
from survey.reports.content.common import figure_filters
from survey.rounds.scheduler import scheduler_lifespan
from survey.settings import Settings, resource_dir
from survey.surveys import pages as surveys_pages
from survey.surveys.intake import Intake
from survey.web.admin import admin_router
from survey.web.api import api_router
from survey.web.auth import Authentication, any_account
from survey.web.errors import http_error_page, server_error_page, unreadable_request_page
from survey.web.security import security_headers


def tune_garbage_collection() -> None:
    """Startup hook. Keep what start-up built (modules, app, caches) out of the garbage collector's full scans,
    which otherwise pause every request now and then (they made up most of bench/intake.py's p99 latency); and
    collect young objects less often, since a request makes thousands and reference counting frees nearly all."""
    gc.freeze()
    gc.set_threshold(20_000, 50, 1_000)


@get("/health", sync_to_thread=False, exclude_from_csrf=True, include_in_schema=False)
def health() -> dict[str, str]:
    """Liveness: answers without touching the database."""
    return {"status": "ok"}


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    if not settings.secret_key:
        raise ValueError("SURVEY_SECRET_KEY is not set: it signs the forms' CSRF tokens")
    db = Database(settings.database_url)
    intake = Intake(db)
    identity_provider = IdentityProvider(settings)  # used only when SURVEY_OIDC_ISSUER is set
    templates = resource_dir("templates")

    return Litestar(
        route_handlers=[
            health,
            surveys_pages.EmployeeSurvey,
            surveys_pages.customer_router(settings, db),
            LoginPages,
            admin_router(),
            Router(  # pages for every signed-in account: each checks which units the account may see
                path="/",
                guards=[any_account],
                include_in_schema=False,
                route_handlers=[
                    *organisation_pages.PAGES,
                    *reports_pages.PAGES,
                    *promises_pages.PAGES,
                    *actions_pages.PAGES,
                ],
            ),
            api_router(),
            create_static_files_router(
                path="/static", directories=[templates / "static"], include_in_schema=False
            ),
        ],
        dependencies={
            "settings": Provide(lambda: settings, sync_to_thread=False, use_cache=True),
            "intake": Provide(lambda: intake, sync_to_thread=False, use_cache=True),
            "db": Provide(lambda: db, sync_to_thread=False, use_cache=True),
            "identity_provider": Provide(lambda: identity_provider, sync_to_thread=False, use_cache=True),
        },
        middleware=[DefineMiddleware(Authentication, db=db, settings=settings)],
        template_config=TemplateConfig(
            directory=templates, engine=JinjaTemplateEngine, engine_callback=_company_on_pages(settings)
        ),
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_secure=settings.cookie_secure,
            cookie_httponly=True,
            cookie_samesite="lax",
            # Bearer tokens are not sent by browsers on their own, so API calls cannot be forged cross-site.
            exclude=["^/health$", "^/api(/|$)"],
        ),
        allowed_hosts=AllowedHostsConfig(allowed_hosts=settings.hosts),
        before_send=[security_headers(hsts=settings.base_url.startswith("https://"))],
        exception_handlers={
            HTTPException: http_error_page,
            UnicodeDecodeError: unreadable_request_page,
            Exception: server_error_page,
        },
        on_startup=[prepare_password_checks, tune_garbage_collection],
        lifespan=[scheduler_lifespan(db, settings)],  # rounds open, remind and close; mail goes out
        on_shutdown=[db.dispose],
        openapi_config=OpenAPIConfig(
            title="survey API",
            version="1",
            description="Roster, rounds, schedules, customer figures and response rates. "
            "Send an API token created by HR: Authorization: Bearer <token>.",
            path="/schema",
            render_plugins=[JsonRenderPlugin()],
            components=Components(security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer")}),
        ),
    )


def _company_on_pages(settings: Settings) -> Callable[[JinjaTemplateEngine], None]:
    """The company's name and logo (settings), for every template: the customer pages show them; the reports'
    filters for numbers; and the translations: a page rendered with a `language` in its context is in that
    language (the respondents' pages), any other in English."""

    def add(engine: JinjaTemplateEngine) -> None:
        # figures rounded on the pages exactly as in the PDF reports
        engine.engine.filters.update(figure_filters())
        engine.engine.globals["company"] = {
            "name": settings.company_name,
            "logo_uri": settings.company_logo_uri,
        }
        engine.engine.policies["ext.i18n.trimmed"] = True
        install_translations(engine.engine)

    return add
