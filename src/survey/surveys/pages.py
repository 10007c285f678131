"""The employee survey: a personal link, exchanged for a cookie, leads to one anonymous submission."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.datastructures import Cookie
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from survey.web.deps import IntakeDep, SettingsDep
from survey.surveys.intake import Intake, InvitationView
from survey.surveys.questionnaire import read_internal_form, text_field
from survey.settings import Settings

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
        return self._form(intake, settings, invitation, values={}, errors={})

    @post("/survey")
    async def submit(self, request: Request, intake: IntakeDep, settings: SettingsDep) -> Template | Redirect:
        """The hot path reads nothing: the form names its round, and the claim checks it with the rest."""
        secret = request.cookies.get(SESSION_COOKIE)
        values = await request.form()  # parsed once per request, shared with the CSRF check
        round_id = text_field(values, ROUND_FIELD)
        if not (secret and round_id.isascii() and round_id.isdigit() and len(round_id) <= 9):
            return await sync_to_thread(self._after_refusal, intake, secret)
        sections = intake.cached_sections(int(round_id)) or await sync_to_thread(
            intake.sections, int(round_id)
        )
        reviews, errors = read_internal_form(values, sections)
        if errors:
            return await sync_to_thread(self._with_errors, intake, settings, secret, values, errors)
        if await intake.submit_internal(secret, int(round_id), reviews):
            return Redirect("/survey/thanks", status_code=HTTP_303_SEE_OTHER)
        return await sync_to_thread(self._after_refusal, intake, secret)

    def _with_errors(self, intake: Intake, settings: Settings, secret, values, errors) -> Template:
        invitation = intake.invitation_for_session(secret)
        if page := _state_page(invitation):
            return page
        return self._form(intake, settings, invitation, values=values, errors=errors, status_code=422)

    @staticmethod
    def _after_refusal(intake: Intake, secret: str | None) -> Template | Redirect:
        """Why nothing was stored: no session, already answered, not open; or a page for another round."""
        page = _state_page(intake.invitation_for_session(secret))
        return page or Redirect("/survey", status_code=HTTP_303_SEE_OTHER)

    @get("/survey/thanks", sync_to_thread=False)
    def thanks(self) -> Template:
        return Template("employee/thanks.html")

    @staticmethod
    def _form(intake, settings, invitation, *, values, errors, status_code=200) -> Template:
        return Template(
            "employee/survey.html",
            context={
                "invitation": invitation,
                "round_field": ROUND_FIELD,
                "sections": intake.sections(invitation.round_id),
                "values": values,
                "errors": errors,
                "min_group_size": settings.min_group_size,
                "min_comment_group_size": settings.min_comment_group_size,
            },
            status_code=status_code,
        )
