"""Pages: the safety listing (and its CSV), one event with its clock and the step each
role may take, the site's report of a new event, and emergency unblinding. Thin callers of
the services and selectors."""

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from core.channels import Channel
from core.csvfile import csv_download, csv_lines
from core.errors import NotPermitted, TrialError
from core.roles import Role
from crf.rendering import answers_from_post, widgets
from crf.selectors import current_definitions
from sites.selectors import roles_at, sites_visible_to
from trial.lookup import family_identifier_typed
from trial.selectors import families_visible_to

from .models import EmergencyUnblinding, SafetyStatus
from .selectors import (
    CSV_HEADER,
    KINDS,
    RELATEDNESS,
    SERIOUSNESS,
    counts_of,
    csv_rows,
    may_read_safety,
    safety_events_visible_to,
    safety_filter,
    safety_listing,
    steps_of,
    unblindings_visible_to,
)
from .services import sae_assess, sae_follow_up, sae_rec_report, sae_report, sae_review, safety_form
from .unblinding import unblinding_decide, unblinding_request, unblinding_show

CHOICES = {
    "kind": [("sae", "Serious adverse event"), ("safeguarding", "Safeguarding incident")],
    "status": SafetyStatus.choices,
}


def _attempt(call) -> dict[str, str] | None:
    """Run a service; its refusal as {field: message} ("" for the form as a whole)."""
    try:
        call()
    except NotPermitted as exc:
        raise PermissionDenied(exc.message) from exc
    except TrialError as exc:
        errors = dict(exc.fields)
        if exc.message not in errors.values():
            errors.setdefault("", exc.message)
        return errors
    return None


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


@login_required
@require_GET
def safety_list_page(request):
    if not may_read_safety(request.user):
        raise PermissionDenied(
            "Safety events record relatedness to the intervention, which can tell a family's "
            "arm: they are not shown to a blinded role."
        )
    try:
        wanted = safety_filter(request.GET, request.user)
    except NotPermitted as exc:
        raise PermissionDenied(exc.message) from exc
    except TrialError as exc:
        return render(
            request,
            "safety/list.html",
            {"errors": {exc.field or "": exc.message}, "rows": [], **_list_context(request)},
            status=400,
        )
    rows = safety_listing(request.user, wanted)
    if request.GET.get("format") == "csv":
        stamp = timezone.localdate().isoformat()
        return csv_download(
            csv_lines(CSV_HEADER, csv_rows(rows)), filename=f"safety-events-{stamp}.csv"
        )
    csv_query = request.GET.copy()
    csv_query["format"] = "csv"
    return render(
        request,
        "safety/list.html",
        {
            "rows": rows,
            "counts": counts_of(rows),
            "csv_query": csv_query.urlencode(),
            **_list_context(request),
        },
    )


def _list_context(request) -> dict:
    return {
        "sites": sites_visible_to(request.user).order_by("code"),
        "chosen": request.GET,
        "kinds": CHOICES["kind"],
        "statuses": CHOICES["status"],
        "seriousness": [(s, s.replace("_", " ").capitalize()) for s in SERIOUSNESS],
        "relatedness": [(r, r.capitalize()) for r in RELATEDNESS],
        "kind_keys": KINDS,
    }


def _event(request, event_id: int):
    return get_object_or_404(safety_events_visible_to(request.user), pk=event_id)


ACTIONS = {
    "assess": "Assessment signed.",
    "review": "Review recorded.",
    "follow_up": "Follow-up report recorded.",
    "rec": "Report to the ethics committee recorded.",
}


@login_required
@require_http_methods(["GET", "POST"])
def safety_event_page(request, event_id: int):
    event = _event(request, event_id)
    errors: dict[str, str] = {}
    action = request.POST.get("action", "")
    if request.method == "POST" and action in ACTIONS:
        post = request.POST
        calls = {
            "assess": lambda: sae_assess(
                event=event,
                seriousness=post.getlist("seriousness"),
                relatedness=post.get("relatedness", ""),
                expectedness=post.get("expectedness", ""),
                password=post.get("password", ""),
                actor=request.user,
                channel=Channel.WEB,
            ),
            "review": lambda: sae_review(
                event=event,
                relatedness=post.get("relatedness", ""),
                expectedness=post.get("expectedness", ""),
                note=post.get("note", ""),
                actor=request.user,
                channel=Channel.WEB,
            ),
            "follow_up": lambda: sae_follow_up(
                event=event,
                outcome=post.get("outcome", ""),
                note=post.get("note", ""),
                actor=request.user,
                channel=Channel.WEB,
            ),
            "rec": lambda: _rec(request, event),
        }
        errors = _attempt(calls[action]) or {}
        if not errors:
            messages.success(request, ACTIONS[action])
            return redirect("safety-event", event_id=event.pk)
    event.refresh_from_db()
    roles = roles_at(request.user, event.family.site)
    spec = event.response.spec
    outcome_field = spec.field(safety_form(event.family).outcome_field)
    outcomes = dict(outcome_field.choices) if outcome_field else {}
    follow_ups = list(event.follow_ups.select_related("reported_by"))
    for f in follow_ups:
        f.outcome_shown = outcomes.get(f.outcome, f.outcome)
    return render(
        request,
        "safety/event.html",
        {
            "event": event,
            "values": event.response.values,
            "spec": spec,
            "steps": steps_of(event, timezone.now()),
            "follow_ups": follow_ups,
            "facts": _facts(event),
            "errors": errors,
            "action": action,
            "may_assess": Role.PRINCIPAL_INVESTIGATOR in roles
            and event.status == SafetyStatus.REPORTED,
            "may_review": Role.CHIEF_INVESTIGATOR in roles
            and event.status != SafetyStatus.REPORTED
            and event.reviewed_at is None,
            "may_follow_up": bool(roles & {Role.SITE_COORDINATOR, Role.PRINCIPAL_INVESTIGATOR})
            and event.status != SafetyStatus.CLOSED,
            "may_report_rec": Role.CHIEF_INVESTIGATOR in roles
            and event.reportable
            and event.rec_reported_on is None,
            "seriousness": spec.field("seriousness").choices if spec.field("seriousness") else [],
            "relatedness": spec.field("relatedness").choices,
            "expectedness": spec.field("expectedness").choices,
            "outcomes": outcome_field.choices if outcome_field else [],
        },
        status=400 if errors else 200,
    )


def _facts(event) -> list[tuple[str, str, str]]:
    """The form's assessment answers as the page shows them: each question's label and its
    answer's, the chief investigator's view beside the PI's where they differ."""
    spec, values = event.response.spec, event.response.values
    rows = []
    for key in ("seriousness", "relatedness", "expectedness", "outcome"):
        field = spec.field(key)
        if field is None:
            continue
        labels = dict(field.choices)
        value = values.get(key)
        shown = (
            ", ".join(labels.get(v, v) for v in value)
            if isinstance(value, list)
            else (labels.get(value, value or ""))
        )
        ci = {"relatedness": event.ci_relatedness, "expectedness": event.ci_expectedness}.get(key)
        if ci and ci != value:
            shown = f"{shown} (PI); {labels.get(ci, ci)} (chief investigator)"
        rows.append((key, field.label, shown))
    return rows


def _rec(request, event):
    reported_on = _date(request.POST.get("reported_on", ""))
    if reported_on is None:
        raise TrialError("Give the date of the report, as YYYY-MM-DD.", field="reported_on")
    return sae_rec_report(
        event=event,
        reported_on=reported_on,
        reference=request.POST.get("reference", ""),
        actor=request.user,
        channel=Channel.WEB,
    )


@login_required
@require_http_methods(["GET", "POST"])
def safety_report_page(request, family_id: int):
    family = get_object_or_404(families_visible_to(request.user), pk=family_id)
    roles = roles_at(request.user, family.site)
    if not roles & {Role.SITE_COORDINATOR, Role.PRINCIPAL_INVESTIGATOR}:
        raise PermissionDenied("Safety events are reported by the site's coordinators and PI.")
    definition = current_definitions(family.trial).get(safety_form(family).form)
    answers, errors = {}, {}
    extra = {k: request.POST.get(k, "") for k in ("aware_time", "referral_to", "referral_on")}
    extra["late_reason"] = request.POST.get("late_reason", "")
    if request.method == "POST":
        answers = answers_from_post(definition.spec, request.POST)
        saved = {}

        def call():
            referral_on = _date(extra["referral_on"])
            if extra["referral_on"] and referral_on is None:
                raise TrialError("Give the referral's date as YYYY-MM-DD.", field="referral_on")
            saved["event"] = sae_report(
                family=family,
                values=answers,
                aware_time=extra["aware_time"],
                referral_to=extra["referral_to"],
                referral_on=referral_on,
                late_reason=extra["late_reason"],
                actor=request.user,
                channel=Channel.WEB,
            )

        errors = _attempt(call) or {}
        if not errors:
            messages.success(
                request,
                "Safety event reported. The PI, the chief investigator and the trial manager "
                "have been emailed.",
            )
            return redirect("safety-event", event_id=saved["event"].pk)
    controllers = {f.show_if.field for f in definition.spec.fields if f.show_if}
    return render(
        request,
        "safety/report.html",
        {
            "family": family,
            "definition": definition,
            "widgets": widgets(definition.spec, answers, errors),
            "errors": errors,
            "extra": extra,
            "controllers": controllers,
            "yes_no": [("yes", "Yes"), ("no", "No")],
            "reason_needed": False,
        },
        status=400 if errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def unblinding_page(request):
    """Requests for emergency unblinding: a blinded person asks (naming the family by its
    identifier); an approver decides; the person who asked is shown the arm once."""
    errors: dict[str, str] = {}
    shown = None
    action = request.POST.get("action", "")
    if request.method == "POST":
        post = request.POST
        if action == "request":

            def call():
                identifier = family_identifier_typed(post.get("family", ""), field="family")
                family = families_visible_to(request.user).filter(identifier=identifier).first()
                if family is None:
                    raise TrialError(
                        f"There is no family {identifier} at your sites.", field="family"
                    )
                unblinding_request(
                    family=family,
                    reason=post.get("reason", ""),
                    actor=request.user,
                    channel=Channel.WEB,
                )

            errors = _attempt(call) or {}
            if not errors:
                messages.success(request, "Emergency unblinding asked for: an approver has it.")
                return redirect("safety-unblinding")
        elif action in ("approve", "refuse", "show"):
            item = get_object_or_404(
                unblindings_visible_to(request.user), pk=_whole(post.get("item"))
            )
            if action == "show":
                result = {}
                errors = (
                    _attempt(
                        lambda: result.update(
                            arm=unblinding_show(item=item, actor=request.user, channel=Channel.WEB)
                        )
                    )
                    or {}
                )
                shown = (item, result["arm"][1]) if not errors else None
            else:
                errors = (
                    _attempt(
                        lambda: unblinding_decide(
                            item=item,
                            approve=action == "approve",
                            note=post.get("note", ""),
                            actor=request.user,
                            channel=Channel.WEB,
                        )
                    )
                    or {}
                )
                if not errors:
                    messages.success(request, "Approved." if action == "approve" else "Refused.")
                    return redirect("safety-unblinding")
    items = unblindings_visible_to(request.user).order_by("-requested_at")
    return render(
        request,
        "safety/unblinding.html",
        {
            "items": items,
            "errors": errors,
            "shown": shown,
            "chosen": request.POST,
            "approver": bool(
                roles_at(request.user, None) & {Role.TRIAL_MANAGER, Role.CHIEF_INVESTIGATOR}
            ),
            "statuses": EmergencyUnblinding.Status,
        },
        status=400 if errors else 200,
    )


def _whole(value: str | None) -> int:
    return int(value) if value and value.isdigit() else 0
