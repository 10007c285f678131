"""The surveys' pages: the employee survey (a personal link, exchanged for a cookie, leads to one anonymous
submission), the customer survey (a front-line team's public link; one response per form key the server signed
for the team and round, rate-limited per client address in the database), and HR's pages for the questionnaires
and their versions."""

from __future__ import annotations

import logging
import re
import time
from datetime import UTC, datetime

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
from survey.languages import Message
from survey.promises import store as promises_store
from survey.promises.done import DoneActions, completed_actions
from survey.settings import Settings
from survey.surveys.instruments import InstrumentError, new_instrument_version
from survey.surveys.intake import Intake, InvitationView, Outcome, TeamSurvey
from survey.surveys.questionnaire import NOT_APPLICABLE, read_customer_form, read_internal_form
from survey.surveys.steps import (
    GO_FIELD,
    STAY,
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
from survey.web.respondents import LANGUAGE_FIELD, page_language, switched_language, with_language
from survey.web.responses import get_or_404, see_other

# --- Employees ---------------------------------------------------------------------------------------------------

SESSION_COOKIE = "survey_session"
ROUND_FIELD = "round"
STEP_FORM = "survey-step"  # the id of a step's form, whose language buttons carry the answers typed so far


def _page(name: str, language: str, status_code: int = 200, **context) -> Template:
    """A respondent's page in `language`, with what its language switcher needs."""
    context |= {"language": language, "language_field": LANGUAGE_FIELD}
    return Template(name, context=context, status_code=status_code)


def _employee_language(request: Request, settings: Settings, invitation: InvitationView | None) -> str:
    """A switched or carried language, else the roster's, else the default; the browser's only without an
    invitation to go by."""
    if invitation is None:
        return page_language(request, fallback=settings.default_language)
    return page_language(
        request, known=invitation.language, fallback=settings.default_language, browser=False
    )


def _state_page(invitation: InvitationView | None, language: str) -> Template | None:
    """The page to show instead of the survey, or None when the survey can be answered."""
    if invitation is None:
        return _page("employee/no_session.html", language, 400)
    if invitation.answered:
        return _page("employee/answered.html", language, invitation=invitation)
    if not invitation.is_open:
        return _page("employee/not_open.html", language, 409, invitation=invitation)
    return None


class EmployeeSurvey(Controller):
    include_in_schema = False

    @get("/i/{token:str}", sync_to_thread=True)
    def open_link(
        self, token: FromPath[str], request: Request, intake: IntakeDep, settings: SettingsDep
    ) -> Template | Redirect:
        """Swap the link's token for a survey cookie and move to a URL without it."""
        invitation = intake.invitation_for_token(token)
        language = _employee_language(request, settings, invitation)
        if invitation is None:
            return _page("employee/bad_link.html", language, 404)
        if page := _state_page(invitation, language):
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
        language = _employee_language(request, settings, invitation)
        if page := _state_page(invitation, language):
            return page
        return self._step(intake, settings, invitation, first_page(), language)

    @post("/survey")
    async def submit(self, request: Request, intake: IntakeDep, settings: SettingsDep) -> Template | Redirect:
        """Every step posts here. Next, Back (and Stay, for a draft resumed or a language switched) only check
        the answers so far and show another step; only Submit stores. The hot path (Submit) reads nothing: the
        form names its round, and the claim checks it with the rest."""
        secret = request.cookies.get(SESSION_COOKIE)
        values = await request.form()  # parsed once per request, shared with the CSRF check
        language = page_language(request, values, fallback=settings.default_language, browser=False)
        round_id = text_field(values, ROUND_FIELD)
        if not (secret and round_id.isascii() and round_id.isdigit() and len(round_id) <= 9):
            return await sync_to_thread(self._after_refusal, intake, secret, language)
        sections = intake.cached_sections(int(round_id), language) or await sync_to_thread(
            intake.sections, int(round_id), language
        )
        go = STAY if switched_language(values) else text_field(values, GO_FIELD)
        if go != SUBMIT:
            return await sync_to_thread(
                self._move, intake, settings, secret, int(round_id), sections, values, go, language
            )
        reviews, errors = read_internal_form(values, sections)
        if errors:
            page = page_with_errors(answers_sent(values, sections), sections, errors)
            return await sync_to_thread(
                self._show_step, intake, settings, secret, int(round_id), page, language
            )
        if await intake.submit_internal(secret, int(round_id), reviews):
            thanks = with_language("/survey/thanks", request, language, settings.default_language)
            return Redirect(thanks, status_code=HTTP_303_SEE_OTHER)
        return await sync_to_thread(self._after_refusal, intake, secret, language)

    def _move(
        self, intake: Intake, settings: Settings, secret, round_id: int, sections, values, go, language: str
    ) -> Template | Redirect:
        """The step after Next, Back or Stay; nothing is written."""
        try:
            page = next_page(values, sections, go)
        except StepRefused as refused:
            return _page("employee/step_refused.html", language, 400, reason=refused.reason)
        return self._show_step(intake, settings, secret, round_id, page, language)

    def _show_step(
        self, intake: Intake, settings: Settings, secret, round_id: int, page: Page, language: str
    ) -> Template | Redirect:
        """A step for the survey's own session and round (422 when it shows errors); otherwise why not."""
        invitation = intake.invitation_for_session(secret)
        if state := _state_page(invitation, language):
            return state
        assert invitation is not None
        if invitation.round_id != round_id:  # a page of another round: start this one's afresh
            return Redirect("/survey", status_code=HTTP_303_SEE_OTHER)
        return self._step(intake, settings, invitation, page, language, 422 if page.errors else 200)

    @staticmethod
    def _after_refusal(intake: Intake, secret: str | None, language: str) -> Template | Redirect:
        """Why nothing was stored: no session, already answered, not open; or a page for another round."""
        page = _state_page(intake.invitation_for_session(secret), language)
        return page or Redirect("/survey", status_code=HTTP_303_SEE_OTHER)

    @get("/survey/thanks", sync_to_thread=True)
    def thanks(self, request: Request, intake: IntakeDep, settings: SettingsDep) -> Template:
        """Thanks, and what the functions did since the last round (the survey's cookie names the round)."""
        language = page_language(request, fallback=settings.default_language)
        invitation = intake.invitation_for_session(request.cookies.get(SESSION_COOKIE))
        done = _done_since_last_round(intake, invitation.round_id, language) if invitation else []
        return _page("employee/thanks.html", language, done=done)

    @staticmethod
    def _step(intake, settings, invitation, page: Page, language: str, status_code=200) -> Template:
        sections = intake.sections(invitation.round_id, language)
        section = page.section
        return _page(
            "employee/survey.html",
            language,
            status_code,
            invitation=invitation,
            round_field=ROUND_FIELD,
            step_field=STEP_FIELD,
            go_field=GO_FIELD,
            switch_form=STEP_FORM,
            not_applicable=NOT_APPLICABLE,
            sections=sections,
            page=page,
            values=page.values,
            errors=page.errors,
            min_group_size=settings.min_group_size,
            min_comment_group_size=settings.min_comment_group_size,
            done=_done_since_last_round(intake, invitation.round_id, language)
            if page.kind == "checklist"
            else [],
            promises=_promises_of(intake, invitation.round_id, section.function_id, language)
            if section
            else [],
        )


def _done_since_last_round(intake: Intake, round_id: int, language: str) -> list[tuple[str, DoneActions]]:
    """Per support function of the round, by name, the actions it completed since the last round."""
    sections = intake.sections(round_id, language)
    with intake.db.session() as session:
        a_round = session.get(Round, round_id)
        if a_round is None:
            return []
        done = completed_actions(session, a_round, [s.function_id for s in sections], datetime.now(UTC))
    return [(s.name, done[s.function_id]) for s in sections if s.function_id in done]


def _promises_of(intake: Intake, round_id: int, function_id: int, language: str) -> list[str]:
    """A function's promises in force for the round, in `language` (English where one has no text in it)."""
    with intake.db.session() as session:
        a_round = session.get(Round, round_id)
        version = (
            promises_store.in_force(session, a_round, [function_id]).get(function_id) if a_round else None
        )
    return [p.text_in(language) for p in version.promises] if version else []


# --- Customers ---------------------------------------------------------------------------------------------------

FORM_KEY = "form_key"
CUSTOMER_FORM = "customer-form"
_SLUG_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,64}")
log = logging.getLogger(__name__)


def _team(slug: str, intake: Intake, language: str) -> TeamSurvey | Template:
    survey = intake.team_survey(slug) if _SLUG_SHAPE.fullmatch(slug) else None
    if survey is None:
        return _page("customer/unknown.html", language, 404)
    if survey.round_id is None:
        return _page("customer/not_open.html", language, survey=survey)
    return survey


def _new_key(settings: Settings, survey: TeamSurvey) -> str:
    assert survey.round_id is not None  # `_team` shows the not-open page for a team without an open round
    return customer_form_key(settings.secret_key, survey.round_id, survey.team_id, int(time.time()))


def _form(
    intake: Intake, survey: TeamSurvey, slug: str, form_key: str, values, errors, language, status_code=200
) -> Template:
    return _page(
        "customer/survey.html",
        language,
        status_code,
        survey=survey,
        form=intake.customer_form(survey, language),
        slug=slug,
        form_key=form_key,
        switch_form=CUSTOMER_FORM,
        values=values,
        errors=errors,
    )


class CustomerSurvey(Controller):
    path = "/c"

    @get("/{slug:str}", sync_to_thread=True)
    def show(
        self, slug: FromPath[str], request: Request, intake: IntakeDep, settings: SettingsDep
    ) -> Template:
        language = page_language(request)
        survey = _team(slug, intake, language)
        if isinstance(survey, Template):
            return survey
        return _form(intake, survey, slug, _new_key(settings, survey), {}, {}, language)

    @post("/{slug:str}")
    async def submit(
        self, slug: FromPath[str], request: Request, intake: IntakeDep, settings: SettingsDep
    ) -> Template | Redirect:
        values = await request.form()
        language = page_language(request, values)
        survey = await sync_to_thread(_team, slug, intake, language)
        if isinstance(survey, Template):
            return survey
        assert survey.round_id is not None
        form_key = text_field(values, FORM_KEY)
        if switched_language(
            values
        ):  # the same form in another language, with what was typed; nothing checked
            return await sync_to_thread(_form, intake, survey, slug, form_key, values, {}, language)
        try:
            check_customer_form_key(
                settings.secret_key, form_key, survey.round_id, survey.team_id, int(time.time())
            )
        except FormKeyRefused as refused:
            # Not a form we served for this survey, or served too long ago: a fresh one, with what was typed.
            log.info("customer form for team %s refused: %s", survey.team_id, refused)
            errors: dict[str, str] = {
                FORM_KEY: Message(
                    "This form has expired or was not made for this survey. "
                    "Please check your answers and send them again."
                )
            }
            fresh = _new_key(settings, survey)
            return await sync_to_thread(_form, intake, survey, slug, fresh, values, errors, language, 400)
        answers, errors = read_customer_form(
            values, await sync_to_thread(intake.customer_form, survey, language)
        )
        if errors:
            return await sync_to_thread(_form, intake, survey, slug, form_key, values, errors, language, 422)
        outcome = await intake.submit_customer(survey, form_key, answers, settings.customer_team_hourly_cap)
        if outcome is Outcome.NOT_OPEN:
            return _page("customer/not_open.html", language, 409, survey=survey)
        # STORED, HELD (a burst for HR to review) or ALREADY_ANSWERED (a refresh or double click): the same page.
        return Redirect(with_language(f"/c/{slug}/thanks", request, language), status_code=HTTP_303_SEE_OTHER)

    @get("/{slug:str}/thanks", sync_to_thread=False)
    def thanks(self, slug: FromPath[str], request: Request) -> Template:
        return _page("customer/thanks.html", page_language(request))


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
