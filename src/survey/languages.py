"""The languages respondents read: gettext catalogs, compiled at first use, and how a language is chosen.

Everything an employee or a customer reads (pages, messages, mails) is written in English in the code and the
templates, and translated through the catalogs in `locale/<language>/LC_MESSAGES/messages.po`. A language is
supported when it has a catalog. No process-wide locale: every caller names the language it wants (pages carry
`language` in their template context, mails the employee's language).

Python code marks a message it returns with `Message(...)`: English text with named values, translated where it
is shown. Pure: no web or database imports.
"""

from __future__ import annotations

import functools
import io
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

from babel.core import negotiate_locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from jinja2 import Environment, pass_context
from jinja2.runtime import Context

LOCALE_DIR = Path(__file__).parent / "locale"
SOURCE_LANGUAGE = "en"  # the language of the code and the templates
LANGUAGE_NAMES = {"en": "English", "de": "Deutsch"}  # each in its own language, for the switcher
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*")


class Message(str):
    """A message for a respondent: as text, the English sentence with its values filled in; `msgid` and `values`
    let a page show it in the respondent's language (`in_language`). Whole sentences with named placeholders
    ("%(function)s"), never pieces glued together."""

    msgid: str
    values: dict[str, Any]

    def __new__(cls, msgid: str, **values: Any) -> Message:
        made = super().__new__(cls, msgid % values if values else msgid)
        made.msgid = msgid
        made.values = values
        return made

    def in_language(self, language: str) -> str:
        translated = translations(language).gettext(self.msgid)
        return translated % self.values if self.values else translated


@functools.cache
def supported_languages() -> tuple[str, ...]:
    """The languages with a catalog, the source language first."""
    found = sorted(p.parent.parent.name for p in LOCALE_DIR.glob("*/LC_MESSAGES/messages.po"))
    return (SOURCE_LANGUAGE, *(language for language in found if language != SOURCE_LANGUAGE))


def translated_languages() -> tuple[str, ...]:
    """Every supported language but the source: those the questionnaire wording is translated into."""
    return supported_languages()[1:]


def is_supported(language: str | None) -> bool:
    return language in supported_languages()


@functools.cache
def translations(language: str) -> Translations:
    """The language's catalog, compiled in memory the first time it is asked for (no .mo files are kept). An
    unsupported language gets the source text."""
    catalog_path = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if language not in supported_languages() or not catalog_path.is_file():
        return Translations()
    with catalog_path.open("rb") as file:
        catalog = read_po(file, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def chosen_language(*candidates: str | None, fallback: str = SOURCE_LANGUAGE) -> str:
    """The first candidate that is a supported language (a switcher's choice, then a stored one), else
    `fallback`."""
    return next((c for c in candidates if c and is_supported(c)), fallback)


def from_accept_language(header: str | None) -> str | None:
    """The supported language a browser's Accept-Language header prefers most ("de-DE,de;q=0.9" gives "de"), or
    None when it names none of them."""
    preferred: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "")[:1000].split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if _LANGUAGE_TAG.fullmatch(tag) and quality > 0:
            preferred.append((-quality, position, tag))
    ordered = [tag for _, _, tag in sorted(preferred)]
    match = negotiate_locale(ordered, supported_languages(), sep="-", aliases={})
    return match.split("-")[0].lower() if match else None


def long_date(moment: date, language: str) -> str:
    """E.g. "18 January 2027", "18. Januar 2027"."""
    # Translators: a Babel date pattern (d day, MMMM month name, y year), as dates are written in a sentence.
    pattern = translations(language).gettext("d MMMM y")
    return format_date(moment, pattern, locale=language)


def long_time(moment: datetime, language: str) -> str:
    """E.g. "Monday 18 January 2027, 09:00"; the moment in the time zone it carries."""
    # Translators: a Babel pattern (EEEE weekday, d day, MMMM month, y year, HH:mm time), as in a sentence.
    pattern = translations(language).gettext("EEEE d MMMM y, HH:mm")
    return format_datetime(moment, pattern, tzinfo=moment.tzinfo, locale=language)


def weekday_and_date(moment: date, language: str) -> str:
    """E.g. "Monday 18 January", "Montag, 18. Januar"."""
    # Translators: a Babel date pattern (EEEE weekday, d day, MMMM month name), without the year.
    pattern = translations(language).gettext("EEEE d MMMM")
    return format_date(moment, pattern, locale=language)


# --- Jinja2 ----------------------------------------------------------------------------------------------------


def _language_of(context: Context) -> str:
    language = context.get("language")
    return language if isinstance(language, str) else SOURCE_LANGUAGE


@pass_context
def _gettext(context: Context, text: str) -> str:
    return str(translations(_language_of(context)).gettext(text))


@pass_context
def _ngettext(context: Context, singular: str, plural: str, count: int) -> str:
    return str(translations(_language_of(context)).ngettext(singular, plural, count))


@pass_context
def _say(context: Context, text: str) -> str:
    """A message from the code in the page's language (a plain string is shown as it is)."""
    return text.in_language(_language_of(context)) if isinstance(text, Message) else text


@pass_context
def _long_date(context: Context, moment: date) -> str:
    return long_date(moment, _language_of(context))


def install_translations(environment: Environment) -> None:
    """Give templates `_`, `gettext`, `ngettext` and `{% trans %}`, translated into the `language` of each
    rendering's context (English without one); `say(message)` for messages from the code; `long_date`."""
    environment.add_extension("jinja2.ext.i18n")
    environment.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=_gettext, ngettext=_ngettext, newstyle=True
    )
    environment.globals["say"] = _say
    environment.globals["language_choices"] = language_choices
    environment.filters["long_date"] = _long_date


def language_choices(current: str) -> list[tuple[str, str, bool]]:
    """Each supported language: its code, its name in itself, and whether it is the current one."""
    return [(code, LANGUAGE_NAMES.get(code, code), code == current) for code in supported_languages()]
