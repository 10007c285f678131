"""A front-line team's customer survey link in the forms a store can show it: the full link, a QR code (segno), and
an A5 poster to print (rendered like the reports, by WeasyPrint), with the company's name and logo (settings)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import segno
from sqlmodel import Session, select

from survey.db.models import Unit
from survey.errors import Refused
from survey.settings import Settings
from survey.vocabulary import UnitKind


class NoSuchTeam(Refused):
    """The code or id names no front-line team with a customer survey link."""


@dataclass(frozen=True)
class TeamLink:
    team_id: int
    code: str
    name: str
    url: str


def team_link_url(base_url: str, slug: str) -> str:
    """The full address customers open: SURVEY_BASE_URL followed by /c/<slug>."""
    return f"{base_url.rstrip('/')}/c/{slug}"


def qr_code(url: str) -> segno.QRCode:
    """The link as a QR code, error correction level M (readable with up to 15% of it smudged or covered)."""
    return segno.make_qr(url, error="m", boost_error=False)


def qr_svg(url: str) -> str:
    """The QR code as an SVG document, black on white with the quiet zone the standard asks for (4 modules)."""
    return qr_code(url).svg_inline(scale=8, border=4, dark="#000", light="#fff", omitsize=True)


def team_link(
    session: Session, settings: Settings, *, code: str | None = None, unit_id: int | None = None
) -> TeamLink:
    """A front-line team's link, found by its code or its id. Raises NoSuchTeam (naming what was asked for) for
    a unit that does not exist, is not a front-line team, has no public link or is no longer active."""
    statement = (
        select(Unit).where(Unit.code == code) if code is not None else select(Unit).where(Unit.id == unit_id)
    )
    unit = session.exec(statement).first()
    asked = f"team code {code!r}" if code is not None else f"unit {unit_id}"
    if unit is None:
        raise NoSuchTeam(f"{asked}: no such unit")
    if unit.kind != UnitKind.FRONT_LINE or not unit.public_slug:
        raise NoSuchTeam(f"{asked}: {unit.name} is not a front-line team, so customers have no link to it")
    if not unit.active:
        raise NoSuchTeam(f"{asked}: {unit.name} is no longer active, so its link leads nowhere")
    assert unit.id is not None
    return TeamLink(unit.id, unit.code, unit.name, team_link_url(settings.base_url, unit.public_slug))


def poster_context(link: TeamLink, settings: Settings) -> dict:
    """What a team's poster shows, for reports/poster.html."""
    return {
        "team_name": link.name,
        "url": link.url,
        "qr_svg": qr_svg(link.url),
        "company_name": settings.company_name,
        "company_logo_uri": settings.company_logo_uri,
        "document_id": hashlib.sha256(f"survey poster {link.url}".encode()).hexdigest()[:32],
    }


def poster_pdf(link: TeamLink, settings: Settings) -> bytes:
    """The team's A5 poster as a PDF."""
    from survey.reports.render import render_poster_pdf

    return render_poster_pdf(poster_context(link, settings))
