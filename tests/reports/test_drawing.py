"""The CONSORT drawing, pure: whatever boxes it is given, it draws well-formed SVG in which
every count stands as a link to its listing and every text is escaped."""

import re
from xml.etree import ElementTree

from hypothesis import given, settings
from hypothesis import strategies as st

from reports.drawing import Box, Column, Flow, Line, drawable, flow_svg

SVG = "{http://www.w3.org/2000/svg}"
texts = st.text(min_size=0, max_size=80)
counts = st.integers(min_value=0, max_value=10**6)
hrefs = st.text(max_size=40).map(lambda t: "/reports/consort/" + t)
lines = st.builds(Line, texts, counts, hrefs, st.integers(0, 1))
boxes = st.builds(Box, texts, counts, hrefs, st.lists(lines, max_size=6).map(tuple))
columns = st.builds(Column, boxes, boxes, boxes)
flows = st.builds(
    Flow, texts, texts, boxes, boxes, boxes, st.lists(columns, min_size=1, max_size=3).map(tuple)
)


def figures(flow: Flow) -> list[tuple[int, str]]:
    every = [flow.assessed, flow.excluded, flow.randomised]
    every += [b for c in flow.columns for b in (c.allocation, c.follow_up, c.analysis)]
    return [(f.count, drawable(f.href)) for b in every for f in (b, *b.lines)]


def squeezed(text: str) -> str:
    return "".join(text.split())


@settings(max_examples=40)
@given(flows)
def test_the_drawing_parses_as_xml_and_is_an_image_with_a_title(flow):
    drawn = flow_svg(flow)
    root = ElementTree.fromstring(drawn)
    # Links inside an image would be unreachable: with links it is a labelled group.
    assert root.tag == f"{SVG}svg" and root.get("role") == ("group" if "<a " in drawn else "img")
    assert root.get("aria-labelledby") == "consort-title consort-desc"
    assert (root.find(f"{SVG}title").text or "") == drawable(flow.title)
    assert (root.find(f"{SVG}desc").text or "") == drawable(flow.description)


@settings(max_examples=40)
@given(flows)
def test_every_count_is_a_link_to_its_listing(flow):
    root = ElementTree.fromstring(flow_svg(flow))
    links = [
        (int(re.sub(r"\D", "", "".join(a.itertext()))), a.get("href")) for a in root.iter(f"{SVG}a")
    ]
    assert sorted(links) == sorted(figures(flow))


@settings(max_examples=40)
@given(flows)
def test_every_label_is_drawn_as_text(flow):
    root = ElementTree.fromstring(flow_svg(flow))
    words = [el for el in root.iter(f"{SVG}text") if el.get("text-anchor") != "end"]
    drawn = squeezed("".join(t for el in words for t in el.itertext()))
    every = [flow.assessed, flow.excluded, flow.randomised]
    every += [b for c in flow.columns for b in (c.allocation, c.follow_up, c.analysis)]
    for box in every:
        assert squeezed(drawable(box.title)) in drawn
        for line in box.lines:
            assert squeezed(drawable(line.label)) in drawn


def test_markup_in_a_label_is_text_not_markup():
    evil = '<script>alert("x")</script> & "quotes"'
    box = Box(evil, 1, '/x?a=1&b="2"', (Line(evil, 2, "/y"),))
    flow = Flow(evil, evil, box, box, box, (Column(box, box, box),))
    svg = flow_svg(flow)
    assert "<script>" not in svg
    root = ElementTree.fromstring(svg)
    assert not list(root.iter(f"{SVG}script"))
    assert root.find(f"{SVG}title").text == evil
    assert {a.get("href") for a in root.iter(f"{SVG}a")} == {'/x?a=1&b="2"', "/y"}


def test_one_column_when_pooled_and_one_per_arm_when_split():
    box = Box("Allocated", 3, "/a")
    one = Flow("t", "d", box, box, box, (Column(box, box, box),))
    two = Flow("t", "d", box, box, box, (Column(box, box, box), Column(box, box, box)))
    assert flow_svg(one).count("<rect") + 6 == flow_svg(two).count("<rect") + 3
