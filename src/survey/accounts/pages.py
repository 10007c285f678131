"""The accounts' pages: log in, log out, reset a forgotten password; and HR's pages for accounts (create, scope,
deactivate, send a password link) and API tokens (create, shown once; revoke)."""

from __future__ import annotations

import logging
import math

from litestar import Controller, Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.datastructures import Cookie
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER
from sqlmodel import Session, select

from survey.accounts import api_tokens, provider, sign_in, users
from survey.db.engine import Database
from survey.db.models import ApiToken, Role, Unit, User, UserUnit
from survey.mail.outbox import revealed_links
from survey.settings import Settings
from survey.web.auth import now, session_cookie_name, signed_in_user
from survey.web.clients import client_address
from survey.web.deps import DatabaseDep, IdentityProviderDep, ObjectId, SettingsDep
from survey.web.forms import clean_text, text_field
from survey.web.responses import get_or_404, see_other

log = logging.getLogger(__name__)

# --- Pages: log in, log out, reset a password -----------------------------------------------------------------


def home_for(user: User) -> str:
    return "/admin" if user.role == Role.HR else "/my"


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: never `//other.site` or `https://...` (an open redirect)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")) and len(target) < 500:
        return target
    return None


def how_long(seconds: int) -> str:
    """A wait in words: "30 seconds", "2 minutes"."""
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{math.ceil(seconds / 60)} minutes"


class LoginPages(Controller):
    include_in_schema = False

    @get("/login", sync_to_thread=False)
    def show_login(self, request: Request, settings: SettingsDep) -> Template:
        expired = request.query_params.get("expired") == "1"
        return _login_page(
            settings, next=safe_next(request.query_params.get("next")) or "", expired=expired, email=""
        )

    @get("/login/provider", sync_to_thread=False)
    def leave_for_provider(
        self, request: Request, db: DatabaseDep, settings: SettingsDep, identity_provider: IdentityProviderDep
    ) -> Redirect | Template:
        """Send the browser to the identity provider, with a cookie binding its answer to this browser."""
        if not settings.oidc_issuer:
            raise NotFoundException("sign-in with an identity provider is not set up on this server")
        target = safe_next(request.query_params.get("next"))
        try:
            with db.session() as session:
                departure = provider.begin_sign_in(session, identity_provider, target, now())
        except provider.ProviderSignInFailed as failed:
            return _provider_failed(settings, failed)
        return Redirect(
            departure.url,
            status_code=HTTP_303_SEE_OTHER,
            cookies=[_browser_cookie(settings, departure.browser_secret, provider.ATTEMPT_LIFETIME.seconds)],
        )

    @get(provider.CALLBACK_PATH, sync_to_thread=True)
    def back_from_provider(
        self, request: Request, db: DatabaseDep, settings: SettingsDep, identity_provider: IdentityProviderDep
    ) -> Redirect | Template:
        """The identity provider's answer: signed in and on to the page asked for, or a page saying why not."""
        if not settings.oidc_issuer:
            raise NotFoundException("sign-in with an identity provider is not set up on this server")
        answer = {key: value[:4000] for key, value in request.query_params.items()}
        try:
            with db.session() as session:
                done = provider.finish_sign_in(
                    session,
                    identity_provider,
                    answer,
                    request.cookies.get(_browser_cookie_name(settings)),
                    now(),
                )
                previous = request.cookies.get(session_cookie_name(settings))
                if previous:  # a new session id at every sign-in; the old one ends
                    sign_in.end_session(session, previous)
        except provider.ProviderSignInFailed as failed:
            return _provider_failed(settings, failed)
        log.info("signed in through the identity provider: %s", done.signed_in.user.email)
        return Redirect(
            done.next_path or home_for(done.signed_in.user),
            status_code=HTTP_303_SEE_OTHER,
            cookies=[
                _session_cookie(settings, done.signed_in.session_token),
                _browser_cookie(settings, "", max_age=0),
            ],
        )

    @post("/login")
    async def log_in(self, request: Request, db: DatabaseDep, settings: SettingsDep) -> Template | Redirect:
        form = await request.form()
        email, password = text_field(form, "email")[:320], str(form.get("password") or "")
        target = safe_next(text_field(form, "next"))

        def attempt():
            with db.session() as session:
                return sign_in.authenticate(
                    session,
                    email,
                    password,
                    client_address(request, settings.trusted_networks),
                    settings,
                    now(),
                )

        try:
            signed_in = await sync_to_thread(attempt)
        except sign_in.LoginThrottled as throttled:
            return _login_page(
                settings,
                status=429,
                headers={"retry-after": str(throttled.retry_after)},
                next=target or "",
                email=email,
                error=f"Too many failed attempts from your connection. Try again in"
                f" {how_long(throttled.retry_after)}, or reset your password.",
            )
        if signed_in is None:
            return _login_page(
                settings,
                status=400,
                next=target or "",
                email=email,
                error="Wrong e-mail address or password.",
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
    async def log_out(
        self, request: Request, db: DatabaseDep, settings: SettingsDep, identity_provider: IdentityProviderDep
    ) -> Redirect:
        """End the session here, then at the identity provider too when the session began there and the
        provider offers it (it sends the browser back to the login page)."""
        id_token = await sync_to_thread(_end, db, request.cookies.get(session_cookie_name(settings)))
        target = "/login"
        if id_token is not None and settings.oidc_issuer:
            at_provider = await sync_to_thread(
                identity_provider.end_session_url, id_token, settings.base_url + "/login"
            )
            target = at_provider or target
        return Redirect(
            target,
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
                sign_in.request_password_reset(
                    session, email, client_address(request, settings.trusted_networks), settings, now()
                )

        try:
            await sync_to_thread(queue)
        except sign_in.LoginThrottled as throttled:
            return Template(
                "auth/forgot.html",
                context={
                    "email": email,
                    "error": "Too many requests from your connection. Try again in"
                    f" {how_long(throttled.retry_after)}.",
                },
                status_code=429,
                headers={"retry-after": str(throttled.retry_after)},
            )
        # The same answer whether or not the account exists.
        return Template("auth/forgot.html", context={"email": email, "sent": True})

    @get("/password/reset/{token:str}", sync_to_thread=True)
    def show_reset(self, token: FromPath[str], db: DatabaseDep) -> Template:
        with db.session() as session:
            valid = sign_in.valid_reset(session, token, now()) is not None
        return Template("auth/reset.html", context={"valid": valid}, status_code=200 if valid else 404)

    @post("/password/reset/{token:str}")
    async def reset(self, token: FromPath[str], request: Request, db: DatabaseDep) -> Template | Redirect:
        form = await request.form()
        password, repeated = str(form.get("password") or ""), str(form.get("repeat") or "")

        def change():
            with db.session() as session:
                return sign_in.complete_password_reset(session, token, password, now())

        if password != repeated:
            return Template(
                "auth/reset.html",
                context={"valid": True, "error": "The two passwords differ."},
                status_code=400,
            )
        try:
            await sync_to_thread(change)
        except users.AccountError as error:
            return Template("auth/reset.html", context={"valid": True, "error": str(error)}, status_code=400)
        return Redirect("/login?reset=1", status_code=HTTP_303_SEE_OTHER)


def _end(db: Database, token: str | None) -> str | None:
    with db.session() as session:
        return sign_in.end_session(session, token)


def _login_page(
    settings: Settings, status: int = 200, headers: dict[str, str] | None = None, **context: object
) -> Template:
    """The login page: the identity provider's button when one is set up, and the password form (with password
    login off, folded away for the break-glass HR account)."""
    return Template(
        "auth/login.html",
        context={
            **context,
            "provider_name": settings.oidc_name if settings.oidc_issuer else "",
            "password_login": settings.password_login,
            "break_glass": not settings.password_login and bool(settings.break_glass_email),
        },
        status_code=status,
        headers=headers,
    )


def _provider_failed(settings: Settings, failed: provider.ProviderSignInFailed) -> Template:
    log.warning("sign-in through the identity provider failed: %s", failed.reason)
    return Template(
        "auth/provider_failed.html",
        context={"message": failed.message},
        status_code=failed.status,
        cookies=[_browser_cookie(settings, "", max_age=0)],
    )


def _browser_cookie_name(settings: Settings) -> str:
    return "__Host-survey_sign_in" if settings.cookie_secure else "survey_sign_in"


def _browser_cookie(settings: Settings, value: str, max_age: int) -> Cookie:
    """Binds the identity provider's answer to the browser that left for it. Lax, so the provider's redirect
    back (a top-level navigation) carries it."""
    return _cookie(_browser_cookie_name(settings), settings, value, max_age)


def _session_cookie(settings: Settings, value: str, max_age: int | None = None) -> Cookie:
    return _cookie(session_cookie_name(settings), settings, value, max_age)


def _cookie(key: str, settings: Settings, value: str, max_age: int | None) -> Cookie:
    """A sign-in cookie: HttpOnly, Secure behind HTTPS, sent on top-level navigations from elsewhere (Lax)."""
    return Cookie(
        key=key,
        value=value,
        path="/",
        httponly=True,
        secure=settings.cookie_secure,
        samesite="lax",
        max_age=max_age,
    )


# --- Accounts ---------------------------------------------------------------------------------------------------


def _users_context(session: Session) -> dict:
    users = session.exec(select(User).order_by(User.active.desc(), User.email)).all()
    scopes: dict[int, list[str]] = {}
    for user_id, code in session.exec(
        select(UserUnit.user_id, Unit.code).join(Unit, Unit.id == UserUnit.unit_id).order_by(Unit.code)
    ):
        scopes.setdefault(user_id, []).append(code)
    shown = revealed_links(session)
    return {"users": users, "scopes": scopes, "roles": list(Role), "form": {}, "links_shown": shown}


@get("/users", sync_to_thread=True)
def users_page(db: DatabaseDep) -> Template:
    with db.session() as session:
        return Template("admin/users.html", context=_users_context(session))


@post("/users")
async def create_user_page(request: Request, db: DatabaseDep, settings: SettingsDep) -> Template | Redirect:
    """A new account; the person gets a mail with a link to set their password."""
    form = await request.form()
    typed = {name: clean_text(form.get(name)) for name in ("email", "name", "role", "units")}
    with db.session() as session:
        try:
            if typed["role"] not in set(Role):
                raise users.AccountError("choose a role")
            user = users.create_user(
                session,
                typed["email"],
                typed["name"],
                Role(typed["role"]),
                typed["units"].replace(",", " ").split(),
            )
            sign_in.start_password_reset(session, user.email, settings, now(), signed_in_user(request))
        except users.AccountError as error:
            context = _users_context(session)
            return Template(
                "admin/users.html", context={**context, "form": typed, "error": str(error)}, status_code=400
            )
    return see_other("/admin/users?created=1")


@post("/users/{user_id:int}/units")
async def change_head_units(user_id: ObjectId, request: Request, db: DatabaseDep) -> Redirect | Template:
    """Which units a department head sees."""
    codes = clean_text((await request.form()).get("units")).replace(",", " ").split()
    with db.session() as session:
        user = get_or_404(session, User, user_id)
        try:
            users.set_head_units(session, user, codes)
        except users.AccountError as error:
            return Template(
                "admin/users.html", context={**_users_context(session), "error": str(error)}, status_code=400
            )
    return see_other("/admin/users")


@post("/users/{user_id:int}/{step:str}", sync_to_thread=True)
def change_user(
    user_id: ObjectId, step: FromPath[str], request: Request, db: DatabaseDep, settings: SettingsDep
) -> Redirect | Template:
    """Deactivate or reactivate an account, or send it a new link to set its password."""
    with db.session() as session:
        user = get_or_404(session, User, user_id)
        if step == "deactivate":
            if user.id == signed_in_user(request).id:
                context = _users_context(session)
                return Template(
                    "admin/users.html",
                    context={**context, "error": "You cannot deactivate your own account."},
                    status_code=409,
                )
            users.deactivate_user(session, user)
        elif step == "reactivate":
            user.active = True
            session.add(user)
            session.commit()
        elif step == "reset":
            sign_in.start_password_reset(session, user.email, settings, now(), signed_in_user(request))
        else:
            raise NotFoundException()
    return see_other("/admin/users")


# --- API tokens ---------------------------------------------------------------------------------------------------


def _tokens_context(session: Session) -> dict:
    tokens = session.exec(
        select(ApiToken).order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc())
    ).all()
    return {"tokens": tokens, "scopes": api_tokens.API_SCOPES}


@get("/tokens", sync_to_thread=True)
def tokens_page(db: DatabaseDep) -> Template:
    with db.session() as session:
        return Template("admin/tokens.html", context=_tokens_context(session))


@post("/tokens")
async def create_token_page(request: Request, db: DatabaseDep) -> Template:
    form = await request.form()
    name = clean_text(form.get("name"))
    scopes = [s for s in form.getall("scope", []) if isinstance(s, str)] if hasattr(form, "getall") else []
    with db.session() as session:
        try:
            row, token = api_tokens.create_api_token(session, name, scopes, signed_in_user(request), now())
        except users.AccountError as error:
            return Template(
                "admin/tokens.html",
                context={**_tokens_context(session), "error": str(error), "name": name},
                status_code=400,
            )
        return Template("admin/tokens.html", context={**_tokens_context(session), "created": (row, token)})


@post("/tokens/{token_id:int}/revoke", sync_to_thread=True)
def revoke_token(token_id: ObjectId, db: DatabaseDep) -> Redirect:
    with db.session() as session:
        try:
            api_tokens.revoke_api_token(session, token_id, now())
        except users.AccountError:
            raise NotFoundException() from None
    return see_other("/admin/tokens")


HR_PAGES = [
    users_page,
    create_user_page,
    change_head_units,
    change_user,
    tokens_page,
    create_token_page,
    revoke_token,
]
