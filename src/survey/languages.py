"""The languages respondents can answer in.

English is the source: the questionnaire's own wording and the templates are written in it, and every other
language is a translation of it. This module is the one place the list lives; it has no web or database imports,
so the questionnaire wording, the gettext catalogs and the language switcher all read the same list.
"""

from typing import Final

#: Language code (ISO 639-1) -> the language's name in that language, as a switcher shows it.
LANGUAGES: Final[dict[str, str]] = {"en": "English", "de": "Deutsch"}

#: The source language, used when a respondent's language is unknown or has no translation.
DEFAULT: Final = "en"

#: The languages that are translations of the source (every supported language but English).
TRANSLATED: Final[tuple[str, ...]] = tuple(code for code in LANGUAGES if code != DEFAULT)


def is_supported(code: str) -> bool:
    """Whether `code` is one of the supported language codes (exactly, lower case)."""
    return code in LANGUAGES
