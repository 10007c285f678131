"""`python -m survey ...`: the `survey` command, for a process started from Python (the tests, the benchmarks)."""

from survey.cli.commands import main

main(prog_name="survey")
