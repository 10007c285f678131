"""Fixtures: a fresh, migrated database for every test, on SQLite always and on PostgreSQL when
SURVEY_TEST_DATABASE_URL is set; an app and client with production settings; a small organisation."""

from __future__ import annotations

import os
import secrets
import shutil
import time
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from argon2 import PasswordHasher
from litestar.testing import TestClient
from sqlalchemy import create_engine, exc, text
from sqlalchemy.engine import make_url

from survey.accounts import users
from survey.db.engine import Database, normalise_url, upgrade
from survey.db.models import Employee, RoundStatus, Unit
from survey.rounds.lifecycle import advance_round, create_round, issue_invitations, new_public_slug
from survey.settings import Settings
from survey.vocabulary import UnitKind
from survey.web.app import create_app

PG_URL = os.environ.get("SURVEY_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
BASE_URL = "https://testserver.local"
# The secret key of every test app: invitation links are derived from it.
TEST_SECRET = secrets.token_urlsafe(32)
# A round made by hand must still be able to open (its close ahead of now): tests that type dates use next year's.
NEXT_YEAR = datetime.now(UTC).year + 1


def pytest_report_header(config):
    return f"database backends: {', '.join(BACKENDS)}"


# Every test is of one kind, by what it needs: `make test-fast` runs the pure and database ones.
KINDS = ("pure", "db", "web", "browser")
WEB_FIXTURES = {"app", "client", "settings_for_fuzz"}


def pytest_collection_modifyitems(config, items):
    """Mark each test with its kind, unless it says its own: web when it drives the app through HTTP, db when it
    needs a database, pure otherwise."""
    for item in items:
        if any(item.get_closest_marker(kind) for kind in KINDS):
            continue
        fixtures = set(item.fixturenames)
        item.add_marker("web" if fixtures & WEB_FIXTURES else "db" if "database_url" in fixtures else "pure")


@pytest.fixture(scope="session", autouse=True)
def production_hasher():
    """Accounts in tests hash passwords with argon2id at its lowest cost: the same code, a thousandth of the time
    (a test creates several accounts). Yields the production hasher, which test_accounts checks."""
    original = users.PASSWORD_HASHER
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(users, "PASSWORD_HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
        yield original


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "migrated.db"
    upgrade(f"sqlite:///{path}")
    return path


def _patiently(admin, statement: str) -> bool:
    """Run a CREATE or DROP DATABASE. An autovacuum worker (a superuser process our role may not end) can be
    visiting a database for a moment, which blocks both: wait for it to leave."""
    for attempt in range(20):
        try:
            with admin.connect() as connection:
                connection.execute(text(statement))
            return True
        except exc.DBAPIError:
            time.sleep(0.1 * (attempt + 1))
    return False


def drop_database(admin, name: str) -> None:
    if not _patiently(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'):
        warnings.warn(f"could not drop test database {name}", stacklevel=1)  # harmless: names are random


@pytest.fixture(scope="session")
def pg_template():
    """A migrated template database; each test copies it (CREATE DATABASE ... TEMPLATE), which is fast."""
    admin = create_engine(normalise_url(PG_URL), isolation_level="AUTOCOMMIT")
    name = f"survey_template_{os.getpid()}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    upgrade(make_url(normalise_url(PG_URL)).set(database=name).render_as_string(hide_password=False))
    yield admin, name
    drop_database(admin, name)
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    if request.param == "sqlite":
        path = tmp_path / "survey.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    admin, template = request.getfixturevalue("pg_template")
    name = f"survey_test_{secrets.token_hex(6)}"
    assert _patiently(admin, f'CREATE DATABASE "{name}" TEMPLATE "{template}"'), "could not copy the template"
    yield make_url(normalise_url(PG_URL)).set(database=name).render_as_string(hide_password=False)
    drop_database(admin, name)


@pytest.fixture
def settings(database_url) -> Settings:
    return Settings(database_url=database_url, secret_key=TEST_SECRET, base_url=BASE_URL, scheduler=False)


@pytest.fixture
def db(settings):
    database = Database(settings.database_url)
    yield database
    database.dispose()


@pytest.fixture
def app(settings):
    return create_app(settings)


@pytest.fixture
def client(app):
    with TestClient(app, base_url=BASE_URL) as test_client:
        yield test_client


@dataclass
class Org:
    functions: list[int]
    teams: list[int]
    team_slugs: list[str]
    region: int


def make_org(db: Database, functions: int = 2, teams: int = 3, staff: int = 6) -> Org:
    with db.session() as session:
        region = Unit(code="R1", name="North region", kind=UnitKind.GROUP)
        session.add(region)
        session.flush()
        function_units = [
            Unit(code=f"SF{i}", name=n, kind=UnitKind.SUPPORT)
            for i, n in enumerate(["IT Service Desk", "Logistics", "Payroll", "Facilities"][:functions], 1)
        ]
        team_units = [
            Unit(
                code=f"FL{i}",
                name=f"Store {i}",
                kind=UnitKind.FRONT_LINE,
                parent_id=region.id,
                public_slug=new_public_slug(),
            )
            for i in range(1, teams + 1)
        ]
        session.add_all(function_units + team_units)
        session.flush()
        session.add_all(
            Employee(email=f"person{t.id}.{n}@example.com", name=f"Person {t.id}.{n}", unit_id=t.id)
            for t in team_units
            for n in range(staff)
        )
        session.commit()
        return Org(
            [f.id for f in function_units],
            [t.id for t in team_units],
            [t.public_slug for t in team_units],
            region.id,
        )


@pytest.fixture
def org(db) -> Org:
    return make_org(db)


@dataclass
class OpenRound:
    id: int
    name: str
    links: dict[str, str]  # email -> personal link

    def path(self, email: str) -> str:
        return urlsplit(self.links[email]).path


def start_round(
    db: Database,
    name: str = "2026 Q4",
    status: RoundStatus = RoundStatus.OPEN,
    internal_version: int | None = None,
) -> OpenRound:
    now = datetime.now(UTC)
    with db.session() as session:
        a_round = create_round(
            session,
            name,
            now - timedelta(days=1),
            now + timedelta(days=13),
            internal_version=internal_version,
        )
        links = {i.email: i.link for i in issue_invitations(session, a_round, BASE_URL, TEST_SECRET)}
        if status != RoundStatus.SCHEDULED:
            advance_round(session, a_round, RoundStatus.OPEN)
        return OpenRound(a_round.id, a_round.name, links)


@pytest.fixture
def open_round(db, org) -> OpenRound:
    return start_round(db)


@dataclass
class People:
    hr: str
    executive: str
    head_fl1: str  # head of front-line team FL1
    head_fl2: str  # head of front-line team FL2
    head_region: str  # head of region R1, and so of every team in it


def make_people(db: Database) -> People:
    """One account of each kind, all with the password `helpers.PASSWORD`."""
    from helpers import PASSWORD
    from survey.accounts.users import create_user
    from survey.db.models import Role

    with db.session() as session:
        create_user(session, "hr@example.com", "Hana HR", Role.HR, password=PASSWORD)
        create_user(session, "exec@example.com", "Edda Exec", Role.EXECUTIVE, password=PASSWORD)
        create_user(session, "head1@example.com", "Hugo Head", Role.HEAD, ["FL1"], password=PASSWORD)
        create_user(session, "head2@example.com", "Heidi Head", Role.HEAD, ["FL2"], password=PASSWORD)
        create_user(session, "region@example.com", "Rita Region", Role.HEAD, ["R1"], password=PASSWORD)
    return People(
        "hr@example.com", "exec@example.com", "head1@example.com", "head2@example.com", "region@example.com"
    )


@pytest.fixture
def people(db, org) -> People:
    return make_people(db)


@pytest.fixture
def settings_for_fuzz(settings):
    """A client whose customer pages are not rate-limited, for tests that post many forms."""
    with TestClient(
        create_app(settings.with_(customer_rate_limit=100_000)), base_url=BASE_URL
    ) as test_client:
        yield test_client


@pytest.fixture
def run(database_url):
    """`survey ...` on the test database, as a user would run it: run("round", "open", "2026 Q4")."""
    from click.testing import CliRunner

    from survey.cli import main

    def invoke(*args: str, **env: str):
        environment = {
            "SURVEY_DATABASE_URL": database_url,
            "SURVEY_BASE_URL": "https://survey.example.org",
            "SURVEY_SECRET_KEY": "test-secret-key-for-the-command-line",
            **env,
        }
        return CliRunner().invoke(main, list(args), env=environment, catch_exceptions=False)

    return invoke
