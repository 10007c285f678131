"""The surveys' pages: the employee survey (a personal link, exchanged for a cookie, leads to one anonymous
submission), the customer survey (a front-line team's public link; one response per form key the server signed
for the team and round, rate-limited per client address in the database), and HR's pages for the questionnaires
and their versions."""

from __future__ import annotations

import logging
import re
import time

from litestar import Controller, Request, Router, get, post
from litestar.concurrency import sync_to_thread
from litestar.datastructures import Cookie
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER
from sqlalchemy import func
from sqlmodel import Session, select

from survey.db.engine import Database
from survey.db.models import Instrument, Item, Round
from survey.languages import DEFAULT
from survey.settings import Settings
from survey.surveys.instruments import InstrumentError, new_instrument_version
from survey.surveys.intake import Intake, InvitationView, Outcome, TeamSurvey
from survey.surveys.questionnaire import NOT_APPLICABLE, read_customer_form, read_internal_form
from survey.surveys.steps import (
    GO_FIELD,
    STEP_FIELD,
    SUBMIT,
    Page,
    StepRefused,
    answers_sent,
    first_page,
    next_page,
    page_with_errors,
)
from survey.tokens import FormKeyRefused, check_customer_form_key, customer_form_key
from survey.web.deps import DatabaseDep, IntakeDep, ObjectId, SettingsDep
from survey.web.forms import clean_text, text_field
from survey.web.limits import request_limit
from survey.web.responses import get_or_404, see_other

# --- Employees ---------------------------------------------------------------------------------------------------

SESSION_COOKIE = "survey_session"
ROUND_FIELD = "round"


def _state_page(invitation: InvitationView | None) -> Template | None:
    """The page to show instead of the survey, or None when the survey can be answered."""
    if invitation is None:
        return Template("employee/no_session.html", status_code=400)
    if invitation.answered:
        return Template("employee/answered.html", context={"invitation": invitation})
    if not invitation.is_open:
        return Template("employee/not_open.html", context={"invitation": invitation}, status_code=409)
    return None


class EmployeeSurvey(Controller):
    include_in_schema = False

    @get("/i/{token:str}", sync_to_thread=True)
    def open_link(
        self, token: FromPath[str], intake: IntakeDep, settings: SettingsDep
    ) -> Template | Redirect:
        """Swap the link's token for a survey cookie and move to a URL without it."""
        invitation = intake.invitation_for_token(token)
        if invitation is None:
            return Template("employee/bad_link.html", status_code=404)
        if page := _state_page(invitation):
            return page
        secret = intake.start_session(invitation.invitation_id)
        cookie = Cookie(
            key=SESSION_COOKIE,
            value=secret,
            path="/survey",
            httponly=True,
            secure=settings.cookie_secure,
            samesite="lax",
        )
        return Redirect("/survey", status_code=HTTP_303_SEE_OTHER, cookies=[cookie])

    @get("/survey", sync_to_thread=True)
    def show(self, request: Request, intake: IntakeDep, settings: SettingsDep) -> Template:
        invitation = intake.invitation_for_session(request.cookies.get(SESSION_COOKIE))
        if page := _state_page(invitation):
            return page
        return self._step(intake, settings, invitation, first_page())

    @post("/survey")
    async def submit(self, request: Request, intake: IntakeDep, settings: SettingsDep) -> Template | Redirect:
        """Every step posts here. Next, Back (and Stay, for a draft resumed) only check the answers so far and
        show another step; only Submit stores. The hot path (Submit) reads nothing: the form names its round,
        and the claim checks it with the rest."""
        secret = request.cookies.get(SESSION_COOKIE)
        values = await request.form()  # parsed once per request, shared with the CSRF check
        round_id = text_field(values, ROUND_FIELD)
        if not (secret and round_id.isascii() and round_id.isdigit() and len(round_id) <= 9):
            return await sync_to_thread(self._after_refusal, intake, secret)
        sections = intake.cached_sections(int(round_id), DEFAULT) or await sync_to_thread(
            intake.sections, int(round_id), DEFAULT
        )
        go = text_field(values, GO_FIELD)
        if go != SUBMIT:
            return await sync_to_thread(
                self._move, intake, settings, secret, int(round_id), sections, values, go
            )
        reviews, errors = read_internal_form(values, sections)
        if errors:
            page = page_with_errors(answers_sent(values, sections), sections, errors)
            return await sync_to_thread(self._show_step, intake, settings, secret, int(round_id), page)
        if await intake.submit_internal(secret, int(round_id), reviews):
            return Redirect("/survey/thanks", status_code=HTTP_303_SEE_OTHER)
        return await sync_to_thread(self._after_refusal, intake, secret)

    def _move(
        self, intake: Intake, settings: Settings, secret, round_id: int, sections, values, go
    ) -> Template | Redirect:
        """The step after Next, Back or Stay; nothing is written."""
        try:
            page = next_page(values, sections, go)
        except StepRefused as refused:
            return Template("employee/step_refused.html", context={"reason": str(refused)}, status_code=400)
        return self._show_step(intake, settings, secret, round_id, page)

    def _show_step(
        self, intake: Intake, settings: Settings, secret, round_id: int, page: Page
    ) -> Template | Redirect:
        """A step for the survey's own session and round (422 when it shows errors); otherwise why not."""
        invitation = intake.invitation_for_session(secret)
        if state := _state_page(invitation):
            return state
        assert invitation is not None
        if invitation.round_id != round_id:  # a page of another round: start this one's afresh
            return Redirect("/survey", status_code=HTTP_303_SEE_OTHER)
        return self._step(intake, settings, invitation, page, 422 if page.errors else 200)

    @staticmethod
    def _after_refusal(intake: Intake, secret: str | None) -> Template | Redirect:
        """Why nothing was stored: no session, already answered, not open; or a page for another round."""
        page = _state_page(intake.invitation_for_session(secret))
        return page or Redirect("/survey", status_code=HTTP_303_SEE_OTHER)

    @get("/survey/thanks", sync_to_thread=False)
    def thanks(self) -> Template:
        return Template("employee/thanks.html")

    @staticmethod
    def _step(intake, settings, invitation, page: Page, status_code=200) -> Template:
        sections = intake.sections(invitation.round_id, DEFAULT)
        return Template(
            "employee/survey.html",
            context={
                "invitation": invitation,
                "round_field": ROUND_FIELD,
                "step_field": STEP_FIELD,
                "go_field": GO_FIELD,
                "not_applicable": NOT_APPLICABLE,
                "sections": sections,
                "page": page,
                "values": page.values,
                "errors": page.errors,
                "min_group_size": settings.min_group_size,
                "min_comment_group_size": settings.min_comment_group_size,
            },
            status_code=status_code,
        )


# --- Customers ---------------------------------------------------------------------------------------------------

FORM_KEY = "form_key"
_SLUG_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,64}")
log = logging.getLogger(__name__)


def _team(slug: str, intake: Intake) -> TeamSurvey | Template:
    survey = intake.team_survey(slug) if _SLUG_SHAPE.fullmatch(slug) else None
    if survey is None:
        return Template("customer/unknown.html", status_code=404)
    if survey.round_id is None:
        return Template("customer/not_open.html", context={"survey": survey})
    return survey


def _new_key(settings: Settings, survey: TeamSurvey) -> str:
    assert survey.round_id is not None  # `_team` shows the not-open page for a team without an open round
    return customer_form_key(settings.secret_key, survey.round_id, survey.team_id, int(time.time()))


def _form(
    intake: Intake, survey: TeamSurvey, slug: str, form_key: str, values, errors, status_code=200
) -> Template:
    return Template(
        "customer/survey.html",
        context={
            "survey": survey,
            "form": intake.customer_form(survey, DEFAULT),
            "slug": slug,
            "form_key": form_key,
            "values": values,
            "errors": errors,
        },
        status_code=status_code,
    )


class CustomerSurvey(Controller):
    path = "/c"

    @get("/{slug:str}", sync_to_thread=True)
    def show(self, slug: FromPath[str], intake: IntakeDep, settings: SettingsDep) -> Template:
        survey = _team(slug, intake)
        if isinstance(survey, Template):
            return survey
        return _form(intake, survey, slug, _new_key(settings, survey), values={}, errors={})

    @post("/{slug:str}")
    async def submit(
        self, slug: FromPath[str], request: Request, intake: IntakeDep, settings: SettingsDep
    ) -> Template | Redirect:
        survey = await sync_to_thread(_team, slug, intake)
        if isinstance(survey, Template):
            return survey
        assert survey.round_id is not None
        values = await request.form()
        form_key = text_field(values, FORM_KEY)
        try:
            check_customer_form_key(
                settings.secret_key, form_key, survey.round_id, survey.team_id, int(time.time())
            )
        except FormKeyRefused as refused:
            # Not a form we served for this survey, or served too long ago: a fresh one, with what was typed.
            log.info("customer form for team %s refused: %s", survey.team_id, refused)
            errors = {
                FORM_KEY: "This form has expired or was not made for this survey. "
                "Please check your answers and send them again."
            }
            fresh = _new_key(settings, survey)
            return await sync_to_thread(_form, intake, survey, slug, fresh, values, errors, 400)
        answers, errors = read_customer_form(
            values, await sync_to_thread(intake.customer_form, survey, DEFAULT)
        )
        if errors:
            return await sync_to_thread(_form, intake, survey, slug, form_key, values, errors, 422)
        outcome = await intake.submit_customer(survey, form_key, answers, settings.customer_team_hourly_cap)
        if outcome is Outcome.NOT_OPEN:
            return Template("customer/not_open.html", context={"survey": survey}, status_code=409)
        # STORED, HELD (a burst for HR to review) or ALREADY_ANSWERED (a refresh or double click): the same page.
        return Redirect(f"/c/{slug}/thanks", status_code=HTTP_303_SEE_OTHER)

    @get("/{slug:str}/thanks", sync_to_thread=False)
    def thanks(self, slug: FromPath[str]) -> Template:
        return Template("customer/thanks.html")


def customer_router(settings: Settings, db: Database) -> Router:
    """The customer pages behind a per-client rate limit, counted in the database for every server process."""
    limit = request_limit(db, settings, "customer", settings.customer_rate_limit)
    return Router(path="/", route_handlers=[CustomerSurvey], before_request=limit, include_in_schema=False)


# --- HR: the questionnaires ------------------------------------------------------------------------------------


@get("/instruments", sync_to_thread=True)
def instruments_page(db: DatabaseDep) -> Template:
    with db.session() as session:
        instruments = session.exec(
            select(Instrument).order_by(Instrument.kind, Instrument.version.desc())
        ).all()
        used = {
            *session.exec(select(Round.internal_instrument_id)),
            *session.exec(select(Round.external_instrument_id)),
        }
    return Template("admin/instruments.html", context={"instruments": instruments, "used": used})


def _instrument_context(session: Session, instrument_id: int) -> dict:
    instrument = get_or_404(session, Instrument, instrument_id)
    items = session.exec(
        select(Item).where(Item.instrument_id == instrument.id).order_by(Item.position)
    ).all()
    newest = session.exec(
        select(func.max(Instrument.version)).where(Instrument.kind == instrument.kind)
    ).one()
    return {"instrument": instrument, "items": items, "is_newest": instrument.version == newest}


@get("/instruments/{instrument_id:int}", sync_to_thread=True)
def instrument_page(instrument_id: ObjectId, db: DatabaseDep) -> Template:
    with db.session() as session:
        return Template("admin/instrument.html", context=_instrument_context(session, instrument_id))


@post("/instruments/{instrument_id:int}/new-version")
async def start_new_version(
    instrument_id: ObjectId, request: Request, db: DatabaseDep
) -> Template | Redirect:
    """A new version from this one, with the wording HR edited. Rounds already created keep their version."""
    form = await request.form()
    with db.session() as session:
        context = _instrument_context(session, instrument_id)
        wording = {item.id: clean_text(form.get(f"wording-{item.id}")) for item in context["items"]}
        title = clean_text(form.get("title"))
        try:
            if not context["is_newest"]:
                raise InstrumentError("a newer version exists; start new versions from the newest")
            created = new_instrument_version(session, context["instrument"], title, wording)
        except InstrumentError as error:
            return Template(
                "admin/instrument.html",
                context={**context, "error": str(error), "typed": wording},
                status_code=400,
            )
    return see_other(f"/admin/instruments/{created.id}")


HR_PAGES = [instruments_page, instrument_page, start_new_version]
