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

import atexit
import hashlib
import multiprocessing
import os
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import jinja2
import msgspec

from survey.analysis.results import UnitName
from survey.db.engine import Database
from survey.reports.catalogue import FUNCTION, ORGANISATION_NAME, TEAM, ReportRef, round_reports
from survey.reports.content.common import figure_filters
from survey.reports.content.function import function_report
from survey.reports.content.organisation import Scope, organisation_report
from survey.reports.content.team import team_report
from survey.reports.data import RoundData, round_data
from survey.rounds.lifecycle import find_round
from survey.settings import Settings, resource_dir

ASSETS = resource_dir("reports")
STYLESHEET = "report.css"
POSTER_STYLESHEET = "poster.css"


def report_context(data: RoundData, ref: ReportRef) -> dict[str, Any]:
    """What one report shows (its charts as SVG data URIs), for its template."""
    if ref.kind == FUNCTION:
        code = ref.code or ""
        context = function_report(
            _subject(ref),
            data.scores,
            data.linkage,
            data.history,
            data.promises.get(code, ()),
            data.actions.get(code, ()),
        )
    elif ref.kind == TEAM:
        row = next((p for p in data.participation if p.kind == "front_line" and p.code == ref.code), None)
        context = team_report(_subject(ref), data.scores, data.linkage, data.history, row)
    else:
        if ref.unit_id is None:
            scope = Scope(None, ORGANISATION_NAME, data.teams, data.groups)
            rows = data.participation
        else:
            teams, groups = data.below.get(ref.unit_id, (frozenset(), frozenset()))
            scope = Scope(ref.code, ref.name, teams, groups)
            rows = [p for p in data.participation if p.code in teams | groups]
        context = organisation_report(scope, data.scores, data.linkage, data.history, rows)
    return {
        **context,
        "kind_title": ref.kind_title,
        "document_id": hashlib.sha256(f"survey report {ref.round_id} {ref.path}".encode()).hexdigest()[:32],
        "created": data.closes_at,
        "round_closes": _date(datetime.fromisoformat(data.closes_at)),
    }


def _subject(ref: ReportRef) -> UnitName:
    """The unit a function's or a team's report is about."""
    assert ref.unit_id is not None and ref.code is not None  # only the executive report has no unit
    return UnitName(ref.unit_id, ref.code, ref.name)


MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


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
    environment.filters.update(figure_filters())
    return environment


_templates = _environment()


def render_html(context: dict, stylesheet_url: str | None) -> str:
    """The report as an HTML page; `stylesheet_url` is where the page finds report.css (its fonts beside it),
    None for none (`render_pdf` gives it parsed)."""
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


# Per thread (WeasyPrint's font configuration is not shared between threads): report.css parsed, and the font
# configuration that loaded its fonts (into a temporary folder, removed when the configuration is dropped).
_parsed: dict[int, tuple[Any, Any]] = {}
atexit.register(_parsed.clear)  # drops them while the interpreter can still remove their folders


def _print_stylesheet() -> tuple[Any, Any]:
    """report.css parsed, and the fonts it names loaded, once per thread: for every report anew they cost about a
    sixth of its rendering."""
    thread = threading.get_ident()  # a thread that ended leaves its pair to the next one given its id
    if thread not in _parsed:
        from weasyprint import CSS
        from weasyprint.text.fonts import FontConfiguration

        fonts = FontConfiguration()
        stylesheet = CSS(filename=str(ASSETS / STYLESHEET), font_config=fonts, url_fetcher=_fetcher())
        _parsed[thread] = (stylesheet, fonts)
    return _parsed[thread]


def render_pdf(context: dict) -> bytes:
    """The report as a tagged A4 PDF with its fonts embedded; the same context gives the same bytes."""
    from weasyprint import HTML

    stylesheet, fonts = _print_stylesheet()
    html = render_html(context, None)  # the stylesheet is given ready parsed
    document = HTML(string=html, base_url=str(ASSETS) + "/", url_fetcher=_fetcher())
    return document.write_pdf(
        stylesheets=[stylesheet],
        font_config=fonts,
        pdf_tags=True,
        pdf_identifier=context["document_id"].encode(),
    )


def render_poster_pdf(context: dict) -> bytes:
    """A team's A5 poster (`organisation.posters.poster_context`) as a tagged PDF, with the reports' fonts and the
    same rule for what may be fetched: its own assets and data URIs (the QR code and the logo)."""
    from weasyprint import HTML

    html = _templates.get_template("poster.html").render(**context, stylesheet_url=POSTER_STYLESHEET)
    document = HTML(string=html, base_url=str(ASSETS) + "/", url_fetcher=_fetcher())
    return document.write_pdf(pdf_tags=True, pdf_identifier=context["document_id"].encode())


def context_key(context: dict[str, Any]) -> str:
    """A fingerprint of what a report shows and of the templates and CSS that lay it out, for the folder of
    rendered reports: a new version of either renders the report anew."""
    digest = hashlib.sha256(msgspec.json.encode(context, order="deterministic"))
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
            refs = round_reports(session, find_round(session, round_id))
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
