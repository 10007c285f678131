"""`python -m survey.cli ...`: the `survey` command."""

from survey.cli.commands import main

main(prog_name="survey")
