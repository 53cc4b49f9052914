"""The monitor's review of the audit trail: filter, read old → new with the reason, page back
through history, export, sign off. Records, people and fields read by their names."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from core.channels import Channel
from randomisation.concealment import blindness_of
from sites.pagekit import paged, submit
from sites.selectors import open_memberships

from .concealment import shaped_for
from .export import csv_response
from .forms import EventFilterForm, SignoffForm
from .selectors import (
    AUDIT_READERS,
    audit_sites_of,
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
    """Newest first, a page at a time with every filter kept from page to page."""
    _require_reader(request.user)
    sites = audit_sites_of(request.user)
    form = EventFilterForm(request.GET or None, sites=sites)
    events, page = [], None
    if not form.is_bound or form.is_valid():
        blindness = blindness_of(request.user)
        events_qs = events_visible_to(request.user)
        if form.is_bound:
            events_qs = filter_events(events_qs, form.to_filter(), blindness=blindness)
        page = paged(request, events_qs.order_by("-seq"), per_page=PAGE_SIZE)
        events = events_described(shaped_for(list(page.object_list), blindness))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "events": events,
        "page": page,
        "query": query.urlencode(),
        "signoffs": signoffs_covering(events),
        "signoff_form": _signoff_form_for(form, events),
    }
    return render(request, "review/review.html", context)


def _signoff_form_for(form: EventFilterForm, events) -> SignoffForm | None:
    """Offered when the view shows one site's events: the range on screen, ready to sign."""
    if not (form.is_bound and form.is_valid() and form.cleaned_data.get("site") and events):
        return None
    return SignoffForm(
        initial={
            "site": form.cleaned_data["site"].pk,
            "first_seq": events[-1].seq,
            "last_seq": events[0].seq,
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
    return redirect(f"{reverse('audit-review')}?site={request.POST.get('site', '')}")
