"""Server-drawn SVG charts: well-formed, labelled, escaped, small, no inline style, bars in
proportion to the numbers."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

from fieldkit.reporting import charts
from fieldkit.reporting.charts import Bar, Share

SVG = "{http://www.w3.org/2000/svg}"


def _parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)  # raises on anything that is not well-formed XML


def _rects(svg: ET.Element, css_class: str) -> list[ET.Element]:
    return [r for r in svg.iter(SVG + "rect") if r.get("class") == css_class]


def test_the_funnel_draws_approved_and_pending_in_proportion():
    svg = _parse(
        charts.horizontal_bars(
            "Phễu VNeID",
            [Bar("Cài đặt, mức 1", 60, 20), Bar("Kích hoạt", 40, 0), Bar("Đã mức 2", 0, 0)],
        )
    )
    assert svg.get("role") == "img" and svg.get("aria-label") == "Phễu VNeID"
    assert svg.find(SVG + "title").text == "Phễu VNeID"
    assert svg.get("viewBox").startswith("0 0 360 ")
    approved = _rects(svg, "bar-approved")
    pending = _rects(svg, "bar-pending")
    # The longest bar (80) fills the width; the legend adds one square of each kind.
    assert [float(r.get("width")) for r in approved[:-1]] == [270.0, 180.0]
    assert [float(r.get("width")) for r in pending[:-1]] == [90.0]
    assert float(pending[0].get("x")) == 270.0
    texts = [t.text for t in svg.iter(SVG + "text")]
    assert "60 + 20" in texts and "Đã mức 2" in texts


def test_weekly_columns_stand_on_one_axis():
    svg = _parse(charts.column_bars("Lượt thăm theo tuần", [Bar("46", 2, 0), Bar("47", 1, 3)]))
    approved = _rects(svg, "bar-approved")[:-1]
    pending = _rects(svg, "bar-pending")[:-1]
    bottoms = {round(float(r.get("y")) + float(r.get("height")), 1) for r in approved}
    assert len(bottoms) == 1  # every approved bar starts at the axis
    assert float(approved[0].get("height")) == 2 * float(approved[1].get("height"))
    # The pending part sits on top of the approved one.
    assert round(float(pending[0].get("y")) + float(pending[0].get("height")), 1) == round(
        float(approved[1].get("y")), 1
    )
    assert [t.text for t in svg.iter(SVG + "text")][:4] == ["2", "46", "4", "47"]


def test_coverage_is_a_percentage_per_village():
    svg = _parse(
        charts.coverage(
            "Tỷ lệ hộ đã tiếp cận",
            [Share("Thôn Đông", 1, 3), Share("Thôn Tây", 0, 0), Share("Thôn Bái Đô", 5, 5)],
        )
    )
    texts = [t.text for t in svg.iter(SVG + "text")]
    assert texts == ["Thôn Đông", "33%", "Thôn Tây", "0%", "Thôn Bái Đô", "100%"]
    widths = [float(r.get("width")) for r in _rects(svg, "bar-approved")]
    assert widths == [round(200 * 33 / 100, 1), 200.0]


def test_text_is_escaped_and_no_inline_style_is_used():
    markup = charts.coverage(
        '<script>alert("x")</script> & "Thôn"', [Share('<b onload="x">', 1, 2)]
    )
    assert "<script>" not in markup and "<b " not in markup
    assert "&lt;script&gt;" in markup and "&amp;" in markup
    for chart in (
        markup,
        charts.horizontal_bars("a", [Bar("b", 1, 1)]),
        charts.column_bars("a", [Bar("b", 1, 1)]),
    ):
        assert "style=" not in chart
        _parse(chart)


def test_charts_stay_small_for_a_phone():
    villages = [Share(f"Thôn số {n}", n * 7, 300) for n in range(25)]
    weeks = [Bar(str(n), 120 + n, 30) for n in range(40, 48)]
    funnel = [
        Bar("Cài đặt, mức 1", 5000, 200),
        Bar("Kích hoạt", 4000, 100),
        Bar("Chuyển công an mức 2", 900, 50),
        Bar("Đã mức 2", 700, 20),
    ]
    assert len(charts.horizontal_bars("Phễu VNeID", funnel).encode()) < 3000
    assert len(charts.column_bars("Lượt thăm", weeks).encode()) < 4000
    assert len(charts.coverage("Tỷ lệ", villages).encode()) < 9000  # 25 villages


def test_empty_charts_draw_without_dividing_by_zero():
    """A village with nothing yet still gets a titled chart whose every number is finite
    (a division by zero would raise, or draw NaN, which the browser silently drops)."""
    for markup in (
        charts.horizontal_bars("a", []),
        charts.column_bars("a", []),
        charts.coverage("a", []),
        charts.horizontal_bars("a", [Bar("b", 0, 0)]),
    ):
        svg = _parse(markup)
        assert svg.find(SVG + "title").text == "a"
        for element in svg.iter():
            for name in ("x", "y", "width", "height"):
                if element.get(name) is not None:
                    assert math.isfinite(float(element.get(name))), markup
    zero = _parse(charts.horizontal_bars("a", [Bar("b", 0, 0)]))
    assert [t.text for t in zero.iter(SVG + "text")][:2] == ["b", "0"]
