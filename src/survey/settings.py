"""One settings object, read from SURVEY_* environment variables."""

from __future__ import annotations

import base64
import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from survey.errors import Refused

MIN_GROUP_SIZE_FLOOR = 3
MAX_COMPANY_NAME = 100
MAX_LOGO_BYTES = 512 * 1024


class SettingsError(Refused):
    """A setting has a value the product cannot run with; the message names the variable."""


def resource_dir(name: str) -> Path:
    """Where `templates/` or `reports/` live: inside an installed wheel, or at the top of a source checkout."""
    packaged = Path(__file__).parent / "_resources" / name
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / name


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name}: expected true or false, got {raw!r}")


def _int(name: str, raw: str, minimum: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}: expected a whole number, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name}: must be at least {minimum}, got {value}")
    return value


@dataclass(frozen=True)
class Settings:
    """Everything configurable. Defaults are production defaults, except the embedded SQLite database."""

    database_url: str = "sqlite:///survey.db"
    # Signs CSRF tokens. Required by `survey serve`; the demo and the tests make their own.
    secret_key: str = ""
    # Where employees and customers reach the server; links in invitations start with it.
    base_url: str = "http://127.0.0.1:8000"
    # Cookies are sent over HTTPS only. Turn off only for plain-HTTP local use (the demo does).
    cookie_secure: bool = True
    # Host names the server answers to; by default the host of base_url.
    allowed_hosts: tuple[str, ...] = ()
    # Minimum number of distinct respondents behind any number shown (never below 3).
    min_group_size: int = 5
    # Minimum number of comments before any are shown (pooled across teams if needed).
    min_comment_group_size: int = 10
    # Customer survey requests (pages shown and forms sent) a client address may make per minute, counted in the
    # database, so every server process shares one count.
    customer_rate_limit: int = 30
    # Proxies (addresses or CIDR ranges) whose X-Forwarded-For header is believed. Empty: none, and the client is
    # the address that connected. Behind a proxy, name it, or every customer shares the proxy's one limit.
    trusted_proxies: tuple[str, ...] = ()
    # Customer answers a team may receive in a round within one hour before the rest are held for HR to review
    # (they are stored, but count in no result until HR keeps them).
    customer_team_hourly_cap: int = 60
    # Outgoing mail: smtp://user:password@host:587 (STARTTLS), smtps://...:465 (TLS), or smtp+plain://host:25
    # (no encryption, for a relay on the same machine). Empty: mail is kept in the outbox for HR to read.
    smtp_url: str = ""
    mail_from: str = "survey@localhost"
    # The server opens, reminds and closes scheduled rounds and sends mail by itself. `survey tick` does one pass.
    scheduler: bool = True
    # Signed-in sessions end after this long without a request, and after session_max_hours in any case.
    session_idle_minutes: int = 60
    session_max_hours: int = 12
    # A folder where rendered PDF reports are kept and served again while their data is unchanged. Empty: every
    # download renders its report afresh (a second or two).
    reports_dir: str = ""
    # The company's name and logo (a PNG or SVG file, at most 512 KiB), shown on the customer survey's pages and on
    # the teams' posters. Empty: neither is shown.
    company_name: str = ""
    company_logo: str = ""
    # The language of invitations, reminders and the employee survey for an employee whose roster row names none
    # (one with a catalog in src/survey/locale: en, de).
    default_language: str = "en"
    # Sign-in with the company's identity provider (OpenID Connect). Empty issuer: passwords only. The issuer is
    # the URL whose /.well-known/openid-configuration describes the provider; the client id and secret are the
    # ones registered there for this server, whose redirect URI is base_url + /login/provider/callback.
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    # The scopes asked for; "openid" is needed, and most providers need "email" to send the e-mail address.
    oidc_scopes: str = "openid email profile"
    # The button's words: "Sign in with <oidc_name>".
    oidc_name: str = "your company account"
    # The ID token (or user info) claim holding the person's e-mail address, matched to an account.
    oidc_email_claim: str = "email"
    # A claim listing the person's groups, and which groups make an HR or executive account (group=role pairs).
    # Empty claim: roles stay as HR set them.
    oidc_groups_claim: str = ""
    oidc_group_roles: tuple[tuple[str, str], ...] = ()
    # Off: nobody signs in with a password except the break-glass HR account (its e-mail), for when the
    # identity provider is down. Turning it off needs an identity provider.
    password_login: bool = True
    break_glass_email: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings the SURVEY_* variables give, the defaults for the others. Raises SettingsError naming
        the variable whose value cannot be used."""
        env = os.environ if environ is None else environ
        values = {field: read(name, env[name]) for name, (field, read) in _VARIABLES.items() if name in env}
        return cls(**values).validated()

    def validated(self) -> Settings:
        parts = urlsplit(self.base_url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise SettingsError(f"SURVEY_BASE_URL: expected an http(s) URL, got {self.base_url!r}")
        if self.min_group_size < MIN_GROUP_SIZE_FLOOR:
            raise SettingsError(f"SURVEY_MIN_GROUP_SIZE: must be at least {MIN_GROUP_SIZE_FLOOR}")
        if self.smtp_url and urlsplit(self.smtp_url).scheme not in {"smtp", "smtps", "smtp+plain"}:
            raise SettingsError(
                "SURVEY_SMTP_URL: expected smtp://host:587 (STARTTLS), smtps://host:465 (TLS) or "
                f"smtp+plain://host:25, got scheme {urlsplit(self.smtp_url).scheme!r}"
            )
        if "@" not in self.mail_from:
            raise SettingsError(f"SURVEY_MAIL_FROM: expected an e-mail address, got {self.mail_from!r}")
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise SettingsError(
                    f"SURVEY_TRUSTED_PROXIES: expected addresses or CIDR ranges separated by commas, got {proxy!r}"
                ) from None
        if not self.database_url.startswith(("sqlite:", "postgresql")):
            raise SettingsError(
                f"SURVEY_DATABASE_URL: expected sqlite:///FILE or postgresql://..., got {self.database_url!r}"
            )
        if len(self.company_name) > MAX_COMPANY_NAME:
            raise SettingsError(f"SURVEY_COMPANY_NAME: at most {MAX_COMPANY_NAME} characters")
        if self.company_logo:
            _ = self.company_logo_uri  # read and checked once, at start
        _check_language(self.default_language)
        self._check_sign_in()
        return self

    def _check_sign_in(self) -> None:
        if self.oidc_issuer:
            issuer = urlsplit(self.oidc_issuer)
            loopback = issuer.hostname in {"127.0.0.1", "localhost", "::1"}
            if issuer.scheme != "https" and not (issuer.scheme == "http" and loopback):
                raise SettingsError(
                    f"SURVEY_OIDC_ISSUER: expected an https:// URL (http only on loopback), got {self.oidc_issuer!r}"
                )
            if not self.oidc_client_id:
                raise SettingsError("SURVEY_OIDC_CLIENT_ID: needed with SURVEY_OIDC_ISSUER")
            if "openid" not in self.oidc_scopes.split():
                raise SettingsError(f"SURVEY_OIDC_SCOPES: must include openid, got {self.oidc_scopes!r}")
            if not self.oidc_email_claim:
                raise SettingsError("SURVEY_OIDC_EMAIL_CLAIM: must name a claim")
        if self.oidc_group_roles and not self.oidc_groups_claim:
            raise SettingsError(
                "SURVEY_OIDC_GROUP_ROLES: needs SURVEY_OIDC_GROUPS_CLAIM, the claim listing groups"
            )
        if not self.password_login and not self.oidc_issuer:
            raise SettingsError(
                "SURVEY_PASSWORD_LOGIN: can be off only with an identity provider (SURVEY_OIDC_ISSUER)"
            )
        if self.break_glass_email and "@" not in self.break_glass_email:
            raise SettingsError(
                f"SURVEY_BREAK_GLASS_EMAIL: expected an e-mail address, got {self.break_glass_email!r}"
            )

    def may_use_password(self, email: str) -> bool:
        """Whether this account may sign in with a password (always, unless password login is off; then only
        the break-glass account)."""
        return self.password_login or (bool(self.break_glass_email) and email == self.break_glass_email)

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes).validated()

    @property
    def hosts(self) -> list[str]:
        """Allowed Host header values: the configured ones, else the base URL's host, with and without port."""
        if self.allowed_hosts:
            return list(self.allowed_hosts)
        parts = urlsplit(self.base_url)
        return list(dict.fromkeys([parts.hostname or "", parts.netloc]))

    @cached_property
    def company_logo_uri(self) -> str:
        """The logo as a data URI for an <img> (pages and posters need no route to it); empty without a logo.
        Raises SettingsError naming SURVEY_COMPANY_LOGO when the file is missing, too big or not a PNG or SVG."""
        return logo_data_uri(self.company_logo) if self.company_logo else ""

    @cached_property
    def trusted_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in self.trusted_proxies)


def _check_language(language: str) -> None:
    if language == "en":
        return
    from survey.languages import supported_languages  # Babel is imported only when needed

    if language not in supported_languages():
        raise SettingsError(
            f"SURVEY_DEFAULT_LANGUAGE: {language!r} is not a language with a catalog "
            f"(one of {', '.join(supported_languages())})"
        )


def logo_data_uri(path: str) -> str:
    """A PNG or SVG file as a data URI, checked by its content as well as its name."""
    name = "SURVEY_COMPANY_LOGO"
    file = Path(path)
    kind = {".png": "image/png", ".svg": "image/svg+xml"}.get(file.suffix.lower())
    if kind is None:
        raise SettingsError(f"{name}: expected a .png or .svg file, got {path!r}")
    try:
        if file.stat().st_size > MAX_LOGO_BYTES:
            raise SettingsError(f"{name}: {path!r} is over {MAX_LOGO_BYTES // 1024} KiB")
        content = file.read_bytes()
    except OSError as error:
        raise SettingsError(f"{name}: cannot read {path!r}: {error.strerror or error}") from None
    looks_right = (
        content.startswith(b"\x89PNG\r\n\x1a\n") if kind == "image/png" else b"<svg" in content[:4096]
    )
    if not looks_right:
        raise SettingsError(f"{name}: {path!r} is not a {file.suffix.lower()[1:].upper()} image")
    return f"data:{kind};base64,{base64.b64encode(content).decode()}"


def _text(_: str, raw: str) -> str:
    return raw.strip()


def _hosts(_: str, raw: str) -> tuple[str, ...]:
    return tuple(host.strip() for host in raw.split(",") if host.strip())


def _group_roles(name: str, raw: str) -> tuple[tuple[str, str], ...]:
    """`survey-hr=hr, leadership=executive`: which group makes which role (HR or executive)."""
    pairs = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        group, equals, role = item.rpartition("=")
        role = role.strip().lower()
        if not equals or not group.strip() or role not in {"hr", "executive"}:
            raise SettingsError(
                f"{name}: expected group=hr or group=executive pairs separated by commas, got {item!r}"
            )
        pairs.append((group.strip(), role))
    return tuple(pairs)


def _at_least(minimum: int) -> Callable[[str, str], int]:
    return lambda name, raw: _int(name, raw, minimum)


# Each variable, the setting it fills and how its text is read (a reader names the variable when it refuses).
_VARIABLES: dict[str, tuple[str, Callable[[str, str], Any]]] = {
    "SURVEY_DATABASE_URL": ("database_url", lambda _, raw: raw),
    "SURVEY_SECRET_KEY": ("secret_key", lambda _, raw: raw),
    "SURVEY_BASE_URL": ("base_url", lambda _, raw: raw.rstrip("/")),
    "SURVEY_COOKIE_SECURE": ("cookie_secure", _bool),
    "SURVEY_ALLOWED_HOSTS": ("allowed_hosts", _hosts),
    "SURVEY_MIN_GROUP_SIZE": ("min_group_size", _at_least(MIN_GROUP_SIZE_FLOOR)),
    "SURVEY_MIN_COMMENT_GROUP_SIZE": ("min_comment_group_size", _at_least(MIN_GROUP_SIZE_FLOOR)),
    "SURVEY_CUSTOMER_RATE_LIMIT": ("customer_rate_limit", _at_least(1)),
    "SURVEY_TRUSTED_PROXIES": ("trusted_proxies", _hosts),
    "SURVEY_CUSTOMER_TEAM_HOURLY_CAP": ("customer_team_hourly_cap", _at_least(1)),
    "SURVEY_SMTP_URL": ("smtp_url", _text),
    "SURVEY_MAIL_FROM": ("mail_from", _text),
    "SURVEY_SCHEDULER": ("scheduler", _bool),
    "SURVEY_SESSION_IDLE_MINUTES": ("session_idle_minutes", _at_least(1)),
    "SURVEY_SESSION_MAX_HOURS": ("session_max_hours", _at_least(1)),
    "SURVEY_REPORTS_DIR": ("reports_dir", _text),
    "SURVEY_COMPANY_NAME": ("company_name", _text),
    "SURVEY_COMPANY_LOGO": ("company_logo", _text),
    "SURVEY_DEFAULT_LANGUAGE": ("default_language", lambda _, raw: raw.strip().lower()),
    "SURVEY_OIDC_ISSUER": ("oidc_issuer", _text),
    "SURVEY_OIDC_CLIENT_ID": ("oidc_client_id", _text),
    "SURVEY_OIDC_CLIENT_SECRET": ("oidc_client_secret", _text),
    "SURVEY_OIDC_SCOPES": ("oidc_scopes", lambda _, raw: " ".join(raw.split())),
    "SURVEY_OIDC_NAME": ("oidc_name", _text),
    "SURVEY_OIDC_EMAIL_CLAIM": ("oidc_email_claim", _text),
    "SURVEY_OIDC_GROUPS_CLAIM": ("oidc_groups_claim", _text),
    "SURVEY_OIDC_GROUP_ROLES": ("oidc_group_roles", _group_roles),
    "SURVEY_PASSWORD_LOGIN": ("password_login", _bool),
    "SURVEY_BREAK_GLASS_EMAIL": ("break_glass_email", lambda _, raw: raw.strip().lower()),
}
