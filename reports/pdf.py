"""PDF from the same HTML templates as the pages, by WeasyPrint. Nothing is fetched from
outside the project: the stylesheet is the project's own print sheet, read from disk, and a
URL that is not a local file is refused rather than fetched."""

from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from weasyprint import CSS, HTML
from weasyprint.urls import URLFetcher

PRINT_SHEET = "css/print.css"


class _LocalOnly(URLFetcher):
    """WeasyPrint's fetcher, for files of the project only."""

    def fetch(self, url, headers=None):
        if not url.startswith("file://"):
            raise ValueError(f"Not fetched: {url[:60]}")
        path = Path(url.removeprefix("file://")).resolve()
        roots = [Path(settings.BASE_DIR).resolve()]
        if not any(root in path.parents for root in roots):
            raise ValueError(f"Not fetched: {url[:60]}")
        return super().fetch(url, headers)


def pdf_of(template: str, context: dict) -> bytes:
    """The template rendered for print, as PDF bytes."""
    html = render_to_string(template, context)
    sheet = finders.find(PRINT_SHEET)
    stylesheets = [CSS(filename=sheet)] if sheet else []
    return HTML(
        string=html,
        base_url=str(settings.BASE_DIR),
        url_fetcher=_LocalOnly(allowed_protocols=("file",)),
    ).write_pdf(stylesheets=stylesheets)
