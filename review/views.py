"""The monitor's review of the audit trail: filter, read old → new with the reason, page back
through history, export, sign off. Records, people and fields read by their names."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Min
from django.http import HttpResponseBadRequest, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from audit.models import AuditEvent
from core.channels import Channel
from randomisation.concealment import blindness_of
from sites.pagekit import paged, submit
from sites.selectors import open_memberships

from .concealment import shaped_for
from .export import csv_response
from .forms import EventFilterForm, ReviewFilterForm, SignoffForm
from .selectors import (
    AUDIT_READERS,
    audit_sites_of,
    awaiting_review,
    events_described,
    events_visible_to,
    filter_events,
    signoffs_covering,
)
from .services import review_signoff

PAGE_SIZE = 50


def _require_reader(user) -> None:
    if not open_memberships(user).filter(role__in=AUDIT_READERS).exists():
        raise PermissionDenied("Only a monitor or the trial manager can review the audit trail.")


@login_required
@require_GET
def review(request):
    """Newest first, a page at a time with every filter kept from page to page; what waits
    for the viewer's sign-off (`to_review`) oldest first, so that signing off a page leaves
    the pages after it where they were."""
    _require_reader(request.user)
    sites = audit_sites_of(request.user)
    form = ReviewFilterForm(request.GET or None, sites=sites)
    events, page = [], None
    if not form.is_bound or form.is_valid():
        blindness = blindness_of(request.user)
        events_qs = events_visible_to(request.user)
        if form.is_bound:
            events_qs = filter_events(events_qs, form.to_filter(), blindness=blindness)
        if _to_review(form):
            events_qs = awaiting_review(events_qs, request.user).order_by("seq")
        else:
            events_qs = events_qs.order_by("-seq")
        page = paged(request, events_qs, per_page=PAGE_SIZE)
        events = events_described(shaped_for(list(page.object_list), blindness))
    query = request.GET.copy()
    query.pop("page", None)
    signoffs = signoffs_covering(events)
    context = {
        "form": form,
        "events": events,
        "page": page,
        "query": query.urlencode(),
        "signoffs": signoffs,
        "signoff_form": _signoff_form_for(form, events, request.user),
    }
    # A filter that cannot be read (a mistyped identifier, a date range backwards) is shown
    # beside its field, and the answer says the request was bad rather than empty.
    status = 400 if form.is_bound and not form.is_valid() else 200
    return render(request, "review/review.html", context, status=status)


def _to_review(form: ReviewFilterForm) -> bool:
    return form.is_bound and form.is_valid() and bool(form.cleaned_data.get("to_review"))


def _signoff_form_for(form: ReviewFilterForm, events, reviewer) -> SignoffForm | None:
    """Offered when the view shows all of one site's events in the range on screen (no
    other filter hides some of them): preset from the first event on the page the viewer
    has not signed off to the last one shown, so that it covers only what they were shown."""
    if not (form.is_bound and form.is_valid() and form.cleaned_data.get("site") and events):
        return None
    if form.narrowed:
        return None
    seqs = [e.seq for e in events]
    # The same rule as the work list's: what none of this reviewer's sign-offs covers.
    first = awaiting_review(AuditEvent.objects.filter(seq__in=seqs), reviewer).aggregate(
        first=Min("seq")
    )["first"]
    if first is None:  # everything shown is signed off already: nothing to sign
        return None
    return SignoffForm(
        initial={
            "site": form.cleaned_data["site"].pk,
            "to_review": _to_review(form),
            "first_seq": first,
            "last_seq": max(seqs),
        }
    )


@login_required
@require_GET
def export(request):
    _require_reader(request.user)
    form = EventFilterForm(request.GET, sites=audit_sites_of(request.user))
    if not form.is_valid():
        return HttpResponseBadRequest(
            "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
        )
    return csv_response(actor=request.user, event_filter=form.to_filter(), channel=Channel.WEB)


@login_required
@require_POST
def signoff(request):
    _require_reader(request.user)
    form = SignoffForm(request.POST)
    site = None
    if form.is_valid():
        site = get_object_or_404(audit_sites_of(request.user), pk=form.cleaned_data["site"])
    done = site and submit(
        form,
        lambda d: review_signoff(
            actor=request.user,
            channel=Channel.WEB,
            site=site,
            first_seq=d["first_seq"],
            last_seq=d["last_seq"],
            note=d["note"],
        ),
    )
    if done:
        messages.success(
            request,
            f"Events #{done.first_seq} to #{done.last_seq} of {site.code} signed off as reviewed.",
        )
    else:
        errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        messages.error(request, f"Not signed off: {errors}")
    back = QueryDict(mutable=True)
    back["site"] = request.POST.get("site", "")
    if form.is_valid() and form.cleaned_data["to_review"]:
        back["to_review"] = "1"
    return redirect(f"{reverse('audit-review')}?{back.urlencode()}")
