"""Pages for accounts: changing your own password, and the trial manager's view of an
account with its roles, where it is disabled or enabled again."""

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from core.channels import Channel

from .accounts import account_set_active, password_change
from .forms import AccountActiveForm, PasswordChangeForm
from .pagekit import submit
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
            "is_manager": is_trial_manager(request.user, trial),
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
