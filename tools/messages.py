"""The respondents' messages: extract them from the sources (babel.cfg says which) into
src/survey/locale/messages.pot, and bring every language's catalog up to date with it. `make messages` runs it;
tests/test_languages.py extracts the same way to check that every message is translated.

    python tools/messages.py            # extract and update every catalog
    python tools/messages.py init fr    # start a catalog for another language
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
LOCALE_DIR = ROOT / "src" / "survey" / "locale"
TEMPLATE = LOCALE_DIR / "messages.pot"
KEYWORDS = {**DEFAULT_KEYWORDS, "Message": None}  # survey.languages.Message("...", name=value)


def extract() -> Catalog:
    """Every message the sources hold now, with the translators' comments."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    catalog = Catalog(project="survey", charset="utf-8")
    for filename, line, message, comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS, comment_tags=("Translators:",)
    ):
        catalog.add(message, None, [(filename, line)], auto_comments=comments, context=context)
    return catalog


def catalog_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"


def _write(path: Path, catalog: Catalog) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as file:
        write_po(file, catalog, width=110, omit_header=False, sort_output=True, include_lineno=False)


def update() -> list[str]:
    """Write the template and merge it into every catalog; returns what was done, one line per file."""
    template = extract()
    _write(TEMPLATE, template)
    done = [f"{TEMPLATE.relative_to(ROOT)}: {len(template)} messages"]
    for path in sorted(LOCALE_DIR.glob("*/LC_MESSAGES/messages.po")):
        with path.open("rb") as file:
            catalog = read_po(file, locale=path.parent.parent.name)
        catalog.update(template, update_header_comment=False)
        catalog.obsolete.clear()  # the history is in git
        _write(path, catalog)
        missing = sum(1 for m in catalog if m.id and (not m.string or m.fuzzy))
        done.append(f"{path.relative_to(ROOT)}: {missing} to translate or check (empty or fuzzy)")
    return done


def init(language: str) -> str:
    path = catalog_path(language)
    if path.exists():
        return f"{path.relative_to(ROOT)} exists already: run without arguments to update it"
    catalog = Catalog(
        locale=language, project="survey", copyright_holder="the survey project", charset="utf-8", fuzzy=False
    )
    catalog.update(extract())
    _write(path, catalog)
    return f"{path.relative_to(ROOT)}: started; translate every msgstr, then run the tests"


def main(arguments: list[str]) -> int:
    if arguments[:1] == ["init"] and len(arguments) == 2:
        print(init(arguments[1]))
    elif not arguments:
        print("\n".join(update()))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
