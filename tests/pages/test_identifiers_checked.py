"""A page's search or filter that takes a trial identifier checks its check character: a
mistyped one answers 400 with the message beside the box and in the error summary, instead
of an empty list. Part of an identifier still searches; the right one finds the family.

Which boxes take an identifier is not a hand list alone: a walk finds every box a person
types in on a page (a text or search <input> in a page's template, and a text field of a
page's Django form), and each must be either one of BOXES, tried below with a family's and
a referral's identifier mistyped, or one of NOT_IDENTIFIERS, with what it takes instead. A
new box anywhere fails the walk until it is one or the other. (A <textarea> is prose, a
reason or a note, never one identifier; the API is walked by tests/api/.)"""

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django import forms
from django.apps import apps
from django.conf import settings
from django.urls import get_resolver

from tests.access import another_family_at_buc, crf_family, family_at
from trial.identifiers import CHECK_SYMBOLS

WRONG = "The check character does not match: look at the last character."


@dataclass(frozen=True)
class Box:
    """A box on a page where a person types an identifier, and how to fill it in."""

    where: str  # "template.html:name" for a template's <input>, "module.Form.field" for a form's
    url: str
    name: str  # the parameter the box sends
    who: str  # the World account that uses it
    method: str = "get"
    others: dict = field(default_factory=dict)  # what else the form sends with it


BOXES = [
    Box("trial/screening_list.html:q", "/screening/", "q", "coord_buc"),
    Box("trial/family_list.html:q", "/families/", "q", "coord_buc"),
    Box("crf/dashboard.html:q", "/forms/", "q", "coord_buc"),
    Box("review.forms.EventFilterForm.family", "/audit/", "family", "monitor_buc"),
    Box("trial/deviations.html:family", "/deviations/", "family", "manager"),
    Box(
        "safety/unblinding.html:family",
        "/safety/unblinding/",
        "family",
        "stats_blind",
        method="post",
        others={"action": "request", "reason": "Admitted to hospital."},
    ),
]
SEARCHES = [box.url for box in BOXES if box.name == "q"]

_ANSWER = "a case report form's answer, as its definition asks"
_NAME = "a person's name, relationship or contact"
_SITE = "a site's code, name, trust or local authority"
NOT_IDENTIFIERS = {
    # Templates' own <input>s
    "crf/_fields.html:{{ s.key }}": _ANSWER,
    "crf/response.html:correction": "the corrected value of an answer a query is about",
    "crf/response.html:reason": "the reason for changing an answer",
    "crf/response.html:text": "a data query's question, answer or note",
    "registration/login.html:username": "a username",
    "safety/event.html:reference": "the ethics committee's reference for a report",
    "safety/report.html:referral_to": "whom a safeguarding referral was made to",
    "sites/people.html:q": "people are found by name, username or email",
    # Page forms' text fields
    "dataset.forms.PlanForm.title": "an analysis plan's title",
    "dataset.forms.PlanForm.version": "an analysis plan's version",
    "randomisation.views.ReportForm.block_sizes": "block sizes to simulate, e.g. 4,6",
    "review.forms.EventFilterForm.actor": "a username",
    "review.forms.EventFilterForm.field": "the name of a changed field",
    "review.forms.EventFilterForm.object_id": "a record's number",
    "review.forms.EventFilterForm.object_type": "a kind of record, e.g. Response",
    "sites.forms.AccountCreateForm.first_name": _NAME,
    "sites.forms.AccountCreateForm.last_name": _NAME,
    "sites.forms.AccountCreateForm.username": "a new username",
    "sites.forms.AccountInviteForm.first_name": _NAME,
    "sites.forms.AccountInviteForm.last_name": _NAME,
    "sites.forms.AccountInviteForm.username": "a new username",
    "sites.forms.EndForm.reason": "why a role ends",
    "sites.forms.SiteRegisterForm.code": _SITE,
    "sites.forms.SiteRegisterForm.local_authority": _SITE,
    "sites.forms.SiteRegisterForm.name": _SITE,
    "sites.forms.SiteRegisterForm.nhs_trust": _SITE,
    "sites.forms.SiteUpdateForm.local_authority": _SITE,
    "sites.forms.SiteUpdateForm.name": _SITE,
    "sites.forms.SiteUpdateForm.nhs_trust": _SITE,
    "sites.second_factor_views.CodeForm.code": "a second-factor or recovery code",
    "trial.forms.ConsentVersionForm.version": "a consent form's version, e.g. 1.0",
    "trial.forms.EnrolForm.child_family_name": _NAME,
    "trial.forms.EnrolForm.child_given_name": _NAME,
    "trial.forms.EnrolForm.child_nhs_number": "an NHS number",
    "trial.forms.EnrolForm.p1_family_name": _NAME,
    "trial.forms.EnrolForm.p1_given_name": _NAME,
    "trial.forms.EnrolForm.p1_nhs_number": "an NHS number",
    "trial.forms.EnrolForm.p1_relationship": _NAME,
    "trial.forms.EnrolForm.p2_family_name": _NAME,
    "trial.forms.EnrolForm.p2_given_name": _NAME,
    "trial.forms.EnrolForm.p2_nhs_number": "an NHS number",
    "trial.forms.EnrolForm.p2_relationship": _NAME,
    "trial.forms.EnrolForm.phone": _NAME,
    "trial.forms.EnrolForm.social_worker_contact": _NAME,
    "trial.forms.EnrolForm.social_worker_name": _NAME,
    "trial.forms.ScreeningForm.interpreter_language": "a language",
}

# The walk

TYPED = ("text", "search")
_INPUT = re.compile(r"<input\b[^>]*>")
_ATTRIBUTE = re.compile(r'([\w-]+)="([^"]*)"')
# Not pages of the trial's own: the API (walked by tests/api/), the admin, tests, benchmarks.
_NOT_PAGES = {"api", "tests", "bench", "demo"}


def _ours(path: str | None) -> bool:
    """A file of this project (not of a package in the virtual environment)."""
    if not path:
        return False
    root = Path(settings.BASE_DIR).resolve()
    path = Path(path).resolve()
    return path.is_relative_to(root) and ".venv" not in path.relative_to(root).parts


def _template_dirs() -> list[Path]:
    dirs = [Path(d) for t in settings.TEMPLATES for d in t.get("DIRS", [])]
    dirs += [Path(app.path) / "templates" for app in apps.get_app_configs() if _ours(app.path)]
    return [d for d in dirs if d.is_dir() and d.parts[-2] not in _NOT_PAGES]


def typed_in_templates() -> set[str]:
    """Every text or search <input> in a page's template, as "template.html:name"."""
    found = set()
    for folder in _template_dirs():
        for path in folder.rglob("*.html"):
            for tag in _INPUT.findall(path.read_text()):
                attributes = dict(_ATTRIBUTE.findall(tag))
                kind = attributes.get("type", "text")  # no type is a text box
                if "name" in attributes and any(t in kind for t in TYPED):
                    found.add(f"{path.relative_to(folder).as_posix()}:{attributes['name']}")
    return found


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _page_module(name: str) -> bool:
    module = sys.modules.get(name)
    return (
        _ours(getattr(module, "__file__", None))
        and name.split(".")[0] not in _NOT_PAGES
        and not name.endswith(".admin")
    )


def typed_in_forms() -> set[str]:
    """Every text field of a page's Django form, as "module.Form.field" of the form that
    declares it (a subclass's inherited field is its parent's)."""
    get_resolver().url_patterns  # noqa: B018  (imports every view, and so every form)
    found = set()
    for form in _subclasses(forms.BaseForm):
        if not _page_module(form.__module__):
            continue
        for name, made in form.base_fields.items():
            widget = made.widget
            if not isinstance(widget, forms.TextInput) or widget.input_type not in TYPED:
                continue
            declared = next(
                c for c in reversed(form.__mro__) if name in c.__dict__.get("declared_fields", {})
            )
            found.add(f"{declared.__module__}.{declared.__qualname__}.{name}")
    return found


def test_every_box_a_person_types_in_on_a_page_is_known():
    found = typed_in_templates() | typed_in_forms()
    boxes = {box.where for box in BOXES}
    assert not boxes & NOT_IDENTIFIERS.keys()
    new = found - boxes - NOT_IDENTIFIERS.keys()
    assert not new, (
        f"{sorted(new)}: a box a person types in. If it can take a trial or referral "
        "identifier, check it (trial.lookup) and add it to BOXES; if not, to NOT_IDENTIFIERS"
    )
    gone = (boxes | NOT_IDENTIFIERS.keys()) - found
    assert not gone, f"{sorted(gone)}: no longer on any page; take it out here"


def test_the_walk_finds_boxes_in_templates_and_in_forms():
    assert "trial/deviations.html:family" in typed_in_templates()
    assert "review.forms.EventFilterForm.family" in typed_in_forms()
    # A field a form inherits is its parent's: the audit page's ReviewFilterForm adds none.
    assert not any(".ReviewFilterForm." in name for name in typed_in_forms())


# Each box tried


def _mistyped(identifier: str) -> str:
    return identifier[:-1] + next(c for c in CHECK_SYMBOLS if c != identifier[-1])


def _contexts(answer) -> list:
    found = answer.context if isinstance(answer.context, list) else [answer.context]
    return [value for context in found for value in context.flatten().values()]


@pytest.mark.parametrize("box", BOXES, ids=lambda box: box.where)
@pytest.mark.parametrize("whose", ["family", "referral"])
def test_every_box_refuses_a_mistyped_identifier(world, page, box, whose):
    family = family_at(world, "BUC")
    typed = _mistyped(family.identifier if whose == "family" else family.screening.identifier)
    client = page(getattr(world, box.who))
    answer = getattr(client, box.method)(box.url, {**box.others, box.name: typed})
    assert answer.status_code == 400, answer.status_code
    body = answer.content.decode()
    assert body.count(WRONG) == 2, "once in the error summary, once beside the box"
    assert "There is a problem" in body  # the error summary
    assert typed in body  # kept in the box, to be put right
    if ":" in box.where:  # a template's own <input>: the page is that template's
        template = box.where.split(":")[0]
        assert template in [t.name for t in answer.templates]
    else:  # a form's field: the page's form has the message on that field
        module, form, name = box.where.rsplit(".", 2)
        declared = getattr(sys.modules[module], form)
        shown = [f for f in _contexts(answer) if isinstance(f, declared)]
        assert shown and all(f.errors.get(name) == [WRONG] for f in shown)


@pytest.mark.parametrize("box", [b for b in BOXES if b.method == "get"], ids=lambda box: box.where)
def test_every_filter_takes_the_right_identifier_in_any_case(world, page, box):
    family = family_at(world, "BUC")
    client = page(getattr(world, box.who))
    for typed in (family.identifier, family.identifier.lower()):
        answer = client.get(box.url, {box.name: typed})
        assert answer.status_code == 200 and WRONG not in answer.content.decode()


# The searches and the audit trail in more detail


def _shows_the_error(answer, field: str) -> None:
    assert answer.status_code == 400
    body = answer.content.decode()
    assert body.count(WRONG) == 2, "once in the error summary, once beside the field"
    assert 'data-testid="error-summary"' in body
    assert f'data-field="{field}"' in body and "nhsuk-form-group--error" in body


@pytest.mark.parametrize("url", SEARCHES)
def test_a_search_for_an_identifier_with_a_wrong_check_character_is_400(world, page, url):
    family = family_at(world, "BUC")
    answer = page(world.coord_buc).get(url, {"q": _mistyped(family.identifier)})
    _shows_the_error(answer, "q")
    assert 'href="#q"' in answer.content.decode()
    assert _mistyped(family.identifier) in answer.content.decode()  # kept in the box


def test_a_referral_s_identifier_mistyped_is_400_on_the_screening_log(world, page):
    family = family_at(world, "BUC")
    answer = page(world.coord_buc).get(
        "/screening/", {"q": _mistyped(family.screening.identifier).lower()}
    )
    _shows_the_error(answer, "q")


@pytest.mark.parametrize("url", SEARCHES)
def test_part_of_an_identifier_still_searches(world, page, url):
    family = crf_family(world, "BUC")
    other = another_family_at_buc(world)
    client = page(world.coord_buc)
    answer = client.get(url, {"q": family.identifier[:-2]})  # RC-BUC-0001, no check character
    assert answer.status_code == 200
    if url != "/screening/":
        assert family.identifier in answer.content.decode()
        assert other.identifier not in answer.content.decode()
    assert WRONG not in answer.content.decode()


def test_the_right_identifier_finds_the_family(world, page):
    family = crf_family(world, "BUC")
    other = another_family_at_buc(world)
    client = page(world.coord_buc)
    for url in ("/families/", "/forms/"):
        for typed in (family.identifier, family.identifier.lower()):
            answer = client.get(url, {"q": typed})
            assert answer.status_code == 200
            assert family.identifier in answer.content.decode()
            assert other.identifier not in answer.content.decode()
    answer = client.get("/screening/", {"q": family.screening.identifier})
    assert answer.status_code == 200
    assert family.screening.identifier in answer.content.decode()
    assert other.screening.identifier not in answer.content.decode()


def test_the_audit_trail_s_family_filter_checks_the_identifier(world, page):
    family = family_at(world, "BUC")
    client = page(world.monitor_buc)
    answer = client.get("/audit/", {"family": _mistyped(family.identifier)})
    _shows_the_error(answer, "family")
    right = client.get("/audit/", {"family": family.identifier.lower()})
    assert right.status_code == 200 and WRONG not in right.content.decode()
    assert family.identifier in right.content.decode()


def test_the_audit_export_refuses_a_mistyped_family(world, page):
    family = family_at(world, "BUC")
    answer = page(world.monitor_buc).get(
        "/audit/export.csv", {"family": _mistyped(family.identifier)}
    )
    assert answer.status_code == 400
    assert "family" in answer.content.decode() and WRONG in answer.content.decode()
