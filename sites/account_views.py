"""Pages for accounts: changing your own password, and the trial manager's view of an
account with its roles, where it is disabled or enabled again."""

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from core.channels import Channel

from .accounts import account_set_active, password_change
from .forms import (
    AccountActiveForm,
    AccountInviteForm,
    PasswordChangeForm,
    PasswordResetForm,
    PasswordSetForm,
    UnlockForm,
)
from .invitations import (
    account_invite,
    account_unlock,
    locked_out,
    password_reset_request,
    password_set_by_link,
    user_of_link,
)
from .pagekit import submit
from .second_factor import has_second_factor, second_factor_required, second_factor_reset
from .selectors import is_trial_manager, memberships_visible_to, users_visible_to
from .views import require_manager, single_trial


@login_required
@require_http_methods(["GET", "POST"])
def password_change_page(request):
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST":
        revoked = submit(
            form,
            lambda d: password_change(
                user=request.user,
                old_password=d["old_password"],
                new_password=d["new_password"],
                channel=Channel.WEB,
            ),
        )
        if revoked is not None:
            request.user.refresh_from_db()
            # This session stays signed in; every other session and API token does not.
            update_session_auth_hash(request, request.user)
            tokens = f" {revoked} API token(s) revoked." if revoked else ""
            messages.success(request, f"Password changed.{tokens}")
            return redirect("password_change_done")
    return render(request, "registration/password_change_form.html", {"form": form})


@login_required
def account_page(request, user_id: int):
    trial = single_trial(request.user)
    require_manager(request.user, trial)
    account = get_object_or_404(users_visible_to(request.user), pk=user_id)
    return render(
        request,
        "sites/account.html",
        {
            "account": account,
            "memberships": memberships_visible_to(request.user).filter(user=account),
            "form": AccountActiveForm(initial={"active": "false" if account.is_active else "true"}),
            "locked_out": locked_out(account),
            "unlock_form": UnlockForm(),
            "is_manager": is_trial_manager(request.user, trial),
            "second_factor": has_second_factor(account),
            "second_factor_required": second_factor_required(account),
            "reset_form": UnlockForm(),
        },
    )


@login_required
@require_POST
def account_active_page(request, user_id: int):
    trial = single_trial(request.user)
    require_manager(request.user, trial)
    account = get_object_or_404(users_visible_to(request.user), pk=user_id)
    form = AccountActiveForm(request.POST)
    done = submit(
        form,
        lambda d: account_set_active(
            actor=request.user,
            channel=Channel.WEB,
            trial=trial,
            user=account,
            active=d["active"],
            reason=d["reason"],
        ),
    )
    if done is None:
        errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        messages.error(request, f"Not changed: {errors}")
    else:
        state = "enabled" if done.is_active else "disabled"
        messages.success(request, f"{done.get_username()}'s account is {state}.")
    return redirect("account", user_id=account.pk)


def _base_url(request) -> str:
    return request.build_absolute_uri("/")


@login_required
@require_http_methods(["GET", "POST"])
def account_invite_page(request):
    trial = single_trial(request.user)
    require_manager(request.user, trial)
    form = AccountInviteForm(request.POST or None)
    if request.method == "POST":
        invited = submit(
            form,
            lambda d: account_invite(
                actor=request.user,
                channel=Channel.WEB,
                trial=trial,
                base_url=_base_url(request),
                **d,
            ),
        )
        if invited:
            messages.success(
                request,
                f"Invitation sent to {invited.email}. Now grant {invited.username} a role.",
            )
            return redirect("people")
    return render(request, "sites/site_form.html", {"form": form, "title": "Invite a user"})


@require_http_methods(["GET", "POST"])
def password_reset_page(request):
    form = PasswordResetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        password_reset_request(
            email=form.cleaned_data["email"], channel=Channel.WEB, base_url=_base_url(request)
        )
        return render(request, "registration/password_reset_sent.html")
    return render(request, "registration/password_reset_form.html", {"form": form})


@require_http_methods(["GET", "POST"])
def password_set_page(request, uidb64: str, token: str):
    if user_of_link(uidb64, token) is None:
        return render(request, "registration/password_set_form.html", {"expired": True})
    form = PasswordSetForm(request.POST or None)
    if request.method == "POST":
        done = submit(
            form,
            lambda d: password_set_by_link(
                uidb64=uidb64, token=token, password=d["password"], channel=Channel.WEB
            ),
        )
        if done is not None:
            messages.success(request, "Your password is set. Sign in with it now.")
            return redirect("login")
    return render(request, "registration/password_set_form.html", {"form": form})


def _reasoned_account_act(request, user_id: int, service, *, refused: str, done) -> HttpResponse:
    """A trial manager's act on one account, with a reason (UnlockForm): `service` is called
    with the actor, channel, trial, account and reason; the outcome is said on the account page."""
    trial = single_trial(request.user)
    require_manager(request.user, trial)
    account = get_object_or_404(users_visible_to(request.user), pk=user_id)
    form = UnlockForm(request.POST)
    result = submit(
        form,
        lambda d: service(
            actor=request.user, channel=Channel.WEB, trial=trial, user=account, reason=d["reason"]
        ),
    )
    if result is None:
        errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        messages.error(request, f"{refused}: {errors}")
    else:
        messages.success(request, done(result.get_username()))
    return redirect("account", user_id=account.pk)


@login_required
@require_POST
def account_unlock_page(request, user_id: int):
    return _reasoned_account_act(
        request,
        user_id,
        account_unlock,
        refused="Not unlocked",
        done=lambda username: f"{username} can sign in again.",
    )


@login_required
@require_POST
def second_factor_reset_page(request, user_id: int):
    return _reasoned_account_act(
        request,
        user_id,
        second_factor_reset,
        refused="Not reset",
        done=lambda username: (
            f"{username}'s second factor is reset: they set it up again at their next sign-in."
        ),
    )
