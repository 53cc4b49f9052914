"""The recruitment chart, pure: well-formed SVG for any months and counts, an image with a
title and description, every month on its axis, and every text escaped."""

import xml.etree.ElementTree as ET
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from reports.chart import Point, chart_description, cumulative_chart, month_label
from reports.projection import months_from

SVG = "{http://www.w3.org/2000/svg}"

# Text an XML document can hold (no control characters, no lone surrogates).
texts = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
    max_size=40,
)


@st.composite
def charts(draw):
    first = draw(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 1, 1)))
    length = draw(st.integers(min_value=0, max_value=48))
    months = list(months_from(first, first))
    while len(months) < length:
        last = months[-1]
        months.append(date(last.year + last.month // 12, last.month % 12 + 1, 1))
    months = months[:length]
    done = draw(st.integers(min_value=0, max_value=length))
    with_target = draw(st.booleans())
    total, points = 0, []
    for i, month in enumerate(months):
        total += draw(st.integers(min_value=0, max_value=500))
        target = draw(st.floats(min_value=0, max_value=10_000)) if with_target else None
        points.append(Point(month, total if i < done else None, target))
    return points


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


@given(charts(), texts, texts)
def test_the_chart_is_an_image_with_every_month_and_its_texts(points, title, description):
    root = _parse(cumulative_chart(points, title=title, description=description))
    assert root.tag == f"{SVG}svg" and root.attrib["role"] == "img"
    assert (root.find(f"{SVG}title").text or "") == title
    assert (root.find(f"{SVG}desc").text or "") == description
    labelled = root.attrib["aria-labelledby"].split()
    assert labelled == [root.find(f"{SVG}title").attrib["id"], root.find(f"{SVG}desc").attrib["id"]]
    labels = [t.text for t in root.iter(f"{SVG}text")]
    for point in points:
        assert month_label(point.month) in labels
    assert "Families randomised (total so far)" in labels
    assert "Month (figures at the end of each month)" in labels


def test_text_is_escaped():
    points = [Point(date(2026, 1, 1), 1, 2.0)]
    svg = cumulative_chart(points, title='<script>alert("x")</script> & co', description="a<b")
    assert "<script>" not in svg
    root = _parse(svg)
    assert root.find(f"{SVG}title").text == '<script>alert("x")</script> & co'
    assert root.find(f"{SVG}desc").text == "a<b"


def test_the_target_line_is_drawn_only_with_a_plan():
    months = list(months_from(date(2026, 1, 1), date(2026, 6, 1)))
    with_plan = cumulative_chart(
        [Point(m, i, i * 2.0) for i, m in enumerate(months)], title="t", description="d"
    )
    without = cumulative_chart([Point(m, i, None) for i, m in enumerate(months)], title="t",
                               description="d")  # fmt: skip
    assert "Target on the plan" in with_plan and "stroke-dasharray" in with_plan
    assert "Target on the plan" not in without and "stroke-dasharray" not in without


def test_no_months_still_draws_a_chart():
    root = _parse(cumulative_chart([], title="t", description=chart_description([], target=9)))
    assert "No months to show" in [t.text for t in root.iter(f"{SVG}text")]


def test_the_description_says_where_the_count_stands():
    points = [
        Point(date(2026, 1, 1), 0, 5.5),
        Point(date(2026, 2, 1), 3, 11.3),
        Point(date(2026, 3, 1), None, 17.0),
    ]
    assert chart_description(points, target=150) == (
        "From Jan 2026 to Mar 2026. By the end of Feb 2026, 3 randomised against 11 on the "
        "plan. The target is 150."
    )
