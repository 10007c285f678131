"""Reading posted forms: fields as text, cleaned of what no database should store.

Pure (no web framework): a form is any mapping of field names to values, as Litestar's form data is.
"""

from __future__ import annotations

from collections.abc import Mapping


def text_field(form: Mapping[str, object], name: str) -> str:
    """A form field as text; "" when missing or not text (an uploaded file). A repeated field gives its first
    value, as a multidict does."""
    value = form.get(name)
    return value if isinstance(value, str) else ""


def clean_text(raw: object) -> str:
    """Text as typed, minus what no database should store (NUL) and surrounding white space. Anything that is
    not text (an uploaded file in a multipart post) counts as nothing."""
    return raw.replace("\x00", "").strip() if isinstance(raw, str) else ""
