"""Who is asking, on every route that is not public: a signed-in person (session cookie) on pages, an API token
on `/api`. Everything is closed unless listed in PUBLIC_PATHS; roles and per-object rights are checked by guards
and by the handlers that load objects.

Also the pages to log in, log out and reset a forgotten password.
"""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Controller, Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware.authentication import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER
from litestar.types import ASGIApp

from survey.accounts import users as accounts
from survey.db.engine import Database
from survey.web.deps import DatabaseDep, SettingsDep
from survey.db.models import Role, User
from survey.db.models import utc_now as now
from survey.surveys.questionnaire import text_field
from survey.settings import Settings

# Routes anyone may reach: survey takers, customers, the login pages, static files, liveness, the API's schema.
PUBLIC_PATHS = [
    "^/health$",
    "^/i/",
    "^/survey",
    "^/c/",
    "^/static/",
    "^/login$",
    "^/password/",
    "^/schema(/|$)",
]


def session_cookie_name(settings: Settings) -> str:
    # The __Host- prefix makes browsers refuse the cookie unless it is Secure, host-only and for path "/".
    return "__Host-survey_auth" if settings.cookie_secure else "survey_auth"


@dataclass(frozen=True)
class ApiClient:
    """An integration calling `/api` with a token HR created."""

    token_id: int
    name: str
    scopes: frozenset[str]


class Authentication(AbstractAuthenticationMiddleware):
    """Sets `request.user` to the signed-in `User` (pages) or the `ApiClient` (`/api`), or refuses with 401."""

    def __init__(self, app: ASGIApp, db: Database, settings: Settings, **kwargs) -> None:
        super().__init__(app, exclude=PUBLIC_PATHS, **kwargs)
        self.db = db
        self.settings = settings

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        if connection.scope["path"].startswith("/api"):
            client = await sync_to_thread(self._api_client, connection.headers.get("authorization", ""))
            if client is None:
                raise NotAuthorizedException(
                    "send an API token: Authorization: Bearer <token>",
                    headers={"WWW-Authenticate": "Bearer"},
                )
            return AuthenticationResult(user=client, auth=None)
        token = connection.cookies.get(session_cookie_name(self.settings))
        user = await sync_to_thread(self._user, token) if token else None
        if user is None:
            raise NotAuthorizedException("please log in", extra={"expired": bool(token)})
        return AuthenticationResult(user=user, auth=token)

    def _user(self, token: str) -> User | None:
        with self.db.session() as session:
            return accounts.user_for_session(session, token, self.settings, now())

    def _api_client(self, authorization: str) -> ApiClient | None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token or len(token) > 100:
            return None
        with self.db.session() as session:
            found = accounts.api_token_for(session, token.strip(), now())
            if found is None:
                return None
            return ApiClient(found.id, found.name, frozenset(found.scopes.split()))


# --- Guards ---------------------------------------------------------------------------------------------------


def signed_in_user(connection: ASGIConnection) -> User:
    user = connection.scope.get("user")
    if not isinstance(user, User):
        raise NotAuthorizedException("please log in")
    return user


def hr_only(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    if signed_in_user(connection).role != Role.HR:
        raise PermissionDeniedException("only HR administrators may use this page")


def any_account(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    signed_in_user(connection)


def api_scope(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """Every `/api` handler names the scope it needs in `opt={"scope": ...}`; a handler that names none is closed."""
    client = connection.scope.get("user")
    if not isinstance(client, ApiClient):
        raise NotAuthorizedException("send an API token", headers={"WWW-Authenticate": "Bearer"})
    needed = handler.opt.get("scope")
    if not needed or needed not in client.scopes:
        raise PermissionDeniedException(f"this token lacks the scope {needed!r}")


# --- Pages: log in, log out, reset a password -----------------------------------------------------------------


def home_for(user: User) -> str:
    return "/admin" if user.role == Role.HR else "/my"


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: never `//other.site` or `https://...` (an open redirect)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")) and len(target) < 500:
        return target
    return None


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


class LoginPages(Controller):
    include_in_schema = False

    @get("/login", sync_to_thread=False)
    def show_login(self, request: Request) -> Template:
        expired = request.query_params.get("expired") == "1"
        return Template(
            "auth/login.html",
            context={
                "next": safe_next(request.query_params.get("next")) or "",
                "expired": expired,
                "email": "",
            },
        )

    @post("/login")
    async def log_in(self, request: Request, db: DatabaseDep, settings: SettingsDep) -> Template | Redirect:
        form = await request.form()
        email, password = text_field(form, "email")[:320], str(form.get("password") or "")
        target = safe_next(text_field(form, "next"))

        def attempt():
            with db.session() as session:
                return accounts.authenticate(
                    session, email, password, client_address(request), settings, now()
                )

        try:
            signed_in = await sync_to_thread(attempt)
        except accounts.LoginThrottled:
            return Template(
                "auth/login.html",
                context={
                    "next": target or "",
                    "email": email,
                    "error": "Too many failed attempts. Wait 15 minutes, or reset your password.",
                },
                status_code=429,
            )
        if signed_in is None:
            return Template(
                "auth/login.html",
                context={"next": target or "", "email": email, "error": "Wrong e-mail address or password."},
                status_code=400,
            )
        previous = request.cookies.get(session_cookie_name(settings))
        if previous:  # a new session id at every login; the old one ends
            await sync_to_thread(_end, db, previous)
        return Redirect(
            target or home_for(signed_in.user),
            status_code=HTTP_303_SEE_OTHER,
            cookies=[_session_cookie(settings, signed_in.session_token)],
        )

    @post("/logout")
    async def log_out(self, request: Request, db: DatabaseDep, settings: SettingsDep) -> Redirect:
        await sync_to_thread(_end, db, request.cookies.get(session_cookie_name(settings)))
        return Redirect(
            "/login",
            status_code=HTTP_303_SEE_OTHER,
            cookies=[_session_cookie(settings, "", max_age=0)],
        )

    @get("/password/forgot", sync_to_thread=False)
    def show_forgot(self) -> Template:
        return Template("auth/forgot.html", context={"email": ""})

    @post("/password/forgot")
    async def forgot(self, request: Request, db: DatabaseDep, settings: SettingsDep) -> Template:
        email = text_field(await request.form(), "email")[:320]

        def queue():
            with db.session() as session:
                accounts.request_password_reset(session, email, client_address(request), settings, now())

        try:
            await sync_to_thread(queue)
        except accounts.LoginThrottled:
            return Template(
                "auth/forgot.html",
                context={"email": email, "error": "Too many requests from your connection. Try again later."},
                status_code=429,
            )
        # The same answer whether or not the account exists.
        return Template("auth/forgot.html", context={"email": email, "sent": True})

    @get("/password/reset/{token:str}", sync_to_thread=True)
    def show_reset(self, token: FromPath[str], db: DatabaseDep) -> Template:
        with db.session() as session:
            valid = accounts.valid_reset(session, token, now()) is not None
        return Template("auth/reset.html", context={"valid": valid}, status_code=200 if valid else 404)

    @post("/password/reset/{token:str}")
    async def reset(self, token: FromPath[str], request: Request, db: DatabaseDep) -> Template | Redirect:
        form = await request.form()
        password, repeated = str(form.get("password") or ""), str(form.get("repeat") or "")

        def change():
            with db.session() as session:
                return accounts.complete_password_reset(session, token, password, now())

        if password != repeated:
            return Template(
                "auth/reset.html",
                context={"valid": True, "error": "The two passwords differ."},
                status_code=400,
            )
        try:
            await sync_to_thread(change)
        except accounts.AccountError as error:
            return Template("auth/reset.html", context={"valid": True, "error": str(error)}, status_code=400)
        return Redirect("/login?reset=1", status_code=HTTP_303_SEE_OTHER)


def _end(db: Database, token: str | None) -> None:
    with db.session() as session:
        accounts.end_session(session, token)


def _session_cookie(settings: Settings, value: str, max_age: int | None = None) -> Cookie:
    return Cookie(
        key=session_cookie_name(settings),
        value=value,
        path="/",
        httponly=True,
        secure=settings.cookie_secure,
        samesite="lax",
        max_age=max_age,
    )
