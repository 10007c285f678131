"""The dashboards' heat map as a page shows it: the executive report's function-by-team lines
(`content.organisation`'s `heat_lines`, the very cells the PDF draws), grouped by region, sorted and filtered by
query parameters, a page of rows at a time, every cell stated in words (`content.heat.cell_words`). It computes
no figure of its own.

Pure: no web, no database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from survey.reports.charts import HeatRow
from survey.reports.content.heat import CellWords, HeatLine, cell_words

ROWS_PER_PAGE = 100  # teams on one page of the heat map: about 200 KB of HTML with eleven columns
NAME = "name"
OUTCOME = "outcome"


@dataclass(frozen=True)
class HeatQuery:
    """What the reader asked of the heat map: sort by a function's code, by the outcome or by name; teams whose
    name or code holds `text`; one region's teams (a group's code); a page of rows."""

    sort: str = NAME
    text: str = ""
    region: str = ""
    page: int = 1


@dataclass(frozen=True)
class TableRow:
    code: str | None
    name: str
    unit_id: int | None  # the unit's page, when the reader may open it
    cells: list[CellWords]


@dataclass(frozen=True)
class RegionRows:
    code: str | None  # None: teams with no region
    name: str
    rows: list[TableRow]


@dataclass(frozen=True)
class HeatTable:
    columns: list[tuple[str, str]]  # (sort key, heading): each function, then the customers' outcome
    summary: list[TableRow]  # the scope as a whole and its groups
    regions: list[RegionRows]  # this page's teams, by region
    region_choices: list[tuple[str, str]]  # (code, name) of every region with teams
    query: HeatQuery
    matching: int  # teams that match the filters
    pages: int


def heat_table(
    lines: Sequence[HeatLine],
    columns: Sequence[tuple[str, str]],
    region_of: Mapping[str, tuple[str, str]],
    unit_ids: Mapping[str, int],
    query: HeatQuery,
) -> HeatTable:
    """The heat map's `lines` as a page of a table. `columns` holds a (sort key, heading) per cell of a line;
    `region_of` a team's code -> (its region's code, name); `unit_ids` the codes of units the reader may open. A
    sort key, region or page the table does not have is read as the default (by name, every region, page 1)."""
    keys = [key for key, _ in columns]
    sort = query.sort if query.sort in keys else NAME
    regions = sorted(
        {region_of[c] for line in lines if (c := line.code) and c in region_of}, key=lambda r: r[1]
    )
    region = query.region if query.region in {code for code, _ in regions} else ""
    text = query.text.strip().lower()
    teams = [
        line
        for line in lines
        if not line.emphasis
        and (not region or region_of.get(line.code or "", ("", ""))[0] == region)
        and (not text or text in line.name.lower() or text in (line.code or "").lower())
    ]
    teams.sort(key=_sort_key(keys, sort))
    pages = max(1, -(-len(teams) // ROWS_PER_PAGE))
    page = min(max(1, query.page), pages)
    shown = teams[(page - 1) * ROWS_PER_PAGE : page * ROWS_PER_PAGE]
    grouped: dict[tuple[str, str] | None, list[TableRow]] = {}
    for line in shown:
        grouped.setdefault(region_of.get(line.code or ""), []).append(_row(line, unit_ids))
    return HeatTable(
        columns=list(columns),
        summary=[_row(line, unit_ids) for line in lines if line.emphasis],
        regions=[
            RegionRows(key[0] if key else None, key[1] if key else "Other teams", rows)
            for key, rows in sorted(grouped.items(), key=lambda item: (item[0] is None, item[0] or ("", "")))
        ],
        region_choices=[(code, name) for code, name in regions],
        query=HeatQuery(sort, query.text.strip(), region, page),
        matching=len(teams),
        pages=pages,
    )


def _sort_key(keys: list[str], sort: str):
    """Lowest first by the chosen column (its weakest teams on top), teams without a figure last; else by name."""
    if sort == NAME:
        return lambda line: (line.name.lower(), line.code or "")
    j = keys.index(sort)

    def by_column(line: HeatLine) -> tuple[bool, float, str]:
        value = line.cells[j].value
        return (value is None, value if value is not None else 0.0, line.name.lower())

    return by_column


def _row(line: HeatLine, unit_ids: Mapping[str, int]) -> TableRow:
    unit_id = unit_ids.get(line.code) if line.code is not None else None
    return TableRow(line.code, line.name, unit_id, [cell_words(cell) for cell in line.cells])


def lowest_rows(rows: Sequence[HeatRow], column: int, count: int) -> list[TableRow]:
    """The `count` teams (not groups, not the whole) with the lowest figure in `column`, lowest first, each cell in
    words: the teams that rate a function lowest."""
    teams = [row for row in rows if not row.emphasis and row.cells[column].value is not None]
    teams.sort(key=lambda row: (row.cells[column].value, row.label))
    return [
        TableRow(None, row.label, None, [cell_words(cell) for cell in row.cells]) for row in teams[:count]
    ]
