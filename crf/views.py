"""Pages: the casebook, data entry rendered from the spec, the response with its queries
and verification, the PI's signing page, and the forms dashboard. Thin callers of the
services and selectors."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from core.channels import Channel
from core.errors import NotPermitted, TrialError
from sites.pagekit import paged, search_text
from sites.selectors import roles_at
from trial.config import config_of, words_of
from trial.lookup import search_checked
from trial.selectors import families_visible_to, trials_visible_to

from .due import forms_due
from .entry import form_not_done, response_submit, response_update, response_verify
from .models import FormDefinition, Query, QueryStatus
from .preconditions import (
    UNBLINDED_REFUSAL,
    blinded_assessor_needed,
    is_outcome_form,
    learned_arm,
)
from .queries import query_answer, query_close, query_raise, query_reopen
from .rendering import answers_from_post, stored_answers, widgets
from .selectors import (
    AGE_BANDS,
    casebook,
    current_definitions,
    hides_arm_forms,
    open_queries_by_site_and_age,
    queries_visible_to,
    randomised_on,
    responses_visible_to,
    schedule_of,
)
from .signatures import MEANINGS, casebook_sign
from .validation import check

ANY_TIME = "any"
YES_NO = [("yes", "Yes"), ("no", "No")]


def _form_context(definition: FormDefinition) -> dict:
    """What the field templates need besides the widgets: which fields others depend on
    (changing one re-renders the fields through htmx)."""
    controllers = {f.show_if.field for f in definition.spec.fields if f.show_if}
    return {"controllers": controllers, "yes_no": YES_NO, "definition": definition}


def _family(request, family_id: int):
    return get_object_or_404(families_visible_to(request.user), pk=family_id)


def _hidden(request, family, definition: FormDefinition) -> bool:
    return definition.reveals_arm and hides_arm_forms(request.user, family.site)


def _whole(value: str | None) -> int | None:
    """A posted id or revision; anything but digits is as if none was sent."""
    return int(value) if value and value.isdigit() else None


def _attempt(call) -> dict[str, str] | None:
    """Run a service; its refusal as {field: message} ("" for the form as a whole)."""
    try:
        call()
    except NotPermitted as exc:
        raise PermissionDenied(exc.message) from exc
    except TrialError as exc:
        errors = dict(exc.fields)
        if exc.message not in errors.values():  # each message once
            errors.setdefault("", exc.message)
        return errors
    return None


@login_required
def casebook_page(request, family_id: int):
    family = _family(request, family_id)
    book = casebook(family, request.user)
    roles = roles_at(request.user, family.site)
    signatures = [(s, s.intact) for s in book.signatures]
    return render(
        request,
        "crf/casebook.html",
        {
            "family": family,
            "book": book,
            "signatures": signatures,
            "may_sign": "principal_investigator" in roles,
            "any_time": ANY_TIME,
            "assessor_needed": blinded_assessor_needed(family),
            "learned_arm": learned_arm(request.user, family),
        },
    )


def _entry_definition(request, family, visit: str, form: str) -> FormDefinition:
    definition = current_definitions(family.trial).get(form)
    schedule = schedule_of(family.trial)
    known = (
        form in schedule.any_time
        if visit == ANY_TIME
        else (schedule.visit(visit) is not None and form in schedule.visit(visit).forms)
    )
    if definition is None or not known or _hidden(request, family, definition):
        raise Http404("No such form at this visit.")
    if not roles_at(request.user, family.site) & set(definition.spec.entered_by):
        raise PermissionDenied("Your role does not enter this form.")
    if is_outcome_form(definition) and learned_arm(request.user, family):
        raise PermissionDenied(UNBLINDED_REFUSAL)
    return definition


@login_required
@require_http_methods(["GET", "POST"])
def entry_page(request, family_id: int, visit: str, form: str):
    family = _family(request, family_id)
    definition = _entry_definition(request, family, visit, form)
    safety = config_of(family.trial).monitoring.safety
    if visit == ANY_TIME and safety is not None and form == safety.form:
        # Reported as a safety event, whose clock starts with the report.
        return redirect("safety-report", family_id=family.pk)
    if visit != ANY_TIME:
        existing = family.responses.filter(visit=visit, form=form).first()
        if existing is not None:
            return redirect("crf-response", family_id=family.pk, response_id=existing.pk)
    answers, errors = {}, {}
    if request.method == "POST" and request.POST.get("action") == "not_done":
        errors = (
            _attempt(
                lambda: form_not_done(
                    family=family,
                    form=form,
                    visit="" if visit == ANY_TIME else visit,
                    reason=request.POST.get("reason", ""),
                    actor=request.user,
                    channel=Channel.WEB,
                )
            )
            or {}
        )
        if not errors:
            messages.success(request, f"{definition.title} marked not done.")
            return redirect("crf-casebook", family_id=family.pk)
    elif request.method == "POST":
        answers = answers_from_post(definition.spec, request.POST)
        saved = {}

        def call():
            saved["r"] = response_submit(
                family=family,
                form=form,
                visit="" if visit == ANY_TIME else visit,
                values=answers,
                complete=request.POST.get("action") != "draft",
                actor=request.user,
                channel=Channel.WEB,
            )

        errors = _attempt(call) or {}
        if not errors:
            state = "saved as a draft" if request.POST.get("action") == "draft" else "saved"
            messages.success(request, f"{definition.title} {state}.")
            return redirect("crf-response", family_id=family.pk, response_id=saved["r"].response.pk)
    visit_label = "Any time" if visit == ANY_TIME else schedule_of(family.trial).visit(visit).label
    return render(
        request,
        "crf/entry.html",
        {
            "family": family,
            "definition": definition,
            "visit_label": visit_label,
            "widgets": widgets(definition.spec, answers, errors),
            "errors": errors,
            "reason_needed": False,
            "may_mark_not_done": visit != ANY_TIME
            and not schedule_of(family.trial).visit(visit).before_randomisation,
            **_form_context(definition),
        },
        status=400 if errors else 200,
    )


@login_required
@require_POST
def preview_fields(request, family_id: int, definition_id: int):
    """The fields again, as the answers stand: conditions applied, errors beside fields.
    Writes nothing (htmx, as the user types)."""
    family = _family(request, family_id)
    definition = get_object_or_404(FormDefinition, pk=definition_id, trial=family.trial)
    if _hidden(request, family, definition):
        raise Http404
    answers = answers_from_post(definition.spec, request.POST)
    child = family.screening.child_date_of_birth if family.screening.child_born else None
    result = check(definition.spec, answers, child_born=child)
    return render(
        request,
        "crf/_fields.html",
        {
            "family": family,
            "widgets": widgets(definition.spec, answers, result.errors),
            **_form_context(definition),
        },
    )


# The confirmation shown after each action on a form's page.
DONE_MESSAGES = {
    "save": "Changes saved.",
    "draft": "Draft saved.",
    "verify": "Source-verified.",
    "raise": "Query raised: the site is asked to answer it.",
    "answer": "Query answered: the monitor is asked to close it.",
    "close": "Query closed.",
    "reopen": "Query re-opened.",
}


@login_required
@require_http_methods(["GET", "POST"])
def response_page(request, family_id: int, response_id: int):
    family = _family(request, family_id)
    response = get_object_or_404(
        responses_visible_to(request.user).filter(family=family), pk=response_id
    )
    definition = response.definition
    roles = roles_at(request.user, family.site)
    may_edit = bool(roles & set(definition.spec.entered_by))
    action = request.POST.get("action", "")
    answers, errors = stored_answers(response), {}
    if request.method == "POST":
        post = request.POST
        if action in ("save", "draft"):
            answers = answers_from_post(definition.spec, post)

            def call():
                response_update(
                    response=response,
                    values=answers,
                    reason=post.get("reason", ""),
                    complete=action == "save",
                    revision=_whole(post.get("revision")),
                    actor=request.user,
                    channel=Channel.WEB,
                )
        elif action == "verify":

            def call():
                response_verify(response=response, actor=request.user, channel=Channel.WEB)
        elif action == "raise":

            def call():
                query_raise(
                    response=response,
                    field=post.get("field", ""),
                    text=post.get("text", ""),
                    actor=request.user,
                    channel=Channel.WEB,
                )
        elif action in ("answer", "close", "reopen"):
            query = get_object_or_404(response.queries.all(), pk=_whole(post.get("query")) or 0)

            def call():
                if action == "answer":
                    value = post.get("correction", "").strip()
                    query_answer(
                        query=query,
                        text=post.get("text", ""),
                        correction={query.field: value} if value else None,
                        reason=post.get("reason", ""),
                        actor=request.user,
                        channel=Channel.WEB,
                    )
                elif action == "close":
                    query_close(
                        query=query,
                        text=post.get("text", ""),
                        actor=request.user,
                        channel=Channel.WEB,
                    )
                else:
                    query_reopen(
                        query=query,
                        text=post.get("text", ""),
                        actor=request.user,
                        channel=Channel.WEB,
                    )
        else:
            raise Http404("Unknown action.")
        errors = _attempt(call) or {}
        if not errors:
            messages.success(request, DONE_MESSAGES[action])
            return redirect("crf-response", family_id=family.pk, response_id=response.pk)
        if action not in ("save", "draft"):
            answers = stored_answers(response)
    response.refresh_from_db()
    visit = schedule_of(family.trial).visit(response.visit)
    when = randomised_on(family)
    queries = list(response.queries.prefetch_related("messages__author").order_by("raised_at"))
    return render(
        request,
        "crf/response.html",
        {
            "family": family,
            "response": response,
            "definition": definition,
            "visit": visit,
            "window": visit.window(when)
            if visit and when and not visit.before_randomisation
            else None,
            "in_window": visit.in_window(response.dated_on, when)
            if visit and response.dated_on
            else None,
            "widgets": widgets(
                definition.spec, answers, errors if action in ("save", "draft") else {}
            ),
            "errors": errors,
            "action": action,
            "may_edit": may_edit,
            "is_monitor": "monitor" in roles,
            "may_answer": bool(
                roles & {"site_coordinator", "principal_investigator", "outcome_assessor"}
            ),
            "queries": queries,
            # Questions by their words: a grid's items by the item label.
            "field_keys": [
                (key, definition.spec.slot_label(key)) for key, _ in definition.spec.slots()
            ],
            "reason_needed": response.status != "draft",
            "scores": [(s, response.scores.get(s.key, {})) for s in definition.spec.scores],
            "alerts": [a for a in definition.spec.alerts if a.key in response.alerts],
            **_form_context(definition),
        },
        status=400 if errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def sign_page(request, family_id: int):
    family = _family(request, family_id)
    if "principal_investigator" not in roles_at(request.user, family.site):
        raise PermissionDenied("Only the site's principal investigator signs casebooks.")
    errors = {}
    if request.method == "POST":

        def call():
            casebook_sign(
                family=family,
                password=request.POST.get("password", ""),
                meaning=request.POST.get("meaning", ""),
                actor=request.user,
                channel=Channel.WEB,
            )

        errors = _attempt(call) or {}
        if not errors:
            messages.success(request, "Casebook signed.")
            return redirect("crf-casebook", family_id=family.pk)
    responses = list(family.responses.all())
    return render(
        request,
        "crf/sign.html",
        {
            "family": family,
            "forms": len(responses),
            "drafts": sum(1 for r in responses if r.status == "draft"),
            "open_queries": Query.objects.filter(family=family, status=QueryStatus.OPEN).count(),
            "meanings": MEANINGS,
            "errors": errors,
        },
        status=400 if errors else 200,
    )


@login_required
def dashboard(request):
    search, search_error = search_checked(search_text(request))
    queries = queries_visible_to(request.user).exclude(status=QueryStatus.CLOSED)
    if search and not search_error:
        queries = queries.filter(family__identifier__icontains=search)
    outstanding = forms_due(request.user, search="" if search_error else search)
    open_queries = paged(
        request,
        queries.select_related("response__definition").order_by("raised_at", "pk"),
        param="queries",
    )
    trials = list(trials_visible_to(request.user)[:2])
    return render(
        request,
        "crf/dashboard.html",
        {
            # Visits by their labels (of the one trial the viewer sees).
            "words": words_of(config_of(trials[0])) if len(trials) == 1 else {},
            "outstanding": paged(request, outstanding, param="due"),
            "overdue": outstanding.overdue,
            "by_site": open_queries_by_site_and_age(request.user),
            "age_labels": [label for _, label in AGE_BANDS],
            "open_queries": open_queries,
            "search": search,
            "search_error": search_error,
        },
        status=400 if search_error else 200,
    )
