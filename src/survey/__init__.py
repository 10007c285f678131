"""survey: internal versus external service quality, measured every quarter and joined through the front line."""

__all__ = ["create_app"]


def __getattr__(name: str):
    # Lazy, so that `survey.models` and the migrations load without the web stack.
    if name == "create_app":
        from survey.web.app import create_app

        return create_app
    raise AttributeError(name)
