"""Who is asking, on every route that is not public: a signed-in person (session cookie) on pages, an API token
on `/api`. Everything is closed unless listed in PUBLIC_PATHS; roles and per-object rights are checked by guards
and by the handlers that load objects.
"""

from __future__ import annotations

from dataclasses import dataclass

from litestar.concurrency import sync_to_thread
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware.authentication import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import ASGIApp

from survey.accounts import api_tokens, sign_in
from survey.db.engine import Database
from survey.db.models import Role, User
from survey.db.models import utc_now as now
from survey.settings import Settings

# Routes anyone may reach: survey takers, customers, the login pages (and the identity provider's way back), static
# files, liveness, the API's schema.
PUBLIC_PATHS = [
    "^/health$",
    "^/i/",
    "^/survey",
    "^/c/",
    "^/static/",
    "^/login(/provider(/callback)?)?$",
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
            return sign_in.user_for_session(session, token, self.settings, now())

    def _api_client(self, authorization: str) -> ApiClient | None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token or len(token) > 100:
            return None
        with self.db.session() as session:
            found = api_tokens.api_token_for(session, token.strip(), now())
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
