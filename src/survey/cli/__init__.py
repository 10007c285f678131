"""The `survey` command: `survey.cli.commands` is the group, each other module a group of commands."""


def __getattr__(name: str) -> object:
    # `survey.cli:main` (the installed script, `from survey.cli import main`), loaded lazily: the command modules
    # import survey.cli.context, which would otherwise load every command first.
    if name == "main":
        from survey.cli.commands import main

        return main
    raise AttributeError(name)
