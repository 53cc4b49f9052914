"""The Content Security Policy: every page answers with it, its directives exactly; no
template holds an inline script, style or event handler, and no page as rendered (its
server-drawn SVG included) carries one, so the policy blocks nothing the pages need. Every
page each demo role reaches is checked for both in tests/pages/test_crawled_pages.py."""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings

# The policy, directive by directive, as the browser is sent it.
POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
    "base-uri": ["'none'"],
    "object-src": ["'none'"],
}

# Templates are not pages only: the export bundle's data dictionary is a document of its own,
# opened from the bundle's folder, never served by the site (no policy reaches it, and it has
# no site to fetch a stylesheet from): its rules stay in its <style>.
NOT_SERVED = {"dataset/templates/dataset/export_dictionary.html"}


def directives(header: str) -> dict[str, list[str]]:
    """A Content-Security-Policy header as {directive: [sources]}."""
    parts = (p.split() for p in header.split(";") if p.strip())
    return {name: sources for name, *sources in parts}


def templates() -> list[Path]:
    base = Path(settings.BASE_DIR)
    found = [*base.glob("templates/**/*.html"), *base.glob("*/templates/**/*.html")]
    return sorted(p for p in found if ".venv" not in p.parts)


# In a template's text: what a page under the policy may not hold. A <script> must load a
# file (or be a JSON data block, which runs nothing); handlers, javascript: URLs, htmx's hx-on
# and js: values all need inline script or eval.
TEMPLATE_BANS = {
    "<script> without src": re.compile(
        r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/(?:ld\+)?json\")[^>]*>", re.I
    ),
    "<style> element": re.compile(r"<style[\s>]", re.I),
    "style attribute": re.compile(r"\sstyle\s*=", re.I),
    "event handler attribute": re.compile(r"\son[a-z]+\s*=", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
    "hx-on": re.compile(r"\b(?:data-)?hx-on", re.I),
    "js: value": re.compile(r"hx-(?:vals|headers)\s*=\s*['\"]\s*(?:js|javascript):", re.I),
}


# A template's comments are not rendered: they may speak of what they avoid.
COMMENT = re.compile(r"\{#.*?#\}|\{% comment %\}.*?\{% endcomment %\}", re.S)


def test_the_templates_are_found():
    names = {p.name for p in templates()}
    assert {"base.html", "consort_print.html", "people.html"} <= names
    assert len(names) > 60


@pytest.mark.parametrize(
    "template",
    [str(p.relative_to(settings.BASE_DIR)) for p in templates()],
)
def test_no_template_holds_an_inline_script_style_or_handler(template):
    if template in NOT_SERVED:
        pytest.skip("a document of the export bundle, never served by the site")
    text = COMMENT.sub(
        lambda m: "\n" * m.group(0).count("\n"),  # keeps the line numbers
        (Path(settings.BASE_DIR) / template).read_text(encoding="utf-8"),
    )
    found = [
        f"{what}: {m.group(0)!r} at line {text.count(chr(10), 0, m.start()) + 1}"
        for what, pattern in TEMPLATE_BANS.items()
        for m in pattern.finditer(text)
    ]
    assert not found, found


# A <script> of data (json_script) runs nothing: the policy lets it be.
DATA_BLOCKS = ("application/json", "application/ld+json")


class InlineFinder(HTMLParser):
    """What a rendered page holds that the policy would block."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        line = self.getpos()[0]
        data_block = (attrs.get("type") or "").lower() in DATA_BLOCKS
        if tag == "script" and not attrs.get("src") and not data_block:
            self.found.append(f"line {line}: <script> without src")
        if tag == "style":
            self.found.append(f"line {line}: <style> element")
        for name, value in attrs.items():
            if name == "style":
                self.found.append(f"line {line}: style={value!r} on <{tag}>")
            elif name.startswith(("on", "hx-on", "data-hx-on")):
                self.found.append(f"line {line}: {name}= on <{tag}>")
            elif (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"line {line}: {name}=javascript: on <{tag}>")

    handle_startendtag = handle_starttag


def inline_parts(html: str) -> list[str]:
    finder = InlineFinder()
    finder.feed(html)
    return finder.found


def test_the_finder_sees_each_kind_of_inline_part():
    html = (
        '<p style="color:red">a</p><script>go()</script><style>p{}</style>'
        '<button onclick="go()">b</button><a href="javascript:go()">c</a>'
        '<svg><rect style="fill:red"/></svg><div hx-on:click="go()"></div>'
        '<script src="/static/js/app.js"></script><script type="application/json">{}</script>'
    )
    found = inline_parts(html)
    assert len(found) == 7, found


@pytest.mark.django_db
def test_signed_out_pages_and_the_api_carry_the_policy(client):
    for url in ("/accounts/login/", "/accounts/password/reset/", "/api/v1/", "/no-such-page/"):
        answer = client.get(url)
        assert directives(answer["Content-Security-Policy"]) == POLICY, url
    assert not inline_parts(client.get("/accounts/login/").content.decode())


@pytest.mark.django_db
def test_the_api_documentation_alone_allows_data_images_and_nothing_else_more(world, page):
    client = page(world.coord_buc)
    swagger = client.get("/api/docs/")
    assert swagger.status_code == 200
    relaxed = {**POLICY, "img-src": ["'self'", "data:"]}
    assert directives(swagger["Content-Security-Policy"]) == relaxed
    assert not inline_parts(swagger.content.decode())
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.content.decode()
    # ReDoc would need inline styles, a blob worker and an outside image: not served.
    redoc = client.get("/api/redoc/")
    assert (redoc.status_code, redoc["Location"]) == (302, "/api/docs/")


@pytest.mark.django_db
def test_the_admin_pages_carry_the_policy_and_nothing_inline(world, page):
    client = page(world.manager)
    for url in ("/admin/", "/admin/sites/site/", f"/admin/sites/site/{world.buc.pk}/change/"):
        answer = client.get(url)
        assert answer.status_code == 200, url
        assert directives(answer["Content-Security-Policy"]) == POLICY, url
        assert not inline_parts(answer.content.decode()), url


@pytest.mark.django_db
def test_the_imbalance_plot_is_drawn_without_a_style(world, page):
    answer = page(world.stats_unblind).get(
        "/statistics/", {"block_sizes": "2,4", "families": 40, "runs": 5, "seed": 1}
    )
    html = answer.content.decode()
    assert 'class="imbalance-plot"' in html
    assert not inline_parts(html)
