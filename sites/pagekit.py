"""What every page view needs: call a service and turn its refusal into form errors."""

from collections.abc import Callable
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator

from core.errors import NotPermitted, TrialError


def submit(
    form: forms.Form, call: Callable[[dict], Any], fields: Callable[[str], str] | None = None
) -> Any | None:
    """Run the service with the form's cleaned data; on refusal, put the message beside
    the field it names (or above the form) and return None. A refusal for the actor's
    role is a 403, not a form error. `fields` maps a service's field name to the form's."""
    if not form.is_valid():
        return None
    try:
        return call(form.cleaned_data)
    except NotPermitted as exc:
        raise PermissionDenied(exc.message) from exc
    except TrialError as exc:
        field = fields(exc.field) if fields and exc.field else exc.field
        field = field if field in form.fields else None
        form.add_error(field, exc.message)
        return None


def paged(request, items, *, per_page: int = 50, param: str = "page"):
    """One page of a list (never a silent cap), with the other query parameters kept for
    the links to the next and previous pages (`_pager.html`)."""
    page = Paginator(items, per_page).get_page(request.GET.get(param))
    others = request.GET.copy()
    others.pop(param, None)
    page.keep = others.urlencode()
    page.param = param
    return page


def search_text(request, *, limit: int = 40, param: str = "q") -> str:
    """What a list's search box asked for: trimmed and bounded, and without control
    characters (PostgreSQL refuses a NUL in a string, which would otherwise be a 500)."""
    text = request.GET.get(param, "")
    return "".join(c for c in text if c.isprintable()).strip()[:limit]
