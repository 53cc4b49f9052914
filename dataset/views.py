"""The lock page: the readiness report with its links, the lock, the two-person unlock,
and the freezes. For the trial manager and the statisticians."""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from core.channels import Channel
from core.errors import NotPermitted, TrialError
from crf.selectors import current_definitions
from sites.pagekit import submit
from sites.selectors import roles_at, sites_visible_to
from trial.config import config_of
from trial.selectors import trials_visible_to

from .forms import FreezeSiteForm, LockForm, PlanForm, ReasonForm
from .readiness import lock_readiness
from .selectors import (
    freezes_visible_to,
    locks_visible_to,
    may_read_readiness,
    plans_visible_to,
)
from .services import (
    DATA_MANAGERS,
    STATISTICIANS,
    analysis_plan_record,
    data_freeze,
    data_lock,
    freeze_release,
    lock_unlock_approve,
    lock_unlock_request,
)


@dataclass(frozen=True)
class PopulationChoice:
    """An analysis population as the lock page offers it: the forms it locks by title."""

    key: str
    label: str
    forms: list[str]


def _population_choices(trial, config) -> list[PopulationChoice]:
    titles = {key: d.title for key, d in current_definitions(trial).items()}
    return [
        PopulationChoice(p.key, p.label, [titles.get(f, f) for f in p.forms])
        for p in config.analysis.populations
    ]


DONE_MESSAGES = {
    "lock": "Data locked. No form in the lock can change until two people unlock it.",
    "unlock_request": "Unlock asked for. A second person must confirm it.",
    "unlock_approve": "Unlock confirmed: the locked forms can change again.",
    "freeze": "Site's data frozen.",
    "release": "Freeze released.",
    "plan": "Analysis plan recorded.",
}


def _trial(user):
    trials = list(trials_visible_to(user)[:2])
    if len(trials) != 1 or not may_read_readiness(user, trials[0]):
        raise PermissionDenied("For the trial manager and the statisticians.")
    return trials[0]


def _posted(request, name: str, queryset):
    value = request.POST.get(name, "")
    return get_object_or_404(queryset, pk=int(value) if value.isdigit() else 0)


@login_required
@require_http_methods(["GET", "POST"])
def lock_page(request):
    user = request.user
    trial = _trial(user)
    config = config_of(trial)
    roles = roles_at(user, None, trial=trial)
    population = request.GET.get("population", "")
    if population and config.analysis.population(population) is None:
        population = ""
    action = request.POST.get("action")
    posted = request.POST if request.method == "POST" else None
    lock_form = LockForm(posted if action == "lock" else None)
    freeze_form = FreezeSiteForm(
        posted if action == "freeze" else None, sites=sites_visible_to(user).order_by("code")
    )
    reason_form = ReasonForm(posted if action in ("unlock_request", "release") else None)
    plan_form = PlanForm(posted if action == "plan" else None, request.FILES or None)
    done = None
    if action == "lock":
        done = submit(
            lock_form,
            lambda d: data_lock(
                trial=trial,
                actor=user,
                channel=Channel.WEB,
                password=d["password"],
                population=request.POST.get("population", ""),
            ),
        )
    elif action == "unlock_request":
        lock = _posted(request, "lock", locks_visible_to(user))
        done = submit(
            reason_form,
            lambda d: lock_unlock_request(
                lock=lock, actor=user, channel=Channel.WEB, reason=d["reason"]
            ),
        )
    elif action == "unlock_approve":
        lock = _posted(request, "lock", locks_visible_to(user))
        try:
            done = lock_unlock_approve(lock=lock, actor=user, channel=Channel.WEB)
        except NotPermitted as exc:
            raise PermissionDenied(exc.message) from exc
        except TrialError as exc:
            messages.error(request, exc.message)
    elif action == "freeze":
        done = submit(
            freeze_form,
            lambda d: data_freeze(
                actor=user, channel=Channel.WEB, reason=d["reason"], site=d["site"]
            ),
        )
    elif action == "release":
        freeze = _posted(request, "freeze", freezes_visible_to(user))
        done = submit(
            reason_form,
            lambda d: freeze_release(
                freeze=freeze, actor=user, channel=Channel.WEB, reason=d["reason"]
            ),
        )
    elif action == "plan":
        done = submit(
            plan_form,
            lambda d: analysis_plan_record(
                trial=trial,
                actor=user,
                channel=Channel.WEB,
                title=d["title"],
                version=d["version"],
                sha256=d["sha256"],
                final=d["final"],
            ),
        )
    elif request.method == "POST":
        raise PermissionDenied("Unknown action.")
    if done is not None:
        messages.success(request, DONE_MESSAGES[action])
        return redirect(request.get_full_path())
    report = lock_readiness(trial, population=population, viewer=user)
    return render(
        request,
        "dataset/lock.html",
        {
            "trial": trial,
            "population": population,
            "populations": _population_choices(trial, config),
            "population_labels": {p.key: p.label for p in config.analysis.populations},
            "report": report,
            "locks": locks_visible_to(user).filter(trial=trial),
            "freezes": freezes_visible_to(user).filter(released_at__isnull=True),
            "lock_form": lock_form,
            "freeze_form": freeze_form,
            "reason_form": reason_form,
            "plan_form": plan_form,
            "plans": plans_visible_to(user).filter(trial=trial),
            "may_lock": bool(roles & STATISTICIANS),
            "may_freeze": bool(roles & DATA_MANAGERS),
        },
    )
