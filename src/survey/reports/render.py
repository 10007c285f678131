"""A round's PDF reports: which exist, who may read which, the data behind them and their rendering.

Every report reads the round's released results (`analytics.scores` and `analytics.linkage`, stored once a round
has closed), the released scores of up to four earlier rounds for trends, and response rates hidden as on every
other page. `report_content` turns them into what a report says; the templates and print CSS under `reports/`
lay it out; WeasyPrint renders it. WeasyPrint fetches only the report's own assets (its CSS and fonts) and the
charts embedded in the page: user text is escaped by the templates, so a comment holding HTML or a `file://`
image stays text, and nothing else could be fetched if it did not.

The same data gives the same PDF: the metadata dates come from the round's close, the file identifier from the
round and unit, and the fonts are ours (embedded, subset).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import re
import secrets
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote, urlparse

import jinja2
from sqlmodel import Session, select

from survey.accounts import users as accounts
from survey.analysis import analytics
from survey.reports import content as report_content
from survey.rounds import lifecycle as rounds
from survey.db.engine import Database
from survey.db.models import Role, Round, RoundStatus, RoundUnit, Unit, UnitKind, User
from survey.settings import Settings, resource_dir

ASSETS = resource_dir("reports")
STYLESHEET = "report.css"
FUNCTION, TEAM, ORGANISATION = "function", "team", "organisation"
KIND_TITLES = {
    FUNCTION: "Support function report",
    TEAM: "Front-line team report",
    ORGANISATION: "Executive report",
}
ORGANISATION_NAME = "The whole organisation"


class ReportNotFound(LookupError):
    """No such report in this round (the unit took no part, or the round has no results yet)."""


@dataclass(frozen=True)
class ReportRef:
    """One report of a round: for a unit (a support function, a front-line team or a group), or for the whole
    organisation (unit_id None)."""

    round_id: int
    unit_id: int | None
    code: str | None
    name: str
    kind: str

    @property
    def kind_title(self) -> str:
        return "Regional report" if self.kind == ORGANISATION and self.unit_id else KIND_TITLES[self.kind]

    @property
    def path(self) -> str:
        """The part of a URL after /reports/{round}/ naming this report."""
        return "organisation" if self.unit_id is None else str(self.unit_id)

    @property
    def cache_name(self) -> str:
        """The file name in a folder of kept reports: unique by the unit's id (SF02 with id 5: 5-SF02.pdf)."""
        return self.filename if self.unit_id is None else f"{self.unit_id}-{self.filename}"

    @property
    def filename(self) -> str:
        """A file name safe on every system and unique in its round: the unit's code, or "organisation"; a code
        that had to be changed to be safe gets its unit's id too."""
        if self.code is None:
            return "organisation.pdf"
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", self.code).strip("._")
        if stem != self.code or stem.lower() == "organisation":
            stem = f"{stem}-{self.unit_id}".lstrip("-")
        return f"{stem}.pdf"


# --- Which reports exist, and who may read them -------------------------------------------------------------


def round_reports(session: Session, a_round: Round) -> list[ReportRef]:
    """Every report of a round: the whole organisation, each group above its teams, each support function and
    each front-line team taking part."""
    units = {u.id: u for u in session.exec(select(Unit))}
    taking_part = [
        units[i] for i in session.exec(select(RoundUnit.unit_id).where(RoundUnit.round_id == a_round.id))
    ]
    groups: set[int] = set()
    for team in (u for u in taking_part if u.kind == UnitKind.FRONT_LINE):
        node = team.parent_id
        while node is not None and node not in groups:
            groups.add(node)
            node = units[node].parent_id

    def refs(chosen, kind):
        return [
            ReportRef(a_round.id, u.id, u.code, u.name, kind) for u in sorted(chosen, key=lambda u: u.code)
        ]

    return (
        [ReportRef(a_round.id, None, None, ORGANISATION_NAME, ORGANISATION)]
        + refs([units[g] for g in groups if units[g].kind == UnitKind.GROUP], ORGANISATION)
        + refs([u for u in taking_part if u.kind == UnitKind.SUPPORT], FUNCTION)
        + refs([u for u in taking_part if u.kind == UnitKind.FRONT_LINE], TEAM)
    )


def reports_visible(a_round: Round, user: User) -> bool:
    """A round's reports are for everyone entitled once HR publishes it; HR sees them as soon as it closes, to
    check them before publishing."""
    if a_round.status == RoundStatus.PUBLISHED:
        return True
    return a_round.status == RoundStatus.CLOSED and user.role == Role.HR


def visible_reports(session: Session, user: User, a_round: Round) -> list[ReportRef]:
    """The reports of a round this user may read: HR and executives all of them, a head those of their own units
    and the units below them."""
    if not reports_visible(a_round, user):
        return []
    every = round_reports(session, a_round)
    visible = accounts.visible_unit_ids(session, user)
    if visible is None:
        return every
    return [ref for ref in every if ref.unit_id is not None and ref.unit_id in visible]


def find_report(session: Session, user: User, round_id: int, unit: str) -> ReportRef:
    """The report `unit` ("organisation" or a unit id) of a round if this user may read it; otherwise
    ReportNotFound, the same for a report that does not exist as for one that is not theirs."""
    a_round = session.get(Round, round_id)
    if a_round is None:
        raise ReportNotFound("no such round")
    for ref in visible_reports(session, user, a_round):
        if ref.path == unit:
            return ref
    raise ReportNotFound("no such report")


def report_by_code(session: Session, a_round: Round, code: str | None) -> ReportRef:
    """The report of a unit given by its code (None: the whole organisation), for the command line."""
    for ref in round_reports(session, a_round):
        if ref.code == code:
            return ref
    if code is None:
        raise ReportNotFound("no such report")
    unit = session.exec(select(Unit).where(Unit.code == code)).first()
    if unit is None:
        raise ReportNotFound(f"there is no unit with the code {code!r}")
    raise ReportNotFound(f"unit {code!r} took no part in round {a_round.name!r}")


# --- The data behind a round's reports ----------------------------------------------------------------------


@dataclass(frozen=True)
class RoundData:
    """Everything a round's reports read, gathered once for all of them."""

    round_id: int
    round_name: str
    closes_at: str  # ISO 8601: the reports' creation date
    scores: dict
    linkage: dict
    history: list[dict]  # released scores of up to four earlier rounds and this one, oldest first
    participation: list[dict]  # response rates per team and group, hidden as on every page
    below: dict[int, tuple[frozenset[str], frozenset[str]]]  # group id -> (team codes, group codes) below it
    teams: frozenset[str]
    groups: frozenset[str]


def round_data(db: Database, round_id: int, settings: Settings) -> RoundData:
    """Gather a closed round's released results. Raises analytics.NotReleased for a round not closed yet."""
    k, comment_k = settings.min_group_size, settings.min_comment_group_size
    scores = analytics.scores(db, round_id, k, comment_k)
    linkage = analytics.linkage(db, round_id, k)
    with db.session() as session:
        a_round = session.get(Round, round_id)
        earlier = session.exec(
            select(Round.id)
            .where(Round.opens_at < a_round.opens_at, Round.status.in_([s.value for s in analytics.RELEASED]))
            .order_by(Round.opens_at.desc())
            .limit(report_content.TREND_ROUNDS - 1)
        ).all()
        participation, below, teams, groups = _participation(session, round_id, k)
        name, closes_at = a_round.name, a_round.closes_at
    history = [analytics.scores(db, r, k, comment_k) for r in reversed(earlier)] + [scores]
    return RoundData(
        round_id, name, closes_at.isoformat(), scores, linkage, history, participation, below, teams, groups
    )


def _participation(session: Session, round_id: int, k: int):
    """Response rates per team, group and the whole, hidden as on every page; and which teams and groups lie
    below each group."""
    counts = rounds.team_participation(session, round_id)
    hidden = rounds.hidden_participation(session, counts, k)
    units = {u.id: u for u in session.exec(select(Unit))}

    def row(code, kind, name, shown: rounds.ParticipationRow):
        return {
            "code": code,
            "kind": kind,
            "name": name,
            "invited": shown.invited,
            "answered": shown.answered,
            "rate": shown.rate,
            "low": shown.low,
        }

    total, team_rows = rounds.participation_view(counts, hidden, {})
    rows = [row(None, "total", "All teams", total)]
    rows += [
        row(group.code, "group", group.name, shown)
        for group, shown in rounds.group_participation(session, counts, hidden)
    ]
    rows += [row(t.code, "front_line", t.name, shown) for t, shown in zip(counts, team_rows, strict=True)]
    teams_below: dict[int, set[str]] = {}
    for team in counts:
        node = team.parent_id
        while node is not None:
            teams_below.setdefault(node, set()).add(team.code)
            node = units[node].parent_id
    below = {
        group: (frozenset(codes), frozenset(units[g].code for g in teams_below if _is_below(units, g, group)))
        for group, codes in teams_below.items()
    }
    return rows, below, frozenset(t.code for t in counts), frozenset(units[g].code for g in teams_below)


def _is_below(units: dict[int, Unit], unit_id: int, ancestor: int) -> bool:
    node: int | None = unit_id
    while node is not None:
        if node == ancestor:
            return True
        node = units[node].parent_id
    return False


def report_context(data: RoundData, ref: ReportRef) -> dict:
    """What one report shows, JSON-ready (its charts as SVG data URIs)."""
    if ref.kind == FUNCTION:
        context = report_content.function_report(ref.code, ref.name, data.scores, data.linkage, data.history)
    elif ref.kind == TEAM:
        row = next(
            (p for p in data.participation if p["kind"] == "front_line" and p["code"] == ref.code), None
        )
        context = report_content.team_report(ref.code, ref.name, data.scores, data.linkage, data.history, row)
    else:
        if ref.unit_id is None:
            scope = report_content.Scope(None, ORGANISATION_NAME, data.teams, data.groups)
            rows = data.participation
        else:
            teams, groups = data.below.get(ref.unit_id, (frozenset(), frozenset()))
            scope = report_content.Scope(ref.code, ref.name, teams, groups)
            rows = [p for p in data.participation if p["code"] in teams | groups]
        context = report_content.organisation_report(scope, data.scores, data.linkage, data.history, rows)
    return {
        **context,
        "kind_title": ref.kind_title,
        "document_id": hashlib.sha256(f"survey report {ref.round_id} {ref.path}".encode()).hexdigest()[:32],
        "created": data.closes_at,
        "round_closes": _date(datetime.fromisoformat(data.closes_at)),
    }


MONTHS = "January February March April May June July August September October November December".split()


def _date(moment: datetime) -> str:
    """ "20 July 2026", in English whatever the machine's locale."""
    return f"{moment.day} {MONTHS[moment.month - 1]} {moment.year}"


# --- Rendering -------------------------------------------------------------------------------------------------


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ASSETS),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(
        number=report_content.number,
        signed=report_content.signed,
        shown=report_content.shown_text,
    )
    return environment


_templates = _environment()


def render_html(context: dict, stylesheet_url: str) -> str:
    """The report as an HTML page; `stylesheet_url` is where the page finds report.css (its fonts beside it)."""
    return _templates.get_template(f"{context['kind']}.html").render(**context, stylesheet_url=stylesheet_url)


def _fetcher():
    from weasyprint.urls import URLFetcher

    root = ASSETS.resolve()

    class AssetsOnly(URLFetcher):
        """Fetches the report's own assets (files under reports/) and the charts embedded as data URIs; nothing
        else, on any scheme."""

        def fetch(self, url, headers=None):
            parsed = urlparse(url)
            if parsed.scheme == "file":
                path = Path(unquote(parsed.path)).resolve()
                if not path.is_relative_to(root) or not path.is_file():
                    raise ValueError(f"a report reads only its own assets, not {url[:80]!r}")
            elif parsed.scheme != "data":
                raise ValueError(f"a report fetches nothing from {parsed.scheme or 'relative'} URLs")
            return super().fetch(url, headers)

    return AssetsOnly(allowed_protocols=("file", "data"))


def render_pdf(context: dict) -> bytes:
    """The report as a tagged A4 PDF with its fonts embedded; the same context gives the same bytes."""
    from weasyprint import HTML

    html = render_html(context, STYLESHEET)
    document = HTML(string=html, base_url=str(ASSETS) + "/", url_fetcher=_fetcher())
    return document.write_pdf(pdf_tags=True, pdf_identifier=context["document_id"].encode())


def context_key(context: dict) -> str:
    """A fingerprint of what a report shows and of the templates and CSS that lay it out, for the folder of
    rendered reports: a new version of either renders the report anew."""
    digest = hashlib.sha256(json.dumps(context, sort_keys=True, default=str).encode())
    for path in sorted(ASSETS.glob("*.*")):
        if path.suffix in (".html", ".css"):
            digest.update(path.read_bytes())
    return digest.hexdigest()


def write_report(context: dict, target: str | Path, keep_key: bool = False) -> str:
    """Render one report into `target`, written beside it and then renamed, so no file is ever half-written.
    With `keep_key`, the fingerprint of its data goes beside it (.FILE.pdf.key) for `cached_pdf`."""
    path = Path(target)
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
    partial.write_bytes(render_pdf(context))
    partial.replace(path)
    if keep_key:
        key_file = _key_file(path)
        partial = key_file.with_name(f"{key_file.name}.{secrets.token_hex(4)}.partial")
        partial.write_text(context_key(context))
        partial.replace(key_file)
    return str(target)


def _key_file(path: Path) -> Path:
    return path.with_name(f".{path.name}.key")


def cached_pdf(context: dict, ref: ReportRef, directory: Path) -> bytes:
    """A report's PDF kept in `directory` (round-N/FILE.pdf, its data's fingerprint beside it): served again
    while the fingerprint matches, rendered and kept anew when the data changed."""
    # named by unit id as well as code: two codes may make the same file name, never two ids
    path = round_folder(directory, ref.round_id) / ref.cache_name
    key_file = _key_file(path)
    if not (path.is_file() and key_file.is_file() and key_file.read_text() == context_key(context)):
        path.parent.mkdir(parents=True, exist_ok=True)
        write_report(context, path, keep_key=True)
    return path.read_bytes()


def round_folder(directory: Path, round_id: int) -> Path:
    """Where a reports folder keeps a round's PDFs."""
    return directory / f"round-{round_id}"


def render_round(
    db: Database,
    round_id: int,
    settings: Settings,
    directory: Path,
    refs: list[ReportRef] | None = None,
    workers: int | None = None,
    progress: Callable[[ReportRef], None] = lambda _: None,
    keep_keys: bool = False,
) -> list[Path]:
    """Render every report of a closed round (or the ones given) into `directory`, in parallel on every core:
    the data is gathered once here, the rendering done by worker processes. Calls `progress` as each is done."""
    data = round_data(db, round_id, settings)
    if refs is None:
        with db.session() as session:
            refs = round_reports(session, session.get(Round, round_id))
    directory.mkdir(parents=True, exist_ok=True)
    targets: dict[ReportRef, Path] = {}
    taken: set[str] = set()
    for (
        ref
    ) in refs:  # kept reports are named by unit id; and two names alike but for case are one on some disks
        name = ref.cache_name if keep_keys or ref.filename.lower() in taken else ref.filename
        taken.add(name.lower())
        targets[ref] = directory / name
    workers = max(1, min(workers or os.cpu_count() or 1, len(refs)))
    if workers == 1:
        for ref in refs:
            write_report(report_context(data, ref), str(targets[ref]), keep_keys)
            progress(ref)
        return list(targets.values())
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        pending = {
            pool.submit(write_report, report_context(data, ref), str(targets[ref]), keep_keys): ref
            for ref in refs
        }
        for done in as_completed(pending):
            done.result()
            progress(pending[done])
    return list(targets.values())
