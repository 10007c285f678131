"""Charts for the PDF reports and the pages: small standalone SVG documents, drawn with the standard library.

Every chart is meant to be printed in black and white: series differ by colour and also by dash pattern and
marker shape (or, from four series on, each has a small chart of its own), shades by colour and also by a mark,
and every number is written out as text with the n it rests on. No name is cut short: a long one wraps. A
suppressed figure is hatched and says "hidden" (`HIDDEN`), with no number and no n; a figure that does not exist is a
dash. Text from users' data is escaped, and the output depends on the input alone, byte for byte. Embed a chart as
`<img src="{{ data_uri(svg) }}">`: WeasyPrint draws an SVG image faster than inline SVG.

WeasyPrint lays SVG text out letter by letter, HTML text a line at a time. So the figures of a heat map
(`heat_grid`) and of a trend chart (`trend_table`) come as lines of monospaced text, for the templates to set
(and escape) as HTML: over a picture of the shaded cells, and under the chart.

Each chart raises ValueError for input it cannot draw honestly: a scale whose low end is not below its high
end, a value that is not a finite number, a suppressed figure that carries a value, lists of different
lengths.
"""

from __future__ import annotations

import base64
import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

# "Report Sans" is the reports' own DejaVu Sans Condensed (reports/report.css): WeasyPrint draws a chart's text
# with the document's fonts, so a PDF is the same on every machine; a browser showing the chart as an image
# falls back to the system's DejaVu.
FONT = "Report Sans, DejaVu Sans Condensed, DejaVu Sans, sans-serif"
INK, MUTED, FAINT = "#222", "#5a5a5a", "#e4e4e4"
ACCENT = "#1f3b6e"  # dark blue for the emphasised series; it prints as dark grey
# The word for a figure the release gate hides, the same on the pages, in the reports and in the workbook; the
# key's words where a chart has no room for the reasons (the heat maps' notes give them in full).
HIDDEN = "hidden"
HIDDEN_NOTE = "hidden to protect anonymity"
# The heat maps' one colour scale, the same in the PDF reports and on the pages: how a figure compares with the
# organisation's figure for the same function and measure, in five steps, worse in orange and better in blue (a
# diverging palette that deuteranopes and protanopes tell apart), light enough for black figures, and marked in
# text (▼▼ ▼ ▲ ▲▲) so that worse and better differ in greyscale too.
SHADE_LABELS = {
    -2: "much worse than the organisation",
    -1: "worse",
    0: "about the same",
    1: "better",
    2: "much better",
}
SHADE_MARKS = {-2: "▼▼", -1: "▼", 0: "", 1: "▲", 2: "▲▲"}
DASHES = ("", "7 3", "2 2", "8 2 2 2", "4 3", "12 3")
MARKERS = ("circle", "square", "triangle", "diamond", "cross", "x")
_HATCH = (
    '<defs><pattern id="hatch" width="5" height="5" patternUnits="userSpaceOnUse" '
    'patternTransform="rotate(45)">'
    '<rect width="5" height="5" fill="#fff"/><line x1="1" y1="0" x2="1" y2="5" fill="none" stroke="#808080" '
    'stroke-width="1.5"/></pattern></defs>'
)
# DejaVu Sans Condensed's advance widths in hundredths of an em: of " " to "~", then of a few others.
_ASCII_EM = (
    29, 36, 41, 75, 57, 85, 70, 25, 35, 35, 45, 75, 29, 32, 29, 30, 57, 57, 57, 57, 57, 57, 57, 57,
    57, 57, 30, 30, 75, 75, 75, 48, 90, 62, 62, 63, 69, 57, 52, 70, 68, 27, 27, 59, 50, 78, 67, 71,
    54, 71, 62, 57, 55, 66, 62, 89, 62, 55, 62, 35, 30, 35, 75, 45, 45, 55, 57, 49, 57, 55, 32, 57,
    57, 25, 25, 52, 25, 88, 57, 55, 57, 57, 37, 47, 35, 57, 53, 74, 53, 53, 47, 57, 30, 57, 75,
)  # fmt: skip
_OTHER_EM = {"…": 90, "–": 45, "−": 75, "◇": 69}
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _finite(*values: float | None) -> None:
    for value in values:
        if value is not None and not math.isfinite(value):
            raise ValueError(f"{value!r} is not a finite number")


def _not_shown(suppressed: bool, *values: float | None) -> None:
    if suppressed and any(value is not None for value in values):
        raise ValueError("a suppressed figure carries no value: pass None")


@dataclass(frozen=True)
class HeatCell:
    """A value with its n (and its share favourable, where it has one); `shade` is -2 (much worse than the
    organisation), -1 (worse), 0 (about the same), 1 (better), 2 (much better) or None (not shaded); `gap` the value
    minus the organisation's figure it was shaded against. A suppressed cell has value None (and no share), and its
    n, if given, is never shown."""

    value: float | None
    n: int | None = None
    shade: int | None = None
    suppressed: bool = False
    decimals: int = 1
    gap: float | None = None
    favourable: float | None = None  # the share favourable beside the value, a percentage; None: none

    def __post_init__(self) -> None:
        _finite(self.value)
        _not_shown(self.suppressed, self.value)
        _not_shown(self.suppressed, self.favourable)
        if self.shade is not None and self.shade not in GRID_FILLS:
            raise ValueError(f"shade must be -2, -1, 0, 1, 2 or None, not {self.shade!r}")


@dataclass(frozen=True)
class HeatRow:
    label: str
    cells: list[HeatCell]
    emphasis: bool = False  # a total or group row: bold, with a rule above


@dataclass(frozen=True)
class Dot:
    """A value with the interval `low` to `high` around it (both or neither) and a `compare` value (last
    round, the organisation) drawn as a hollow diamond."""

    label: str
    value: float | None
    low: float | None = None
    high: float | None = None
    n: int | None = None
    suppressed: bool = False
    compare: float | None = None
    emphasis: bool = False

    def __post_init__(self) -> None:
        _finite(self.value, self.low, self.high, self.compare)
        _not_shown(self.suppressed, self.value, self.low, self.high)
        if (self.low is None) != (self.high is None):
            raise ValueError("an interval needs both its low and its high end")


@dataclass(frozen=True)
class Series:
    """One line: a value and its n per period; `suppressed[i]` marks a period whose value is hidden."""

    label: str
    values: list[float | None]
    ns: list[int | None]
    suppressed: list[bool] | None = None
    emphasis: bool = False

    def __post_init__(self) -> None:
        hidden = self.suppressed or [False] * len(self.values)
        if not len(self.values) == len(self.ns) == len(hidden):
            raise ValueError(f"series {self.label!r}: values, ns and suppressed differ in length")
        _finite(*self.values)
        for value, suppressed in zip(self.values, hidden, strict=True):
            _not_shown(suppressed, value)


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    n: int | None = None
    suppressed: bool = False
    note: str = ""  # printed after the value, e.g. "below 60%: interpret with care"
    emphasis: bool = False

    def __post_init__(self) -> None:
        _finite(self.value)
        _not_shown(self.suppressed, self.value)


def shade(value: float, reference: float, spread: float, higher_is_better: bool = True) -> int:
    """The heat map's shade of `value` by its gap to `reference` (the organisation's figure), counted in
    `spread`s: -2 when worse by a spread or more, -1 when worse by 0.4 spread or more, 1 and 2 when better by as
    much, else 0. Worse is below the reference when higher is better, above it otherwise. Raises ValueError unless
    spread > 0."""
    _finite(value, reference)
    if not spread > 0:
        raise ValueError(f"spread must be above 0, not {spread!r}")
    # rounded, so that 3.6 against 4.0 is 0.4 below, as it reads, and not 0.39999999999999991
    gap = round(((value - reference) if higher_is_better else (reference - value)) / spread, 9)
    if gap <= -1:
        return -2
    if gap <= -SHADE_STEP:
        return -1
    if gap >= 1:
        return 2
    return 1 if gap >= SHADE_STEP else 0


def data_uri(svg: str) -> str:
    """The chart as a `data:` URI for an `<img src>`."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


# Text and markup


def _clean(text: str) -> str:
    """`text` on one line, without the characters XML cannot hold."""
    return " ".join(_NOT_XML.sub("", str(text)).split())


def _width(text: str, size: float, bold: bool = False) -> float:
    """Estimated width in px of `text` set in DejaVu Sans Condensed at `size` px."""
    em = 0
    for char in text:
        if " " <= char <= "~":
            em += _ASCII_EM[ord(char) - 32]
        else:
            em += _OTHER_EM.get(char) or (100 if unicodedata.east_asian_width(char) in "WF" else 60)
    return em / 100 * size * (1.12 if bold else 1)


def _chars(text: str, px: float, size: float, bold: bool = False) -> int:
    """How many of `text`'s first characters fit in `px`."""
    used = 0.0
    for count, char in enumerate(text):
        used += _width(char, size, bold)
        if used > px:
            return count
    return len(text)


def _fit(text: str, px: float, size: float = 10, bold: bool = False) -> str:
    """`text` on one line, cut short with "…" where it would be wider than `px`."""
    text = _clean(text)
    if _width(text, size, bold) <= px:
        return text
    return text[: _chars(text, px - _width("…", size, bold), size, bold)].rstrip() + "…"


def _wrap(text: str, px: float, size: float, lines: int) -> list[str]:
    """`text` in at most `lines` lines of `px`: broken between words, a word too long for a line hyphenated,
    the last line cut short if need be."""
    out: list[str] = []
    words = _clean(text).split(" ")
    while words and len(out) < lines - 1:
        line = ""
        while words and _width(f"{line} {words[0]}".strip(), size) <= px:
            line = f"{line} {words.pop(0)}".strip()
        if (
            words and _width(words[0], size) > px
        ):  # hyphenated, here if three letters fit, else on a line of its own
            cut = _hyphen(words[0], px - _width(f"{line} ", size) if line else px, size)
            if cut >= 3 or not line:
                hyphen = "" if words[0][cut - 1] in "-/" else "-"
                line, words[0] = f"{line} {words[0][:cut]}{hyphen}".strip(), words[0][cut:]
        out.append(line)
    return out + ([_fit(" ".join(words), px, size)] if words else [])


def _hyphen(word: str, px: float, size: float) -> int:
    """Where to break a word too long for a line: after a hyphen or slash of its own, else, three letters from
    either end at least, the last place that fits of vowel-consonant-vowel (Communi-cations), else of two
    consonants not joined (Work-place)."""
    for k in range(min(_chars(word, px, size), len(word) - 1), 0, -1):
        if word[k - 1] in "-/":
            return k
    cut = min(_chars(word, px - _width("-", size), size), len(word) - 3)
    kind = ["v" if c in "aeiouy" else "c" if c.isalpha() else "-" for c in word.lower()] + ["-"]
    for k in range(cut, 2, -1):
        if kind[k - 1 : k + 2] == ["v", "c", "v"]:
            return k
    for k in range(cut, 2, -1):
        if kind[k - 1 : k + 1] == ["c", "c"] and word[k].lower() not in "hlr":
            return k
    return max(cut, 1)


def _num(value: float, decimals: int, unit: str = "") -> str:
    """`value` with fixed decimals and a true minus sign; never "-0.0"."""
    text = f"{value:.{decimals}f}"
    if not text.lstrip("-").strip("0."):
        text = text.lstrip("-")
    return text.replace("-", "−") + unit


def _c(x: float) -> str:
    """A coordinate, with one decimal at most."""
    text = f"{x:.1f}".removesuffix(".0")
    return "0" if text == "-0" else text


def _el(tag: str, content: str | None = None, /, **attrs: object) -> str:
    """An element: `stroke_width` is written stroke-width, numbers as coordinates; None leaves it out."""
    pairs = [
        f"{name.replace('_', '-')}={quoteattr(_c(v) if isinstance(v, (int, float)) else str(v))}"
        for name, v in attrs.items()
        if v is not None
    ]
    head = " ".join([tag, *pairs])
    return f"<{head}/>" if content is None else f"<{head}>{content}</{tag}>"


def _text(
    x: float,
    y: float,
    text: str,
    size: float = 10,
    anchor: str | None = None,
    fill: str | None = None,
    bold: bool = False,
    italic: bool = False,
    halo: bool = False,
) -> str:
    """A line of text with its baseline at `y`; with `halo`, on a white box that hides the lines behind it."""
    text, box = _clean(text), ""
    if halo:
        w = _width(text, size, bold) + 2
        left = x - {"middle": w / 2, "end": w}.get(anchor or "start", 0)
        box = _el("rect", x=left - 1, y=y - 0.95 * size, width=w + 1, height=1.25 * size, fill="#fff")
    style = {"font_weight": "bold" if bold else None, "font_style": "italic" if italic else None}
    size_ = None if size == 10 else size
    return box + _el("text", escape(text), x=x, y=y, font_size=size_, text_anchor=anchor, fill=fill, **style)


def _line(
    x1: float,
    y1: float,
    x2: float,
    y2: float,
    stroke: str = MUTED,
    width: float = 1.0,
    dash: str | None = None,
) -> str:
    # fill="none": WeasyPrint would fill the (empty) outline, and poppler paints that over what comes later
    attrs = {"fill": "none", "stroke": stroke, "stroke_width": width, "stroke_dasharray": dash}
    return _el("line", x1=x1, y1=y1, x2=x2, y2=y2, **attrs)


def _hatched(x: float, y: float, w: float, h: float, word: bool = True, size: float = 9) -> str:
    """A hatched box; with `word`, saying "hidden" on it where it fits. Never a number."""
    box = _el("rect", x=x, y=y, width=w, height=h, fill="url(#hatch)")
    if not word or _width(HIDDEN, size) + 4 > w:
        return box
    return box + _text(x + w / 2, y + h / 2 + 0.35 * size, HIDDEN, size, "middle", MUTED, halo=True)


def _marker(shape: str, x: float, y: float, color: str, r: float = 3.5) -> str:
    """Circle and triangle filled, square hollow, diamond, cross and x drawn in outline."""
    if shape == "circle":
        return _el("circle", cx=x, cy=y, r=r, fill=color)
    if shape == "square":
        s = r - 0.6
        return _el("rect", x=x - s, y=y - s, width=2 * s, height=2 * s, fill="#fff", stroke=color)
    s = 1.25 * r
    points = {
        "triangle": [(x, y - s), (x + s, y + 0.8 * s), (x - s, y + 0.8 * s), (x, y - s)],
        "diamond": [(x, y - s), (x + s, y), (x, y + s), (x - s, y), (x, y - s)],
        "cross": [(x - r, y), (x + r, y), (x, y), (x, y - r), (x, y + r)],
        "x": [(x - r, y - r), (x + r, y + r), (x, y), (x - r, y + r), (x + r, y - r)],
    }[shape]
    d = "M" + " ".join(f"{_c(a)} {_c(b)}" for a, b in points)
    return _el("path", d=d, fill=color if shape == "triangle" else "none", stroke=color, stroke_width=1.4)


# Layout

# A legend's item: what draws its swatch at (x, middle), the swatch's width, the label.
Legend = tuple[Callable[[float, float], str], float, str]


def _hatch_key(note: str) -> Legend:
    return _key("url(#hatch)"), 18, note


def _key(fill: str) -> Callable[[float, float], str]:
    return lambda x, m: _el("rect", x=x, y=m - 5, width=18, height=10, fill=fill, stroke="#999")


def _scale(scale: tuple[float, float]) -> tuple[float, float]:
    low, high = (float(v) for v in scale)
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(f"a scale runs from a lower to a higher finite number, not {scale!r}")
    return low, high


def _mapper(scale: tuple[float, float], a: float, b: float) -> Callable[[float], float]:
    """A value's position from `a` (the scale's low end) to `b`; values off the scale stay at its ends."""
    low, high = scale
    return lambda v: a + (min(max(v, low), high) - low) / (high - low) * (b - a)


def _ticks(scale: tuple[float, float]) -> tuple[list[float], int]:
    """About six round ticks across the scale, and the decimals their labels need."""
    low, high = scale
    raw = (high - low) / 6
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * 0.999)
    decimals = next(d for d in range(12) if abs(round(step, d) - step) < step * 1e-6)
    first, last = math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9)
    return [round(i * step, decimals + 2) for i in range(first, last + 1)], decimals


def _label_width(labels: Sequence[tuple[str, bool]], width: int, extra: float = 0) -> float:
    widest = max((_width(_clean(label), 10, bold) for label, bold in labels), default=0.0)
    return max(60.0, min(widest + extra + 10, width * 0.3))


LABEL_LEADING = 12  # px between the lines of a wrapped row label (10 px text)


def _label_lines(label: str, px: float, bold: bool) -> list[str]:
    """A row's label in lines of `px`: wrapped, never cut short."""
    return _wrap(label, px / (1.12 if bold else 1), 10, max(len(label), 1)) or [""]


class _Chart:
    """A chart's markup, gathered from the top down: `y` is where the next part goes."""

    def __init__(self, title: str, width: int) -> None:
        if width < 240:
            raise ValueError(f"a chart needs a width of 240 px or more, not {width!r}")
        self.title, self.width, self.y = title, width, 2.0
        self.parts: list[str] = []
        if title:
            self.add(_text(0, 12, _fit(title, width, 11, True), 11, bold=True))
            self.y = 22.0

    def add(self, *markup: str) -> None:
        self.parts.extend(markup)

    def row_label(self, row_h: float, label: list[str], emphasis: bool, rule_to: float) -> None:
        """A row's label, on as many lines as it was wrapped onto; an emphasised row (a total) gets a rule
        above it."""
        if emphasis:
            self.add(_line(0, self.y, rule_to, self.y, INK, 0.8))
        for k, line in enumerate(label):
            self.add(_text(2, self.y + row_h / 2 + 3.5 + LABEL_LEADING * k, line, bold=emphasis))

    def axis(self, scale: tuple[float, float], pos: Callable[[float], float], unit: str) -> None:
        """A horizontal axis with ticks and their labels below."""
        ticks, decimals = _ticks(scale)
        y = self.y + 2
        self.add(_line(pos(scale[0]), y, pos(scale[1]), y))
        for t in ticks:
            self.add(_line(pos(t), y, pos(t), y + 3))
            self.add(_text(pos(t), y + 13, _num(t, decimals, unit), 9, "middle", MUTED))
        self.y += 20

    def document(self, legend: list[Legend]) -> str:
        """The SVG document, with the legend's items in rows under what was drawn."""
        x, row, top = 0.0, 0, self.y + 4
        for draw, swatch_w, label in legend:
            need = swatch_w + 4 + _width(label, 9) + 14
            if x > 0 and x + need > self.width:
                x, row = 0.0, row + 1
            middle = top + 8 + 14 * row
            label = _fit(label, self.width - x - swatch_w - 4, 9)
            self.add(draw(x, middle), _text(x + swatch_w + 4, middle + 3, label, 9))
            x += need
        body, width = "".join(self.parts), self.width
        height = math.ceil(top + (14 * row + 20 if legend else 0))
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="{FONT}" font-size="10" fill="{INK}">'
            + (f"<title>{escape(_clean(self.title))}</title>" if self.title else "")
            + (_HATCH if "url(#hatch)" in body else "")
            + body
            + "</svg>\n"
        )


# The charts


MONO_EM = (
    0.6021  # DejaVu Sans Mono's advance in ems, the same for every character: grid columns line up exactly
)
GRID_SIZES = (7.0, 6.0, 5.0)  # point sizes a grid may be set in (report.css has a class for each)
GRID_LEADING = 1.6  # line height / font size
# A long grid is cut into blocks of this many rows, each with its own picture, so that it can break across pages
# between blocks (a picture cannot break); the template repeats the columns' names on each page.
GRID_BLOCK_ROWS = 6
GRID_HEADER_LINES = 5  # a column's name wraps onto up to this many lines before it would be cut
# A grid's cell fills, dark to white; all light enough for black figures on them.
SHADE_STEP = 0.4  # of a spread: a smaller gap is "about the same"
# Orange to blue through near-white (ColorBrewer's diverging PuOr/RdBu end colours, lightened for black text).
GRID_FILLS = {-2: "#e66101", -1: "#fdb863", 0: "#f4f4f4", 1: "#a6cee3", 2: "#5aa0d0"}


@dataclass(frozen=True)
class Grid:
    """A heat map as lines of monospaced text over a picture of its shaded cells. WeasyPrint lays text out in
    SVG letter by letter, but a line of HTML text at once: a grid of 34 rows by 8 columns renders about ten
    times faster this way, and its figures stay text. Set `header` and `rows` in DejaVu Sans Mono at
    `font_pt` with lines `line_pt` apart, and `shades` (an SVG of the rows' height, `width_pt` wide) behind the
    rows: the figures sit in their cells."""

    header: list[str]
    rows: list[tuple[str, bool]]  # each row's text (a long label wraps onto more lines), whether emphasised
    shades: str
    legend: list[tuple[str, str]]  # (what the swatch shows: shade-2 ... shade1, suppressed, none; its label)
    font_pt: float
    line_pt: float
    width_pt: float
    # the rows in blocks that a page may break between: (how many rows, the picture behind them); default one
    blocks: tuple[tuple[int, str], ...] = ()

    def pieces(self) -> list[tuple[list[tuple[str, bool]], str]]:
        """The rows in blocks, each with the picture behind it: one block unless the grid was cut up."""
        if not self.blocks:
            return [(self.rows, self.shades)]
        pieces, start = [], 0
        for count, picture in self.blocks:
            pieces.append((self.rows[start : start + count], picture))
            start += count
        return pieces


def heat_grid(
    columns: list[str],
    rows: list[HeatRow],
    *,
    width_pt: float = 480,
    suppressed_note: str = HIDDEN_NOTE,
) -> Grid:
    """The heat map of `rows` by `columns`: each cell its value, with its n in brackets where given (give a
    row's n in its label instead when every cell of the row shares it), shaded by its `shade`; suppressed
    cells hatched and saying so, without a number. A label too long for its column wraps onto more lines, never
    cut; the rows come in blocks of `GRID_BLOCK_ROWS` (`Grid.pieces`) for a page to break between."""
    for row in rows:
        if len(row.cells) != len(columns):
            raise ValueError(f"row {row.label!r} has {len(row.cells)} cells for {len(columns)} columns")
    texts = [[_grid_text(cell) for cell in row.cells] for row in rows]
    layout = _grid_layout(columns, rows, texts, width_pt)
    labels = [_wrap_chars(row.label, layout.label_chars - 1, len(row.label)) or [""] for row in rows]
    lines = [
        (
            "\n".join(
                [
                    label[0].ljust(layout.label_chars) + "".join(t.rjust(layout.cell_chars) for t in line),
                    *label[1:],
                ]
            ),
            row.emphasis,
        )
        for row, line, label in zip(rows, texts, labels, strict=True)
    ]
    heights = [len(label) for label in labels]
    blocks = tuple(
        (len(rows[start : start + GRID_BLOCK_ROWS]), _grid_shades(rows, heights, start, len(columns), layout))
        for start in range(0, len(rows), GRID_BLOCK_ROWS)
    )
    return Grid(
        _grid_header(columns, layout),
        lines,
        _grid_shades(rows, heights, 0, len(columns), layout, len(rows)),
        _grid_legend(rows, suppressed_note),
        layout.font_pt,
        layout.line_pt,
        layout.width_pt,
        blocks,
    )


@dataclass(frozen=True)
class _GridLayout:
    """A grid's columns, in characters of a monospaced font, and the point size that fits them in the page."""

    label_chars: int
    cell_chars: int
    columns: int
    font_pt: float

    @property
    def line_pt(self) -> float:
        return self.font_pt * GRID_LEADING

    @property
    def char_pt(self) -> float:
        return self.font_pt * MONO_EM

    @property
    def chars(self) -> int:
        return self.label_chars + self.cell_chars * self.columns

    @property
    def width_pt(self) -> float:
        return self.chars * self.char_pt


def _grid_layout(
    columns: list[str], rows: list[HeatRow], texts: list[list[str]], width_pt: float
) -> _GridLayout:
    cell_chars = 2 + max([len(t) for line in texts for t in line] + [len(HIDDEN), 5])
    label_chars = min(28, max([len(_clean(row.label)) for row in rows] + [8]) + 1)  # longer labels wrap
    # wide enough for the columns' longest words too, if that still fits at the largest size
    words = max((len(word) for column in columns for word in _clean(column).split()), default=0)
    roomier = max(cell_chars, min(words + 2, 16))
    if (label_chars + roomier * len(columns)) * GRID_SIZES[0] * MONO_EM <= width_pt:
        cell_chars = roomier
    chars = label_chars + cell_chars * len(columns)
    font_pt = next((size for size in GRID_SIZES if chars * size * MONO_EM <= width_pt), GRID_SIZES[-1])
    return _GridLayout(label_chars, cell_chars, len(columns), font_pt)


def _grid_header(columns: list[str], layout: _GridLayout) -> list[str]:
    """The columns' names, wrapped in up to `GRID_HEADER_LINES` lines, set flush with the bottom line."""
    heads = [_wrap_chars(column, layout.cell_chars - 1, GRID_HEADER_LINES) for column in columns]
    depth = max((len(head) for head in heads), default=0)
    return [
        " " * layout.label_chars
        + "".join(
            (head[k - depth + len(head)] if k >= depth - len(head) else "").rjust(layout.cell_chars)
            for head in heads
        )
        for k in range(depth)
    ]


def _grid_shades(
    rows: list[HeatRow],
    heights: list[int],
    start: int,
    columns: int,
    layout: _GridLayout,
    count: int = GRID_BLOCK_ROWS,
) -> str:
    """The picture behind `count` of the grid's rows from `start` (each `heights` lines tall): each cell's shade
    or hatch, white rules between the columns, and a rule above each emphasised row."""
    width, line_pt = layout.width_pt, layout.line_pt
    parts: list[str] = []
    rules: list[str] = []  # the rules above totals go on top of everything
    top = 0.0
    for row, lines in zip(rows[start : start + count], heights[start : start + count], strict=True):
        if row.emphasis:
            rules.append(_line(0, top + 0.3, width, top + 0.3, INK, 0.6))
        parts += _row_boxes(row, top, lines * line_pt, layout)
        top += lines * line_pt
    height = top
    for j in range(columns + 1):  # white rules between the columns keep the cells apart
        x = (layout.label_chars + j * layout.cell_chars) * layout.char_pt
        parts.append(_line(x, 0, x, height, "#fff", 1.6))
    body = "".join(parts + rules)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_c(width)}pt" height="{_c(max(height, 1))}pt" '
        f'viewBox="0 0 {_c(width)} {_c(max(height, 1))}">'
        + (_GRID_HATCH if "url(#hatch)" in body else "")
        + body
        + "</svg>\n"
    )


def _row_boxes(row: HeatRow, top: float, row_pt: float, layout: _GridLayout) -> list[str]:
    """A row's shaded boxes. Neighbouring cells of the same look are one box (split again by the white column
    rules): WeasyPrint draws an SVG element at some cost, and a grid has hundreds of cells."""
    boxes, cw, j = [], layout.char_pt, 0
    while j < len(row.cells):
        look = _grid_look(row.cells[j])
        end = j + 1
        while end < len(row.cells) and _grid_look(row.cells[end]) == look:
            end += 1
        if look is not None:
            stroke = "#8c8c8c" if look == 0 else None
            boxes.append(
                _el(
                    "rect",
                    x=(layout.label_chars + j * layout.cell_chars) * cw,
                    y=top + 0.4,
                    width=(end - j) * layout.cell_chars * cw,
                    height=row_pt - 0.8,
                    fill="url(#hatch)" if look == "suppressed" else GRID_FILLS[int(look)],
                    stroke=stroke,
                    stroke_width=0.4 if stroke else None,
                )
            )
        j = end
    return boxes


def _grid_legend(rows: list[HeatRow], suppressed_note: str) -> list[tuple[str, str]]:
    cells = [cell for row in rows for cell in row.cells]
    legend: list[tuple[str, str]] = []
    if any(cell.shade is not None for cell in cells):
        legend += [
            (f"shade{level}", " ".join(filter(None, (SHADE_MARKS[level], SHADE_LABELS[level]))))
            for level in SHADE_LABELS
        ]
    if any(cell.suppressed for cell in cells):
        legend.append(("suppressed", suppressed_note))
    if any(cell.value is None and not cell.suppressed for cell in cells):
        legend.append(("none", "–: no data"))
    return legend


# A lighter hatch than the charts': a grid's "hidden" is text on top of it.
_GRID_HATCH = (
    '<defs><pattern id="hatch" width="4" height="4" patternUnits="userSpaceOnUse" '
    'patternTransform="rotate(45)">'
    '<rect width="4" height="4" fill="#fff"/><line x1="1" y1="0" x2="1" y2="4" fill="none" stroke="#c4c4c4" '
    'stroke-width="1"/></pattern></defs>'
)


def _grid_look(cell: HeatCell) -> int | str | None:
    """What a grid cell's box looks like: hatched, a shade, or no box at all."""
    if cell.suppressed:
        return "suppressed"
    return None if cell.value is None else cell.shade


def _grid_text(cell: HeatCell) -> str:
    if cell.suppressed:
        return HIDDEN
    if cell.value is None:
        return "–"
    value = _num(cell.value, cell.decimals)
    mark = "" if cell.shade is None else SHADE_MARKS[cell.shade]
    return (value if cell.n is None else f"{value} ({cell.n})") + mark


def _cut(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: chars - 1].rstrip() + "…"


def _wrap_chars(text: str, chars: int, lines: int) -> list[str]:
    """`text` in at most `lines` lines of at most `chars` characters, broken between words where it can."""
    out: list[str] = []
    for word in _clean(text).split():
        while len(word) > chars:
            out.append(word[: chars - 1] + "-")
            word = word[chars - 1 :]
        if out and len(out[-1]) + 1 + len(word) <= chars:
            out[-1] += " " + word
        else:
            out.append(word)
    if len(out) > lines:
        rest = " ".join(out[lines - 1 :]).replace("- ", "")
        out = [*out[: lines - 1], _cut(rest, chars)]
    return out


def dot_grid(
    rows: list[Dot],
    *,
    scale: tuple[float, float],
    reference: float | None = None,
    reference_label: str = "",
    compare_label: str = "",
    interval_label: str = "interval",
    unit: str = "",
    decimals: int = 1,
    width_pt: float = 480,
) -> Grid:
    """A dot plot set like a heat grid: a line of monospaced text per item, its label at the left and at the
    right "value [low, high] n N ◇ compare", over a picture drawing between them a dot at the value, a line
    across its interval, a diamond at `compare` (what it is: `compare_label`) and a dashed line at
    `reference`; a last line gives the axis' numbers. Values off the scale are drawn at its end and printed as
    they are. A suppressed row is hatched across the scale and says "hidden"."""
    scale = _scale(scale)
    _finite(reference)
    texts = [_dot_text(row, decimals, unit) for row in rows]
    label_chars = min(30, max([len(_clean(row.label)) for row in rows] + [6]) + 2)
    text_chars = max([len(t) for t in texts] + [10]) + 2
    font_pt = GRID_SIZES[0]
    cw, line_pt = font_pt * MONO_EM, font_pt * GRID_LEADING
    plot_chars = max(20, int(width_pt / cw) - label_chars - text_chars)
    chars = label_chars + plot_chars + text_chars
    left, right = (label_chars + 1) * cw, (label_chars + plot_chars - 1) * cw
    pos = _mapper(scale, left, right)
    lines = [
        (_cut(_clean(row.label), label_chars - 2).ljust(label_chars + plot_chars) + text, row.emphasis)
        for row, text in zip(rows, texts, strict=True)
    ]
    # The axis: each tick's number centred on the character column nearest to it, its mark drawn there.
    ticks, tick_decimals = _ticks(scale)
    axis = [" "] * chars
    columns = []
    for t in ticks:
        label = _num(t, tick_decimals, unit)
        column = round(pos(t) / cw - 0.5)
        start = max(0, min(column - len(label) // 2, chars - len(label)))
        if all(c == " " for c in axis[max(0, start - 1) : start + len(label) + 1]):
            axis[start : start + len(label)] = label
            columns.append((column + 0.5) * cw)
    lines.append(("".join(axis).rstrip(), False))
    height = len(rows) * line_pt
    parts = [_dot_row(row, (i + 0.5) * line_pt, left, right, pos) for i, row in enumerate(rows)]
    if reference is not None:
        parts.append(_line(pos(reference), 0, pos(reference), height, MUTED, 0.8, "3 2"))
    parts.append(_line(left, height + 0.5, right, height + 0.5, MUTED, 0.6))
    parts += [_line(x, height + 0.5, x, height + 2.5, MUTED, 0.6) for x in columns]
    body = "".join(parts)
    total = height + line_pt
    picture = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_c(chars * cw)}pt" height="{_c(total)}pt" '
        f'viewBox="0 0 {_c(chars * cw)} {_c(total)}">'
        + (_GRID_HATCH if "url(#hatch)" in body else "")
        + body
        + "</svg>\n"
    )
    legend = _dot_legend(
        rows, interval_label, compare_label, reference_label if reference is not None else ""
    )
    return Grid([], lines, picture, legend, font_pt, line_pt, chars * cw)


def _dot_row(row: Dot, middle: float, left: float, right: float, pos: Callable[[float], float]) -> str:
    """A dot plot row's picture: its line across the scale, its interval, its dot and its comparison."""
    parts = [_line(left, middle, right, middle, FAINT)]
    if row.suppressed:
        parts.append(_el("rect", x=left, y=middle - 3, width=right - left, height=6, fill="url(#hatch)"))
    if row.low is not None and row.high is not None:
        parts.append(_interval(pos(row.low), pos(row.high), middle, 2.4))
    if row.value is not None:
        parts.append(_el("circle", cx=pos(row.value), cy=middle, r=2.6, fill=(INK, ACCENT)[row.emphasis]))
    if row.compare is not None:  # over the dot and hollow, so both show where they meet
        parts.append(_marker("diamond", pos(row.compare), middle, INK, 2.8))
    return "".join(parts)


def _dot_legend(
    rows: list[Dot], interval_label: str, compare_label: str, reference_label: str
) -> list[tuple[str, str]]:
    legend = [("none", "●: value")]
    if any(row.low is not None for row in rows):
        legend.append(("none", f"├─┤: {interval_label}"))
    if any(row.compare is not None for row in rows):
        legend.append(("none", f"◇: {compare_label or 'comparison'}"))
    if reference_label:
        legend.append(("none", f"dashed line: {reference_label}"))
    if any(row.suppressed for row in rows):
        legend.append(("suppressed", HIDDEN_NOTE))
    return legend


def _interval(a: float, b: float, y: float, half: float = 3) -> str:
    ends = _line(a, y - half, a, y + half, INK) + _line(b, y - half, b, y + half, INK)
    return _line(a, y, b, y, INK, 1.2) + ends


def _dot_text(row: Dot, decimals: int, unit: str) -> str:
    text = HIDDEN if row.suppressed else "–" if row.value is None else _num(row.value, decimals, unit)
    if row.low is not None and row.high is not None:
        text += f" [{_num(row.low, decimals, unit)}, {_num(row.high, decimals, unit)}]"
    if row.n is not None and row.value is not None:
        text += f" n {row.n}"
    if row.compare is not None:
        text += f" ◇ {_num(row.compare, decimals, unit)}"
    return text


# From this many lines on, a trend chart is one small chart per series: more lines on one plot, close together
# as the functions' ratings usually are, cannot be told apart whatever their colours.
PANELS_FROM = 4
# Colour-blind-safe colours (Okabe and Ito) for the lines beside the emphasised one, each with its own dash
# pattern and marker too, so that the lines differ in black and white as well.
SERIES_COLOURS = ("#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#5a5a5a")


def trend_lines(
    periods: list[str],
    series: list[Series],
    *,
    scale: tuple[float, float],
    title: str = "",
    width: int = 640,
    height: int = 220,
    decimals: int = 1,
) -> str:
    """A line per series across the periods, each with its own colour, dash pattern and marker, named at its
    right end (the name wrapped, never cut); a missing or suppressed value breaks the line. The emphasised series
    (every one, when there are two or fewer) has its values printed at its points. From `PANELS_FROM` series on,
    one small chart per series instead (`_trend_panels`). `trend_table` gives every value with its n, to set
    under the chart. `height` is the plot's, title and period labels included."""
    for line in series:
        if len(line.values) != len(periods):
            raise ValueError(f"series {line.label!r}: {len(line.values)} values for {len(periods)} periods")
    scale = _scale(scale)
    if len(series) >= PANELS_FROM:
        return _trend_panels(periods, series, scale, title, width, decimals)
    chart = _Chart(title, width)
    end_w = min(max((_width(_clean(s.label), 9, s.emphasis) for s in series), default=0.0) + 18, 130.0)
    x0, x1 = 30.0, width - end_w - 4
    step = (x1 - x0 - 40) / max(len(periods) - 1, 1)
    xs = [x0 + 20 + i * step for i in range(len(periods))] if len(periods) > 1 else [(x0 + x1) / 2]
    room = step - 4 if len(periods) > 1 else x1 - x0
    heads = [_wrap(period, room, 9, 2) for period in periods]
    lines = max((len(head) for head in heads), default=1)
    bottom = max(chart.y + 60, height - 12 - 10 * lines)
    ypos = _mapper(scale, bottom, chart.y + 8)
    _y_axis(chart, scale, ypos, x0, x1)
    chart.add(_line(x0, bottom, x1, bottom))
    for x, head in zip(xs, heads, strict=True):
        chart.add(*(_text(x, bottom + 13 + 10 * k, line, 9, "middle") for k, line in enumerate(head)))
    styles = [_series_style(k, line) for k, line in enumerate(series)]
    for k in sorted(range(len(series)), key=lambda k: series[k].emphasis):  # the emphasised on top
        _draw_series(chart, series[k], styles[k], xs, ypos)
    printed = [k for k, line in enumerate(series) if line.emphasis or len(series) <= 2]
    for i, x in enumerate(xs):  # the lowest value printed at a period goes below its point, the rest above
        shown = sorted((value, k) for k in printed if (value := series[k].values[i]) is not None)
        for rank, (value, k) in enumerate(shown):
            y = ypos(value) + (13 if rank == 0 and len(shown) > 1 else -6)
            text = _num(value, decimals)
            chart.add(_text(x, y, text, 9, "middle", styles[k][0], series[k].emphasis, halo=True))
    _name_series_ends(chart, series, styles, ypos, x1, bottom, end_w)
    chart.y = max(bottom + 10 + 10 * lines - 8, chart.y)
    return chart.document([])


def _y_axis(
    chart: _Chart,
    scale: tuple[float, float],
    ypos: Callable[[float], float],
    x0: float,
    x1: float,
    size: float = 9,
) -> None:
    """Faint rules across the plot at round values, each labelled at the left."""
    ticks, tick_decimals = _ticks(scale)
    for t in ticks:
        chart.add(_line(x0, ypos(t), x1, ypos(t), FAINT))
        chart.add(_text(x0 - 4, ypos(t) + size / 3, _num(t, tick_decimals), size, "end", MUTED))


def _trend_panels(
    periods: list[str],
    series: list[Series],
    scale: tuple[float, float],
    title: str,
    width: int,
    decimals: int,
) -> str:
    """One small chart per series on the same scale, in rows of three or four: the series drawn in colour with
    its values at its points, the other series faint behind it for comparison, and its name above it (wrapped,
    never cut). Each line is identified by the chart it is in, in colour and in black and white alike."""
    chart = _Chart(title, width)
    columns = 4 if len(series) > 6 else 3
    gap, axis_w, plot_h = 12.0, 22.0, 72.0
    panel_w = (width - gap * (columns - 1)) / columns
    heads = [
        _wrap(period, max((panel_w - axis_w) / max(len(periods), 1) - 2, 20), 8, 2) for period in periods
    ]
    # the first and last periods' labels centred on their points, within the panel
    pad_left, pad_right = (
        max((_width(line, 8) for line in head), default=0) / 2 + 2 for head in (heads[0], heads[-1])
    )
    step = (panel_w - axis_w - pad_left - pad_right) / max(len(periods) - 1, 1)
    head_lines = max((len(head) for head in heads), default=1)
    for first in range(0, len(series), columns):
        row = list(range(first, min(first + columns, len(series))))
        names = {k: _label_lines_at(series[k].label, panel_w - 2, 9.5) for k in row}
        top = chart.y + 11 * max(len(lines) for lines in names.values()) + 6
        bottom = top + plot_h
        ypos = _mapper(scale, bottom, top + 4)
        for column, k in enumerate(row):
            left = column * (panel_w + gap)
            x0, x1 = left + axis_w, left + panel_w
            xs = (
                [x0 + pad_left + i * step for i in range(len(periods))]
                if len(periods) > 1
                else [(x0 + x1) / 2]
            )
            chart.add(
                *(_text(left, chart.y + 10 + 11 * j, line, 9.5, bold=True) for j, line in enumerate(names[k]))
            )
            _y_axis(chart, scale, ypos, x0, x1, 8)
            chart.add(_line(x0, bottom, x1, bottom))
            for x, head in zip(xs, heads, strict=True):
                chart.add(*(_text(x, bottom + 11 + 9 * j, line, 8, "middle") for j, line in enumerate(head)))
            for other in (o for o in range(len(series)) if o != k):  # the others, faint, for comparison
                _draw_series(chart, series[other], ("#cfcfcf", None, "", 0.8), xs, ypos)
            _draw_series(chart, series[k], (ACCENT, None, "circle", 1.8), xs, ypos)
            for x, value in zip(xs, series[k].values, strict=True):
                if value is not None:
                    chart.add(
                        _text(x, ypos(value) - 5, _num(value, decimals), 8, "middle", ACCENT, halo=True)
                    )
        chart.y = bottom + 9 * head_lines + 12
    return chart.document([])


def _label_lines_at(label: str, px: float, size: float) -> list[str]:
    """A name in bold lines of `px` at `size`: wrapped, never cut short."""
    return _wrap(label, px / 1.12, size, max(len(label), 1)) or [""]


def _draw_series(
    chart: _Chart,
    line: Series,
    style: tuple[str, str | None, str, float],
    xs: list[float],
    ypos: Callable[[float], float],
) -> None:
    """A series' line, broken where a value is missing, and a marker at each value."""
    color, dash, shape, stroke = style
    points = [(x, ypos(v)) if v is not None else None for x, v in zip(xs, line.values, strict=True)]
    for run in " ".join(f"{_c(p[0])},{_c(p[1])}" if p else "|" for p in points).split("|"):
        if run.count(",") > 1:  # two points or more: a line; a lone point keeps just its marker
            attributes = {"fill": "none", "stroke": color, "stroke_width": stroke, "stroke_dasharray": dash}
            chart.add(_el("polyline", points=run.strip(), **attributes))
    if shape:  # a series drawn only for comparison has no markers
        chart.add(*(_marker(shape, px, py, color) for px, py in filter(None, points)))


def _name_series_ends(
    chart: _Chart,
    series: list[Series],
    styles: list[tuple[str, str | None, str, float]],
    ypos: Callable[[float], float],
    x1: float,
    bottom: float,
    end_w: float,
) -> None:
    """Each series' name at the right end, beside its last value, wrapped onto more lines where long (never
    cut): the names kept apart, and within the plot."""
    lasts = [[v for v in line.values if v is not None] for line in series]
    ends = sorted((ypos(values[-1]), k) for k, values in enumerate(lasts) if values)
    names = {k: _wrap(series[k].label, (end_w - 18) / 1.12, 9, max(len(series[k].label), 1)) for _, k in ends}
    placed = [end for end, _ in ends]
    for i in range(1, len(placed)):
        placed[i] = max(placed[i], placed[i - 1] + 10 * len(names[ends[i - 1][1]]))
    shift = max(placed[-1] + 10 * (len(names[ends[-1][1]]) - 1) - bottom, 0) if placed else 0
    for end, (_, k) in zip(placed, ends, strict=True):
        color, _, shape, _ = styles[k]
        bold = series[k].emphasis
        chart.add(_marker(shape, x1 + 10, end - shift, color, 3))
        for j, line in enumerate(names[k]):
            chart.add(_text(x1 + 17, end - shift + 3 + 10 * j, line, 9, None, color, bold))
    lowest = [end - shift + 10 * len(names[k]) for end, (_, k) in zip(placed, ends, strict=True)]
    chart.y = max([chart.y, *lowest])


def trend_table(periods: list[str], series: list[Series], decimals: int = 1) -> list[str]:
    """The figures of a trend chart as lines of a monospaced table, a row per series and a column per period:
    each value with its n in brackets, "hidden" or "–"; a long name wraps onto the lines below its row. Set
    as text under the chart: WeasyPrint lays out SVG text letter by letter, HTML text a line at a time."""
    for line in series:
        if len(line.values) != len(periods):
            raise ValueError(f"series {line.label!r}: {len(line.values)} values for {len(periods)} periods")
    cells = [
        [" ".join(_trend_cell(line, i, decimals)).strip() for i in range(len(periods))] for line in series
    ]
    label_chars = min(24, max([len(_clean(line.label)) for line in series] + [6]) + 2)
    width = max([min(len(_clean(p)), 12) for p in periods] + [len(c) for row in cells for c in row] + [6]) + 2
    lines = [" " * label_chars + "".join(_cut(_clean(p), width - 2).rjust(width) for p in periods)]
    for line, row in zip(series, cells, strict=True):  # a long name wraps onto more lines, never cut
        label = _wrap_chars(line.label, label_chars - 2, len(line.label)) or [""]
        lines.append(label[0].ljust(label_chars) + "".join(c.rjust(width) for c in row))
        lines += label[1:]
    return lines


def _series_style(k: int, line: Series) -> tuple[str, str | None, str, float]:
    """Colour, dash pattern, marker and stroke width of the k-th series."""
    color = ACCENT if line.emphasis else SERIES_COLOURS[k % len(SERIES_COLOURS)]
    return color, DASHES[k % len(DASHES)] or None, MARKERS[k % len(MARKERS)], 2.2 if line.emphasis else 1.3


def _trend_cell(line: Series, i: int, decimals: int) -> tuple[str, str]:
    """The table's text for a period: the value and "(n)", or "hidden", or a dash."""
    if line.suppressed and line.suppressed[i]:
        return HIDDEN, ""
    value = line.values[i]
    if value is None:
        return "–", ""
    return _num(value, decimals), "" if line.ns[i] is None else f"({line.ns[i]})"


def bars(
    rows: list[Bar],
    *,
    scale: tuple[float, float],
    title: str = "",
    markers: Sequence[tuple[float, str]] = (),
    unit: str = "",
    width: int = 640,
    decimals: int = 0,
) -> str:
    """Horizontal bars from 0 (or the end of the scale nearest it), each with "value (n N)" at its end and its
    note after, or on a line of its own when it does not fit; a negative bar's figures stand right of 0.
    `markers` are labelled dashed lines, e.g. (60, "60% warning")."""
    scale, chart, row_h = _scale(scale), _Chart(title, width), 18
    _finite(*(value for value, _ in markers))
    markers = sorted((value, label) for value, label in markers if scale[0] <= value <= scale[1])
    texts = [_bar_text(row, decimals, unit) for row in rows]
    label_w = _label_width([(r.label, r.emphasis) for r in rows], width)
    x0, x1 = label_w + 4, width - min(max((_width(t, 9, True) for t in texts), default=0.0) + 26, width * 0.3)
    pos = _mapper(scale, x0, x1)
    zero = pos(0.0)
    placed: list[tuple[int, float, float]] = []  # the markers' labels (level, left, right): not overlapping
    for value, label in markers:
        text = _fit(label, 160, 9)
        half = _width(text, 9) / 2
        x, level = min(max(pos(value), half), width - half), 0
        while any(lv == level and x - half < right + 6 and x + half > left - 6 for lv, left, right in placed):
            level += 1
        placed.append((level, x - half, x + half))
        chart.add(_text(x, chart.y + 9 + 11 * level, text, 9, "middle", MUTED))
    chart.y += 11 * (max((level for level, _, _ in placed), default=-1) + 1) + 2
    starts = [zero if r.value is None or r.value < 0 else pos(r.value) for r in rows]
    ends = [
        s + 12 + _width(t, 9, r.emphasis) + 18 * r.suppressed
        for r, s, t in zip(rows, starts, texts, strict=True)
    ]
    labels = [_label_lines(r.label, label_w - 8, r.emphasis) for r in rows]
    heights = [
        max(
            row_h + 11 * bool(r.note and e + _width(_clean(r.note), 9) > width),
            LABEL_LEADING * len(lines) + 6,
        )
        for r, e, lines in zip(rows, ends, labels, strict=True)
    ]
    bottom = chart.y + sum(heights)
    chart.add(*(_line(pos(value), chart.y - 2, pos(value), bottom, MUTED, 1, "4 3") for value, _ in markers))
    if scale[0] < 0 < scale[1]:
        chart.add(_line(zero, chart.y, zero, bottom, INK, 0.8))
    for row, text, start, end, h, label in zip(rows, texts, starts, ends, heights, labels, strict=True):
        middle = chart.y + row_h / 2
        if row.suppressed:  # a hatched swatch at 0, not a hatched bar: it must not look like a value
            chart.add(_hatched(start, middle - 5.5, 18, 11, word=False))
            start += 18
        elif row.value is not None:
            a, b = sorted((zero, pos(row.value)))
            fill = "#7d7d7d" if row.emphasis else "#c4c4c4"
            bar = {"height": 11, "fill": fill, "stroke": INK, "stroke_width": 0.8}
            chart.add(_el("rect", x=a, y=middle - 5.5, width=max(b - a, 0.8), **bar))
        ink = MUTED if row.value is None else None
        chart.add(_text(start + 4, middle + 3.2, text, 9, fill=ink, bold=row.emphasis, halo=True))
        if row.note:
            x, y = (end, middle + 3.2) if h == row_h else (x0, middle + 14)
            chart.add(_text(x, y, _fit(row.note, width - x, 9), 9, fill=MUTED, italic=True, halo=True))
        chart.row_label(row_h, label, row.emphasis, width)
        chart.y += h
    chart.axis(scale, pos, unit)
    suppressed = any(row.suppressed for row in rows)
    return chart.document([_hatch_key(HIDDEN_NOTE)] if suppressed else [])


BAR_BLOCK_ROWS = 40  # bars in one picture: about a page of an A4 report


def bar_blocks(rows: list[Bar], **options: object) -> list[str]:
    """`bars` of `rows`, a chart per `BAR_BLOCK_ROWS` rows, each with its own scale, markers and key: a long
    chart (a round of hundreds of teams) breaks across pages between them, as a picture cannot break."""
    return [
        bars(rows[start : start + BAR_BLOCK_ROWS], **options)  # type: ignore[arg-type]
        for start in range(0, max(len(rows), 1), BAR_BLOCK_ROWS)
    ]


def _bar_text(row: Bar, decimals: int, unit: str) -> str:
    if row.suppressed:
        return HIDDEN
    if row.value is None:
        return "–"
    return _num(row.value, decimals, unit) + ("" if row.n is None else f" (n {row.n})")
