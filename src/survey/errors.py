"""The one kind of error the product shows people as it is: a request refused for a reason they can fix.

Each capability raises its own kind (`RoundError`, `ScheduleError`, `AccountError`, `NotReleased`, ...), whose
message says what is wrong and where. Pages answer it with a 4xx page, the API with a 4xx body naming the reason,
the command line with the message and exit code 2 (`survey.cli.commands`): never with a traceback.
"""


class Refused(ValueError):
    """A request that cannot be carried out as asked; the message says why, in words for the person asking."""
