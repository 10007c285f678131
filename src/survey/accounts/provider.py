"""Signing in with the company's identity provider (OpenID Connect), through Authlib.

The authorization code flow with PKCE: `begin_sign_in` keeps what the provider's answer must match (the state, the
nonce, the PKCE verifier, and a cookie that binds the answer to the browser that asked) and sends the browser to
the provider; `finish_sign_in` takes the answer once, exchanges the code for tokens, checks the ID token (its
signature against the provider's published keys, issuer, audience, expiry, nonce) and signs in the account with
that e-mail address. Accounts stay the roster's and HR's decision: an address without an account is refused (a
head named in the roster has one from the import), and so is a disabled account. With a groups claim configured,
the role follows the person's groups at each sign-in, and the log says so.

Every way it can fail raises ProviderSignInFailed with words for the person and a reason for the log; nobody is
signed in then.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import ExpiredTokenError, InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry
from sqlalchemy import delete
from sqlmodel import Session, select

from survey.accounts.sign_in import SignedIn, start_session
from survey.accounts.users import normalise_email
from survey.db.models import ProviderSignIn, Role, User, UserUnit
from survey.errors import Refused
from survey.settings import Settings
from survey.tokens import new_token, token_hash

log = logging.getLogger(__name__)

ATTEMPT_LIFETIME = timedelta(minutes=10)  # from leaving for the provider to coming back
CLOCK_LEEWAY_SECONDS = 60  # clocks of this server and the provider may differ this much
METADATA_LIFETIME_SECONDS = 3600  # the discovery document and keys are fetched again after this long
HTTP_TIMEOUT_SECONDS = 10
CALLBACK_PATH = "/login/provider/callback"
_ROLE_RANK = {Role.HR: 2, Role.EXECUTIVE: 1}


class ProviderSignInFailed(Refused):
    """A sign-in through the identity provider that ended with nobody signed in. `message` tells the person what
    happened and what to do; `reason` is for the log; `status` is the page's HTTP status."""

    def __init__(self, message: str, reason: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.status = status


# --- Pure rules ---------------------------------------------------------------------------------------------


def role_from_groups(groups: Iterable[str], group_roles: Iterable[tuple[str, str]]) -> Role | None:
    """The role a person's groups give (HR above executive), or None when no group maps to a role."""
    mapping: dict[str, list[Role]] = {}
    for group, role in group_roles:
        mapping.setdefault(group, []).append(Role(role))
    found = [role for group in groups for role in mapping.get(group, ())]
    return max(found, key=_ROLE_RANK.__getitem__) if found else None


def groups_in(claims: Mapping[str, Any], claim: str) -> list[str]:
    """The groups a claim lists: a list of names, or one name (some providers send a single string)."""
    value = claims.get(claim)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(item) for item in value]
    return []


def id_token_problem(error: JoseError) -> tuple[str, str]:
    """Words for the person, and the log's reason, for an ID token that failed a check."""
    claim = getattr(error, "claim", "") or ""
    if isinstance(error, ExpiredTokenError) or claim in {"iat", "nbf"}:
        return (
            "The identity provider's answer is not valid at this server's time: the clocks of this server and "
            "of the identity provider differ by more than a minute. Tell your administrator to check both clocks.",
            f"ID token {claim or 'exp'} outside the allowed clock skew ({error.description or error.error})",
        )
    if claim == "nonce":
        return (
            "The identity provider's answer belongs to another sign-in (it was tampered with or replayed). "
            "Nobody was signed in; please start again.",
            "ID token nonce does not match this sign-in's",
        )
    return (
        "The identity provider's answer did not pass this server's checks, so nobody was signed in. Please "
        "start again; if it happens again, tell your administrator.",
        f"ID token refused: {error.error} {claim} {error.description or ''}".strip(),
    )


# --- The provider, as seen from here ------------------------------------------------------------------------


@dataclass(frozen=True)
class Discovered:
    """What the provider's discovery document says, and its signing keys."""

    metadata: dict[str, Any]
    keys: dict[str, Any]
    fetched_at: float


class IdentityProvider:
    """The identity provider of the settings: its discovery document and keys fetched when first needed, again
    after an hour, and again when a token is signed by a key not seen yet (the provider rotated its keys).
    One per server process, shared by every request."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._clock = clock
        self._lock = threading.Lock()
        self._discovered: Discovered | None = None

    @property
    def redirect_uri(self) -> str:
        return self.settings.base_url + CALLBACK_PATH

    def _client(self) -> OAuth2Session:
        client = OAuth2Session(
            self.settings.oidc_client_id,
            self.settings.oidc_client_secret,
            scope=self.settings.oidc_scopes,
            redirect_uri=self.redirect_uri,
            code_challenge_method="S256",
        )
        client.default_timeout = HTTP_TIMEOUT_SECONDS
        return client

    def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            with self._client() as client:
                response = client.get(url, timeout=HTTP_TIMEOUT_SECONDS, withhold_token=True)
        except requests.RequestException as error:
            raise ProviderSignInFailed(
                "The identity provider cannot be reached right now, so nobody can sign in with it. Please try "
                "again in a few minutes; if it lasts, tell your administrator.",
                f"{what} unreachable at {url}: {type(error).__name__}: {error}",
                status=503,
            ) from None
        if response.status_code != 200:
            raise ProviderSignInFailed(
                "The identity provider is not answering as expected, so nobody can sign in with it. Please try "
                "again later; if it lasts, tell your administrator.",
                f"{what} at {url} answered HTTP {response.status_code}",
                status=502,
            )
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ProviderSignInFailed(
                "The identity provider is not answering as expected, so nobody can sign in with it.",
                f"{what} at {url} is not a JSON object",
                status=502,
            )
        return body

    def discovered(self, refresh_keys: bool = False) -> Discovered:
        """The discovery document and keys, fetched if missing, older than an hour, or `refresh_keys`."""
        with self._lock:
            found = self._discovered
            fresh = found is not None and self._clock() - found.fetched_at < METADATA_LIFETIME_SECONDS
            if found is not None and fresh and not refresh_keys:
                return found
            issuer = self.settings.oidc_issuer.rstrip("/")
            metadata = self._get_json(f"{issuer}/.well-known/openid-configuration", "discovery document")
            if str(metadata.get("issuer", "")).rstrip("/") != issuer:
                raise ProviderSignInFailed(
                    "The identity provider is set up wrongly on this server, so nobody can sign in with it. "
                    "Tell your administrator.",
                    f"discovery document names issuer {metadata.get('issuer')!r}, not SURVEY_OIDC_ISSUER {issuer!r}",
                    status=502,
                )
            missing = [
                k for k in ("authorization_endpoint", "token_endpoint", "jwks_uri") if not metadata.get(k)
            ]
            if missing:
                raise ProviderSignInFailed(
                    "The identity provider is set up wrongly, so nobody can sign in with it.",
                    f"discovery document lacks {', '.join(missing)}",
                    status=502,
                )
            keys = self._get_json(str(metadata["jwks_uri"]), "signing keys")
            self._discovered = Discovered(metadata, keys, self._clock())
            return self._discovered

    def authorization_url(self, state: str, nonce: str, code_verifier: str) -> str:
        endpoint = str(self.discovered().metadata["authorization_endpoint"])
        with self._client() as client:
            url, _ = client.create_authorization_url(
                endpoint, state=state, nonce=nonce, code_verifier=code_verifier
            )
        return str(url)

    def exchange(self, code: str, code_verifier: str) -> dict[str, Any]:
        """The tokens for an authorization code. Raises ProviderSignInFailed naming what went wrong."""
        endpoint = str(self.discovered().metadata["token_endpoint"])
        try:
            with self._client() as client:
                token = client.fetch_token(
                    endpoint, code=code, code_verifier=code_verifier, timeout=HTTP_TIMEOUT_SECONDS
                )
        except requests.RequestException as error:
            raise ProviderSignInFailed(
                "The identity provider stopped answering while you were signing in. Please try again in a few "
                "minutes.",
                f"token endpoint unreachable: {type(error).__name__}: {error}",
                status=503,
            ) from None
        except OAuthError as error:
            raise _token_refused(error.error or "", error.description or "") from None
        except ValueError as error:  # not JSON
            raise ProviderSignInFailed(
                "The identity provider is not answering as expected, so nobody was signed in.",
                f"token endpoint answered something that is not JSON: {error}",
                status=502,
            ) from None
        return dict(token)

    def check_id_token(
        self, id_token: str, nonce: str, access_token: str | None, now: datetime
    ) -> dict[str, Any]:
        """The claims of an ID token whose signature, issuer, audience, times and nonce are right. Raises
        ProviderSignInFailed otherwise."""
        discovered = self.discovered()
        algorithms = discovered.metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        registry = JWSRegistry(algorithms=[a for a in algorithms if a != "none"])
        try:
            try:
                token = jwt.decode(id_token, KeySet.import_key_set(discovered.keys), registry=registry)
            except InvalidKeyIdError:  # signed with a key published since we fetched them
                keys = self.discovered(refresh_keys=True).keys
                token = jwt.decode(id_token, KeySet.import_key_set(keys), registry=registry)
            claims = CodeIDToken(
                token.claims,
                token.header,
                {"iss": {"essential": True, "value": discovered.metadata["issuer"]}},
                {"nonce": nonce, "client_id": self.settings.oidc_client_id, "access_token": access_token},
            )
            claims.validate(now=int(now.timestamp()), leeway=CLOCK_LEEWAY_SECONDS)
        except JoseError as error:
            message, reason = id_token_problem(error)
            raise ProviderSignInFailed(message, reason, status=400) from None
        except ValueError as error:  # not a JWT at all
            raise ProviderSignInFailed(
                "The identity provider's answer did not pass this server's checks, so nobody was signed in.",
                f"ID token unreadable: {error}",
            ) from None
        return dict(claims)

    def userinfo(self, access_token: str) -> dict[str, Any]:
        endpoint = self.discovered().metadata.get("userinfo_endpoint")
        if not endpoint:
            return {}
        try:
            response = requests.get(
                str(endpoint),
                headers={"Authorization": f"Bearer {access_token}"},
                timeout=HTTP_TIMEOUT_SECONDS,
            )
            body = response.json() if response.status_code == 200 else {}
        except (requests.RequestException, ValueError):
            return {}
        return body if isinstance(body, dict) else {}

    def end_session_url(self, id_token: str | None, after: str) -> str | None:
        """Where to send the browser to sign out at the provider too, if it offers it (else None)."""
        try:
            endpoint = self.discovered().metadata.get("end_session_endpoint")
        except ProviderSignInFailed as failed:
            log.warning("signing out at the identity provider skipped: %s", failed.reason)
            return None
        if not endpoint:
            return None
        params = {"client_id": self.settings.oidc_client_id, "post_logout_redirect_uri": after}
        if id_token:
            params["id_token_hint"] = id_token
        request = requests.Request("GET", str(endpoint), params=params).prepare()
        return str(request.url)


def _token_refused(error: str, description: str) -> ProviderSignInFailed:
    if error in {"invalid_client", "unauthorized_client"}:
        return ProviderSignInFailed(
            "The identity provider does not accept this server's credentials (most likely the client secret is "
            "wrong or has expired), so nobody can sign in with it. Tell your administrator.",
            f"token endpoint refused the client: {error}: {description}",
            status=502,
        )
    if error == "invalid_grant":
        return ProviderSignInFailed(
            "The identity provider's answer was already used or has expired, so nobody was signed in. Please "
            "start again.",
            f"token endpoint refused the code: {error}: {description}",
        )
    return ProviderSignInFailed(
        "The identity provider refused to finish the sign-in. Please start again; if it happens again, tell your "
        "administrator.",
        f"token endpoint refused: {error}: {description}",
        status=502,
    )


# --- Signing in ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Departure:
    """Where to send the browser, and the secret for the cookie that binds the answer to it."""

    url: str
    browser_secret: str


def begin_sign_in(
    session: Session, provider: IdentityProvider, next_path: str | None, now: datetime
) -> Departure:
    """Remember a new sign-in and return the provider's URL for it. Raises ProviderSignInFailed when the
    provider cannot be reached."""
    state, nonce, verifier, browser = new_token(), new_token(), generate_token(64), new_token()
    url = provider.authorization_url(state, nonce, verifier)
    session.exec(delete(ProviderSignIn).where(ProviderSignIn.created_at < now - ATTEMPT_LIFETIME))
    session.add(
        ProviderSignIn(
            state_hash=token_hash(state),
            browser_hash=token_hash(browser),
            nonce=nonce,
            code_verifier=verifier,
            next_path=next_path,
            created_at=now,
        )
    )
    session.commit()
    return Departure(url, browser)


@dataclass(frozen=True)
class ProviderSignedIn:
    signed_in: SignedIn
    next_path: str | None


def finish_sign_in(
    session: Session,
    provider: IdentityProvider,
    answer: Mapping[str, str],
    browser_secret: str | None,
    now: datetime,
) -> ProviderSignedIn:
    """Check the provider's answer (the callback's query) and sign the account in. Raises ProviderSignInFailed
    for anything wrong; the sign-in it belonged to is used up either way."""
    attempt = _claim_attempt(session, answer.get("state", ""), browser_secret, now)
    settings = provider.settings
    issuer = answer.get("iss")
    if issuer is not None and issuer.rstrip("/") != settings.oidc_issuer.rstrip("/"):
        raise ProviderSignInFailed(
            "The answer came from another identity provider than this server's, so nobody was signed in.",
            f"answer names issuer {issuer!r}",
        )
    if "error" in answer:
        raise _provider_said_no(answer.get("error", ""), answer.get("error_description", ""))
    code = answer.get("code", "")
    if not code or len(code) > 2000:
        raise ProviderSignInFailed(
            "The identity provider's answer has no sign-in code, so nobody was signed in. Please start again.",
            "answer without a code",
        )
    tokens = provider.exchange(code, attempt.code_verifier)
    id_token = tokens.get("id_token")
    if not isinstance(id_token, str):
        raise ProviderSignInFailed(
            "The identity provider sent no ID token, so nobody was signed in. Tell your administrator.",
            "token response without an id_token (is the openid scope allowed for this client?)",
            status=502,
        )
    claims = provider.check_id_token(id_token, attempt.nonce, tokens.get("access_token"), now)
    claims = _with_userinfo(provider, claims, tokens.get("access_token"))
    user = _account_for(session, settings, claims)
    return ProviderSignedIn(start_session(session, user, settings, now, id_token), attempt.next_path)


def _claim_attempt(session: Session, state: str, browser_secret: str | None, now: datetime) -> ProviderSignIn:
    """The sign-in this answer belongs to, deleted so no second answer can use it."""
    replayed = ProviderSignInFailed(
        "This sign-in answer is not one this browser is waiting for: it was used already, has expired, or was "
        "changed on the way. Nobody was signed in; please start again.",
        "",
    )
    if not state or len(state) > 200:
        replayed.reason = "answer without a state"
        raise replayed
    attempt = session.get(ProviderSignIn, token_hash(state))
    if attempt is None:
        replayed.reason = "unknown state (replayed, expired or tampered with)"
        raise replayed
    claimed = session.exec(delete(ProviderSignIn).where(ProviderSignIn.state_hash == attempt.state_hash))
    session.commit()
    if claimed.rowcount != 1:  # another request took it a moment ago
        replayed.reason = "state used twice at once"
        raise replayed
    if not browser_secret or not hmac.compare_digest(token_hash(browser_secret), attempt.browser_hash):
        replayed.reason = "state of a sign-in begun in another browser"
        raise replayed
    if now - attempt.created_at > ATTEMPT_LIFETIME:
        replayed.reason = "state older than the sign-in lifetime"
        raise replayed
    return attempt


def _provider_said_no(error: str, description: str) -> ProviderSignInFailed:
    if error in {"access_denied", "consent_required", "interaction_required", "login_required"}:
        return ProviderSignInFailed(
            "The sign-in was cancelled at the identity provider, or permission to use your account here was not "
            "given. Nobody was signed in. Start again to sign in.",
            f"provider answered {error}: {description[:200]}",
            status=403,
        )
    return ProviderSignInFailed(
        "The identity provider refused the sign-in. Please start again; if it happens again, tell your "
        "administrator.",
        f"provider answered {error[:100]}: {description[:200]}",
        status=502,
    )


def _with_userinfo(provider: IdentityProvider, claims: dict[str, Any], access_token: Any) -> dict[str, Any]:
    """The ID token's claims, completed from the user info endpoint when it lacks the e-mail or groups (some
    providers put them there only). The ID token's own claims win; user info of another subject is ignored."""
    settings = provider.settings
    wanted = [settings.oidc_email_claim] + (
        [settings.oidc_groups_claim] if settings.oidc_groups_claim else []
    )
    if all(claim in claims for claim in wanted) or not isinstance(access_token, str):
        return claims
    extra = provider.userinfo(access_token)
    if extra.get("sub") != claims.get("sub"):
        return claims
    return {**extra, **claims}


def _account_for(session: Session, settings: Settings, claims: Mapping[str, Any]) -> User:
    email_value = claims.get(settings.oidc_email_claim)
    if not isinstance(email_value, str) or "@" not in email_value:
        raise ProviderSignInFailed(
            "The identity provider did not say which e-mail address you have, so you cannot be signed in. Tell "
            "your administrator.",
            f"no e-mail address in claim {settings.oidc_email_claim!r} (subject {claims.get('sub')!r})",
            status=502,
        )
    if claims.get("email_verified") is False and settings.oidc_email_claim == "email":
        raise ProviderSignInFailed(
            "Your e-mail address is not verified at the identity provider, so you cannot be signed in with it.",
            f"{email_value!r} is not verified (email_verified false)",
            status=403,
        )
    email = normalise_email(email_value)[:320]
    user = session.exec(select(User).where(User.email == email)).first()
    if user is None:
        raise ProviderSignInFailed(
            f"There is no account for {email}. Accounts are for HR, department heads and executives: heads get "
            "theirs from the roster HR imports. If you should have one, ask HR. (Employees answer the survey "
            "from their personal link and need no account.)",
            f"refused {email}: no account",
            status=403,
        )
    if not user.active:
        raise ProviderSignInFailed(
            f"The account for {email} is disabled. Ask HR if you should have access.",
            f"refused {email}: account disabled",
            status=403,
        )
    if settings.oidc_groups_claim:
        _apply_groups(session, settings, user, groups_in(claims, settings.oidc_groups_claim))
    return user


def _apply_groups(session: Session, settings: Settings, user: User, groups: list[str]) -> None:
    """The role the groups give; without one, a head keeps their units, and anyone else has no role here."""
    role = role_from_groups(groups, settings.oidc_group_roles)
    if role is None:
        heads_units = session.exec(select(UserUnit).where(UserUnit.user_id == user.id)).first() is not None
        if not heads_units:
            raise ProviderSignInFailed(
                f"Your groups at the identity provider give {user.email} no role here (HR or executive), and you "
                "head no unit in the roster. Ask HR if you should have access.",
                f"refused {user.email}: groups {groups[:20]} map to no role and the account heads no unit",
                status=403,
            )
        role = Role.HEAD
    if role != user.role:
        log.info(
            "sign-in: %s changes role from %s to %s (groups %s)", user.email, user.role, role, groups[:20]
        )
        user.role = role
        session.add(user)
    else:
        log.info("sign-in: %s keeps role %s (groups %s)", user.email, role, groups[:20])
