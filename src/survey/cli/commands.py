"""The `survey` command: database, server, rounds, invitations, accounts and API tokens, imports, schedules, mail,
results, reports, the teams' links and posters, questionnaire wording in other languages, and the demo. Each group
of commands lives in a module of this package."""

from __future__ import annotations

from typing import Any

import click

from survey.cli import (
    accounts,
    actions,
    analysis,
    demo,
    imports,
    mail,
    posters,
    promises,
    reports,
    rounds,
    schedules,
    server,
    wording,
)
from survey.cli.context import CliError
from survey.errors import Refused


class SurveyCommand(click.Group):
    """Runs a command. A request the product refuses (`survey.errors.Refused`: a round that does not exist, a
    setting with a bad value...) ends with its message and exit code 2, whichever command made it."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Refused as error:
            raise CliError(str(error)) from None


@click.group(cls=SurveyCommand)
def main() -> None:
    """survey: internal versus external service quality. Settings come from SURVEY_* environment variables."""


for command in (
    server.db,
    server.serve,
    rounds.round_group,
    rounds.invitations,
    accounts.user,
    accounts.token,
    imports.roster,
    imports.external,
    schedules.schedule_group,
    schedules.tick,
    mail.mail_group,
    analysis.simulate,
    analysis.linkage,
    reports.report,
    reports.reports,
    reports.export,
    posters.link,
    posters.poster,
    wording.wording_group,
    promises.promises_group,
    actions.actions_group,
    demo.demo,
):
    main.add_command(command)


if __name__ == "__main__":
    main()
