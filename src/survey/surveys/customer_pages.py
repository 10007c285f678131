"""The customer survey: a front-line team's public link; one response per form, rate-limited per client."""

from __future__ import annotations

import re

from litestar import Controller, Request, Router, get, post
from litestar.concurrency import sync_to_thread
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from survey.web.deps import IntakeDep
from survey.surveys.intake import Intake, Outcome, TeamSurvey
from survey.surveys.questionnaire import read_customer_form, text_field
from survey.settings import Settings
from survey.tokens import new_token

FORM_KEY = "form_key"
_FORM_KEY_SHAPE = re.compile(r"[A-Za-z0-9_-]{32,64}")
_SLUG_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _team(slug: str, intake: Intake) -> TeamSurvey | Template:
    survey = intake.team_survey(slug) if _SLUG_SHAPE.fullmatch(slug) else None
    if survey is None:
        return Template("customer/unknown.html", status_code=404)
    if survey.round_id is None:
        return Template("customer/not_open.html", context={"survey": survey})
    return survey


def _form(
    intake: Intake, survey: TeamSurvey, slug: str, form_key: str, values, errors, status_code=200
) -> Template:
    return Template(
        "customer/survey.html",
        context={
            "survey": survey,
            "form": intake.customer_form(survey),
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
    def show(self, slug: FromPath[str], intake: IntakeDep) -> Template:
        survey = _team(slug, intake)
        if isinstance(survey, Template):
            return survey
        return _form(intake, survey, slug, new_token(), values={}, errors={})

    @post("/{slug:str}")
    async def submit(self, slug: FromPath[str], request: Request, intake: IntakeDep) -> Template | Redirect:
        survey = await sync_to_thread(_team, slug, intake)
        if isinstance(survey, Template):
            return survey
        values = await request.form()
        form_key = text_field(values, FORM_KEY)
        if not _FORM_KEY_SHAPE.fullmatch(form_key):
            # Not a form we served: show a fresh one rather than store something we cannot de-duplicate.
            errors = {FORM_KEY: "This form was incomplete. Please answer again."}
            return await sync_to_thread(_form, intake, survey, slug, new_token(), values, errors, 400)
        answers, errors = read_customer_form(values, await sync_to_thread(intake.customer_form, survey))
        if errors:
            return await sync_to_thread(_form, intake, survey, slug, form_key, values, errors, 422)
        outcome = await intake.submit_customer(survey, form_key, answers)
        if outcome is Outcome.NOT_OPEN:
            return Template("customer/not_open.html", context={"survey": survey}, status_code=409)
        # STORED or ALREADY_ANSWERED (a refresh or double click): either way, the answers are in.
        return Redirect(f"/c/{slug}/thanks", status_code=HTTP_303_SEE_OTHER)

    @get("/{slug:str}/thanks", sync_to_thread=False)
    def thanks(self, slug: FromPath[str]) -> Template:
        return Template("customer/thanks.html")


def customer_router(settings: Settings) -> Router:
    """The customer pages behind a per-client rate limit (counted per server process)."""
    rate_limit = RateLimitConfig(
        rate_limit=("minute", settings.customer_rate_limit), set_rate_limit_headers=True
    )
    return Router(
        path="/", route_handlers=[CustomerSurvey], middleware=[rate_limit.middleware], include_in_schema=False
    )
