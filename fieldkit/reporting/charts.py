"""Charts drawn on the server as inline SVG (issue 5 §6): no chart library, nothing to run in
the browser, a few hundred bytes to a few KB each.

Pure functions from numbers to markup. Every piece of text is escaped. No `style` attribute
(the Content-Security-Policy forbids inline styles): shapes carry CSS classes (`bar-approved`,
`bar-pending`, `chart-label`, …, coloured in app.css) and SVG presentation attributes. Each
chart is `role="img"` with a <title> and an aria-label; the page shows the same numbers in a
table beside it, which is the accessible version. A `viewBox` lets it scale to the phone's width.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from fieldkit.i18n import N_
from fieldkit.text import thousands

WIDTH = 360  # viewBox units; the chart scales to its container
# The legend's two words, Vietnamese unless the page passes them in the reader's language
# (the charts are drawn here, with no request to know it).
LEGEND = (N_("Đã duyệt"), N_("Chờ duyệt"))


@dataclass(frozen=True)
class Bar:
    """One bar: approved part drawn solid, pending part lighter after it."""

    label: str
    approved: int
    pending: int = 0

    @property
    def total(self) -> int:
        return self.approved + self.pending


def _n(value: float) -> str:
    """A coordinate without needless decimals."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _svg(title: str, height: float, body: list[str], css_class: str) -> str:
    title = escape(title)
    return (
        f'<svg class="chart {css_class}" viewBox="0 0 {WIDTH} {_n(height)}" '
        f'role="img" aria-label="{title}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{title}</title>{''.join(body)}</svg>"
    )


def _legend(y: float, words: tuple[str, str]) -> list[str]:
    approved, pending = (escape(word) for word in words)
    return [
        f'<rect class="bar-approved" x="0" y="{_n(y)}" width="10" height="10"/>',
        f'<text class="chart-legend" x="14" y="{_n(y + 9)}">{approved}</text>',
        f'<rect class="bar-pending" x="84" y="{_n(y)}" width="10" height="10"/>',
        f'<text class="chart-legend" x="98" y="{_n(y + 9)}">{pending}</text>',
    ]


def horizontal_bars(
    title: str, bars: Sequence[Bar], *, of: int | None = None, legend: tuple[str, str] = LEGEND
) -> str:
    """One labelled bar per row, longest = full width (or `of` = full width, e.g. the number
    of residents). The VNeID funnel: installed → level 1 → activated → level 2."""
    scale = max([of or 0, *(bar.total for bar in bars), 1])
    row, label_h, bar_h = 34, 14, 14
    body = []
    for index, bar in enumerate(bars):
        y = index * row
        approved_w = WIDTH * bar.approved / scale
        pending_w = WIDTH * bar.pending / scale
        value = thousands(bar.approved)
        if bar.pending:
            value += f" + {thousands(bar.pending)}"
        body.append(f'<text class="chart-label" x="0" y="{_n(y + 11)}">{escape(bar.label)}</text>')
        body.append(
            f'<text class="chart-value" x="{WIDTH}" y="{_n(y + 11)}" '
            f'text-anchor="end">{escape(value)}</text>'
        )
        body.append(
            f'<rect class="bar-track" x="0" y="{_n(y + label_h + 2)}" width="{WIDTH}" '
            f'height="{bar_h}" rx="3"/>'
        )
        if approved_w:
            body.append(
                f'<rect class="bar-approved" x="0" y="{_n(y + label_h + 2)}" '
                f'width="{_n(approved_w)}" height="{bar_h}" rx="3"/>'
            )
        if pending_w:
            body.append(
                f'<rect class="bar-pending" x="{_n(approved_w)}" '
                f'y="{_n(y + label_h + 2)}" width="{_n(pending_w)}" height="{bar_h}" '
                f'rx="3"/>'
            )
    height = len(bars) * row + 4
    body += _legend(height, legend)
    return _svg(title, height + 14, body, "chart-hbars")


def column_bars(title: str, bars: Sequence[Bar], *, legend: tuple[str, str] = LEGEND) -> str:
    """Vertical bars side by side, one per period (weekly visits), labels under them."""
    top, plot_h, label_h = 14, 96, 16
    scale = max([*(bar.total for bar in bars), 1])
    slot = WIDTH / max(len(bars), 1)
    width = slot * 0.62
    body = [
        f'<line class="chart-axis" x1="0" y1="{top + plot_h}" x2="{WIDTH}" y2="{top + plot_h}"/>'
    ]
    for index, bar in enumerate(bars):
        x = index * slot + (slot - width) / 2
        approved_h = plot_h * bar.approved / scale
        pending_h = plot_h * bar.pending / scale
        base = top + plot_h
        if approved_h:
            body.append(
                f'<rect class="bar-approved" x="{_n(x)}" y="{_n(base - approved_h)}" '
                f'width="{_n(width)}" height="{_n(approved_h)}"/>'
            )
        if pending_h:
            body.append(
                f'<rect class="bar-pending" x="{_n(x)}" '
                f'y="{_n(base - approved_h - pending_h)}" width="{_n(width)}" '
                f'height="{_n(pending_h)}"/>'
            )
        middle = _n(x + width / 2)
        body.append(
            f'<text class="chart-value" x="{middle}" '
            f'y="{_n(base - approved_h - pending_h - 3)}" text-anchor="middle">'
            f"{thousands(bar.total)}</text>"
        )
        body.append(
            f'<text class="chart-label" x="{middle}" y="{_n(base + label_h - 3)}" '
            f'text-anchor="middle">{escape(bar.label)}</text>'
        )
    height = top + plot_h + label_h + 4
    body += _legend(height, legend)
    return _svg(title, height + 14, body, "chart-columns")


@dataclass(frozen=True)
class Share:
    """A part of a whole, as a percentage bar: households reached of the village's."""

    label: str
    part: int
    whole: int

    @property
    def percent(self) -> int:
        return (200 * self.part + self.whole) // (2 * self.whole) if self.whole else 0


def coverage(title: str, shares: Sequence[Share]) -> str:
    """One bar per village from 0 to 100 %, the percentage written after it."""
    row, label_w, bar_h = 22, 120, 12
    plot_w = WIDTH - label_w - 40
    body = []
    for index, share in enumerate(shares):
        y = index * row
        label = share.label if len(share.label) <= 18 else share.label[:17] + "…"
        body.append(f'<text class="chart-label" x="0" y="{_n(y + 13)}">{escape(label)}</text>')
        body.append(
            f'<rect class="bar-track" x="{label_w}" y="{_n(y + 3)}" width="{plot_w}" '
            f'height="{bar_h}" rx="3"/>'
        )
        width = plot_w * min(share.percent, 100) / 100
        if width:
            body.append(
                f'<rect class="bar-approved" x="{label_w}" y="{_n(y + 3)}" '
                f'width="{_n(width)}" height="{bar_h}" rx="3"/>'
            )
        body.append(
            f'<text class="chart-value" x="{WIDTH}" y="{_n(y + 13)}" '
            f'text-anchor="end">{share.percent}%</text>'
        )
    return _svg(title, max(len(shares), 1) * row + 4, body, "chart-coverage")
