"""The customer survey asks overall satisfaction first and the rest may be skipped; each front-line team's link
reaches customers as a full address, a QR code and an A5 poster that only HR can download."""

from __future__ import annotations

import io
import re
import subprocess

import pytest
import zxingcpp
from PIL import Image
from sqlmodel import select

from helpers import customer_answers, log_in
from survey.analysis.aggregation import round_sums
from survey.db.models import ExternalResponse, Item, Round, Unit
from survey.settings import Settings, SettingsError
from survey.web.app import create_app

# A 1x1 transparent PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


def _fields_by_code(db, round_id: int, page: str) -> dict[str, str]:
    """The customer form's field names by item code, in the order the page asks them."""
    with db.session() as session:
        instrument_id = session.get(Round, round_id).external_instrument_id
        codes = {i.id: i.code for i in session.exec(select(Item).where(Item.instrument_id == instrument_id))}
    order = dict.fromkeys(re.findall(r'<fieldset class="question[^"]*" id="q-(\d+)"', page))
    return {codes[int(item_id)]: f"q-{item_id}" for item_id in order}


def _stored_answers(db) -> list[dict]:
    with db.session() as session:
        return [row.answers for row in session.exec(select(ExternalResponse))]


def test_customers_are_asked_overall_satisfaction_first_then_whether_they_would_recommend(
    client, db, org, open_round
):
    page = client.get(f"/c/{org.team_slugs[0]}").text
    codes = list(_fields_by_code(db, open_round.id, page))
    assert codes[:2] == ["CSAT", "NPS"]
    legends = re.findall(r"<legend>(.*?)</legend>", page, re.S)
    assert legends[0].startswith("Overall, how satisfied are you")
    assert "(optional)" not in legends[0] and all("(optional)" in legend for legend in legends[1:])


def test_a_customer_who_answers_only_the_first_question_is_stored_with_only_that_answer(
    client, db, org, open_round
):
    data, page = customer_answers(client, org.team_slugs[0], value=5)
    fields = _fields_by_code(db, open_round.id, page)
    for code, field in fields.items():
        if code != "CSAT":
            data[field] = ""  # a skipped radio group is not sent at all; an empty one is skipped the same
    del data[fields["NPS"]]

    response = client.post(f"/c/{org.team_slugs[0]}", data=data, follow_redirects=False)

    assert response.status_code == 303
    assert _stored_answers(db) == [{fields["CSAT"][2:]: 5}]


def test_overall_satisfaction_is_required_with_a_message_naming_it(client, db, org, open_round):
    data, page = customer_answers(client, org.team_slugs[0])
    fields = _fields_by_code(db, open_round.id, page)
    del data[fields["CSAT"]]

    response = client.post(f"/c/{org.team_slugs[0]}", data=data)

    assert response.status_code == 422
    assert f'href="#{fields["CSAT"]}"' in response.text
    assert (
        "Overall, how satisfied are you with the service you received? — Choose an answer from 1 to 5."
        in (response.text)
    )
    assert _stored_answers(db) == []


def test_a_skipped_recommend_question_counts_in_no_nps(client, db, org, open_round):
    """Two customers: one answered 10 to the recommend question, one skipped it. NPS rests on one answer, not on
    two with the skipped one counted as a passive 0."""
    fields: dict[str, str] = {}
    for skip in (False, True):
        data, page = customer_answers(client, org.team_slugs[0], value=10)
        fields = _fields_by_code(db, open_round.id, page)
        if skip:
            del data[fields["NPS"]]
        assert client.post(f"/c/{org.team_slugs[0]}", data=data, follow_redirects=False).status_code == 303

    with db.engine.connect() as connection:
        cell = round_sums(connection, open_round.id).external[org.teams[0]]

    assert cell["nps"].n == 1 and cell["nps"].total == 100.0
    assert cell["csat"].n == 2 and cell["csat_pct"].n == 2


def _as_hr(client, people):
    log_in(client, people.hr)
    return client


def _pdf_text(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()


def _decoded_qr_codes(pdf: bytes) -> list[str]:
    """The QR codes a reader finds on the PDF's first page, rendered at 100 dpi as a printer would."""
    png = subprocess.run(
        ["pdftoppm", "-r", "100", "-png", "-singlefile", "-"],
        input=pdf,
        capture_output=True,
        check=True,
    ).stdout
    return [code.text for code in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


def test_hr_downloads_a_teams_a5_poster_whose_qr_code_opens_its_full_link(client, db, org, people):
    link = f"https://testserver.local/c/{org.team_slugs[1]}"
    assert link in _as_hr(client, people).get("/admin/units").text

    response = client.get(f"/admin/units/{org.teams[1]}/poster.pdf")

    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    info = subprocess.run(["pdfinfo", "-"], input=response.content, capture_output=True, check=True).stdout
    assert re.search(rb"Pages:\s+1\n", info)
    width, height = map(float, re.search(rb"Page size:\s+([\d.]+) x ([\d.]+) pts", info).groups())
    assert (round(width / 72 * 25.4), round(height / 72 * 25.4)) == (148, 210)  # A5, in millimetres
    text = _pdf_text(response.content)
    assert "How did Store 2 do?" in text and link in text
    assert _decoded_qr_codes(response.content) == [link]


def test_only_hr_gets_a_teams_poster_or_qr_code(client, db, org, people):
    log_in(client, people.head_fl1)  # the head of the very team
    for path in (f"/admin/units/{org.teams[0]}/poster.pdf", f"/admin/units/{org.teams[0]}/qr.svg"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code in (403, 404), path
        assert not response.content.startswith((b"%PDF", b"<svg"))


def test_a_support_function_has_no_poster(client, db, org, people):
    response = _as_hr(client, people).get(f"/admin/units/{org.functions[0]}/poster.pdf")
    assert response.status_code == 404 and not response.content.startswith(b"%PDF")


def test_the_command_line_prints_a_teams_link_and_writes_its_poster(run, db, org, tmp_path):
    link = f"https://survey.example.org/c/{org.team_slugs[0]}"
    printed = run("link", "FL1")
    assert printed.exit_code == 0 and printed.output.strip() == link

    (tmp_path / "posters").mkdir()
    target = tmp_path / "posters" / "fl1.pdf"
    written = run("poster", "FL1", "--out", str(target))

    assert written.exit_code == 0, written.output
    assert link in _pdf_text(target.read_bytes()) and "Store 1" in _pdf_text(target.read_bytes())
    assert _decoded_qr_codes(target.read_bytes()) == [link]
    assert [p.name for p in (tmp_path / "posters").iterdir()] == [
        "fl1.pdf"
    ]  # nothing half-written left beside it


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("poster", "NOPE", "--out", "{tmp}/x.pdf"), "team code 'NOPE': no such unit"),
        (("poster", "SF1", "--out", "{tmp}/x.pdf"), "IT Service Desk is not a front-line team"),
        (("poster", "FL1", "--out", "{tmp}/missing/x.pdf"), "does not exist"),
        (("poster", "FL1"), "Missing option '-o' / '--out'"),
        (("link", "NOPE"), "team code 'NOPE': no such unit"),
    ],
)
def test_bad_poster_and_link_arguments_exit_2_and_say_what_is_wrong(run, org, tmp_path, args, message):
    result = run(*(arg.format(tmp=tmp_path) for arg in args))
    assert result.exit_code == 2 and message in result.output
    assert not any(tmp_path.rglob("*.pdf"))


def test_an_inactive_team_has_no_link_to_print(run, db, org):
    with db.session() as session:
        team = session.exec(select(Unit).where(Unit.code == "FL2")).one()
        team.active = False
        session.add(team)
        session.commit()
    result = run("link", "FL2")
    assert result.exit_code == 2 and "Store 2 is no longer active" in result.output


def test_the_company_name_and_logo_show_on_the_customer_pages_and_the_poster(
    settings, org, open_round, tmp_path
):
    from litestar.testing import TestClient

    from conftest import BASE_URL
    from survey.organisation.posters import TeamLink, poster_pdf

    logo = tmp_path / "logo.png"
    logo.write_bytes(PNG)
    branded = settings.with_(company_name="Acme Stores", company_logo=str(logo))
    with TestClient(create_app(branded), base_url=BASE_URL) as client:
        page = client.get(f"/c/{org.team_slugs[0]}").text
    assert "Acme Stores" in page and 'src="data:image/png;base64,' in page
    poster = poster_pdf(TeamLink(org.teams[0], "FL1", "Store 1", f"{BASE_URL}/c/x"), branded)
    assert "Acme Stores" in _pdf_text(poster)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("logo.gif", b"GIF89a", "expected a .png or .svg file"),
        ("logo.png", b"<svg></svg>", "is not a PNG image"),
        ("logo.svg", b"not an image", "is not a SVG image"),
        ("logo.png", b"\x89PNG\r\n\x1a\n" + bytes(600 * 1024), "is over 512 KiB"),
        (None, b"", "cannot read"),
    ],
)
def test_a_logo_that_cannot_be_shown_is_refused_at_start_naming_the_variable(
    tmp_path, name, content, message
):
    path = tmp_path / (name or "missing.png")
    if name:
        path.write_bytes(content)
    with pytest.raises(SettingsError, match="SURVEY_COMPANY_LOGO") as refused:
        Settings.from_env({"SURVEY_COMPANY_LOGO": str(path)})
    assert message in str(refused.value)
