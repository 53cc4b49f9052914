"""The second factor at sign-in (django-otp): an authenticator app's time-based codes (TOTP)
and ten single-use recovery codes. Who must pass it, enrolment, checking a code, new
recovery codes and the trial manager's reset. Each attempt, passed or refused, is audited."""

import re
import time
from base64 import b32encode
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.events import EventType
from audit.ledger import record
from audit.reasons import given
from core.channels import Channel
from core.errors import Conflict, TrialError
from core.roles import SECOND_FACTOR_ROLES, Role

from .accounts import tokens_revoke
from .permissions import require_role
from .selectors import open_memberships

if TYPE_CHECKING:
    from django_otp.models import Device

    from trial.models import Trial

RECOVERY_CODE_COUNT = 10
APP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"
TOTP_CODE = re.compile(r"\d{6}")


def second_factor_required(user) -> bool:
    """A role that sees identity or an arm (at any site), or the admin's superuser."""
    if not getattr(user, "is_authenticated", False):
        return False
    return user.is_superuser or (
        open_memberships(user).filter(role__in=SECOND_FACTOR_ROLES).exists()
    )


def app_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def has_second_factor(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def second_factor_asked(user) -> bool:
    """Whether sign-in asks this user for a second factor: the roles that must, and anyone
    who enrolled of their own accord; no one while the requirement is waived."""
    if settings.TWO_FACTOR_WAIVED or not getattr(user, "is_authenticated", False):
        return False
    return has_second_factor(user) or second_factor_required(user)


def recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def secret_base32(device: TOTPDevice) -> str:
    """The secret as an authenticator app asks for it when typed: base32 in groups of four."""
    text = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def _cleaned(code: str | None) -> str:
    return re.sub(r"[\s-]", "", code or "").lower()


@transaction.atomic
def enrolment_device(*, user) -> TOTPDevice:
    """The unconfirmed authenticator-app device the enrolment page shows (made once, kept
    until confirmed so that reloading the page does not change the secret)."""
    if has_second_factor(user):
        raise Conflict("You already have a second factor.", field="code")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name=APP_DEVICE_NAME, confirmed=False)


def _new_recovery_codes(user) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=c) for c in codes])
    return codes


@transaction.atomic(durable=True)
def second_factor_enrol(*, user, code: str, channel: Channel) -> tuple[TOTPDevice, list[str]]:
    """Confirm the authenticator app with a code it shows, and issue recovery codes (shown
    once: only they are kept, never shown again)."""
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).first()
    if device is None or has_second_factor(user):
        raise Conflict("Start enrolment again: open the enrolment page.", field="code")
    if not device.verify_token(_cleaned(code)):
        raise TrialError(
            "That code is not right. Enter the 6-digit code your authenticator app shows now.",
            field="code",
        )
    device.confirmed = True
    device.save()
    codes = _new_recovery_codes(user)
    record(
        event=EventType.SECOND_FACTOR_ENROLLED,
        actor=user,
        channel=channel,
        obj=user,
        changes={"second_factor": [False, True]},
    )
    record(
        event=EventType.RECOVERY_CODES_GENERATED,
        actor=user,
        channel=channel,
        obj=user,
        changes={"recovery_codes": [0, len(codes)]},
    )
    return device, codes


def _reused(device: TOTPDevice, code: str) -> bool:
    """A right code for now that the device refused: already used (at or before last_t)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return bool(totp.verify(int(code), device.tolerance))


@transaction.atomic(durable=True)
def _attempt(*, user, code: str, channel: Channel) -> tuple["Device | None", str]:
    code = _cleaned(code)
    if TOTP_CODE.fullmatch(code):
        devices = list(TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True))
        kind = "authenticator app"
    else:
        devices = list(StaticDevice.objects.select_for_update().filter(user=user, confirmed=True))
        kind = "recovery code"
    why = "wrong code"
    for device in devices:
        if not device.verify_is_allowed()[0]:
            why = "too many wrong codes in a row: asked too soon after the last"
            continue
        if device.verify_token(code):
            changes = {"device": [None, kind]}
            if isinstance(device, StaticDevice):
                left = device.token_set.count()  # the code used is spent already
                changes["recovery_codes"] = [left + 1, left]
            record(
                event=EventType.SECOND_FACTOR_VERIFIED,
                actor=user,
                channel=channel,
                obj=user,
                changes=changes,
            )
            return device, ""
        if isinstance(device, TOTPDevice) and _reused(device, code):
            why = "code already used"
        elif isinstance(device, StaticDevice):
            why = "wrong or already used recovery code"
    record(
        event=EventType.SECOND_FACTOR_FAILED,
        actor=user,
        channel=channel,
        obj=user,
        reason=why,
    )
    return None, why


REFUSALS = {
    "code already used": "That code has been used already. Wait for your app to show a new one.",
    "too many wrong codes in a row: asked too soon after the last": (
        "Too many wrong codes in a row: wait a few seconds, then enter the code your app shows."
    ),
}


def second_factor_verify(*, user, code: str | None, channel: Channel, field: str = "code"):
    """The device that accepts the code (the app's current code or an unused recovery code,
    which is then spent), else a refusal naming the field. The attempt is audited either way,
    so the refusal is raised after the audit commits."""
    if not _cleaned(code):
        raise TrialError(
            "Enter the 6-digit code from your authenticator app, or a recovery code.", field=field
        )
    device, why = _attempt(user=user, code=code or "", channel=channel)
    if device is None:
        raise TrialError(
            REFUSALS.get(why, "That code is not right. Enter the code your app shows now."),
            field=field,
        )
    return device


@transaction.atomic(durable=True)
def recovery_codes_generate(*, user, channel: Channel) -> list[str]:
    """New recovery codes for an enrolled user; the old ones stop working."""
    if not has_second_factor(user):
        raise Conflict("Enrol an authenticator app first.", field="recovery_codes")
    before = recovery_codes_left(user)
    codes = _new_recovery_codes(user)
    record(
        event=EventType.RECOVERY_CODES_GENERATED,
        actor=user,
        channel=channel,
        obj=user,
        changes={"recovery_codes": [before, len(codes)]},
    )
    return codes


@transaction.atomic(durable=True)
def second_factor_reset(*, actor, channel: Channel, trial: "Trial", user, reason: str):
    """A trial manager removes a user's second factor (a lost phone), with a reason: the user
    enrols again at their next sign-in. Their API tokens are revoked with it."""
    held = require_role(actor, roles={Role.TRIAL_MANAGER}, trial=trial)
    reason = given(reason, ask="Say why the second factor is reset.")
    if user.pk == actor.pk:
        raise TrialError("Ask another trial manager to reset your second factor.", field="user")
    if not has_second_factor(user):
        raise Conflict(f"{user.get_username()} has no second factor to reset.", field="user")
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    record(
        event=EventType.SECOND_FACTOR_RESET,
        actor=actor,
        channel=channel,
        obj=user,
        changes={"second_factor": [True, False]},
        reason=reason,
        actor_role=held,
    )
    tokens_revoke(
        user=user, actor=actor, actor_role=held, channel=channel, why="second factor reset"
    )
    return user


@transaction.atomic(durable=True)
def second_factor_install(*, user, key: bytes, channel: Channel) -> TOTPDevice:
    """Enrol a known secret without a code (the demo's accounts, from seed_demo)."""
    if channel != Channel.COMMAND:
        raise TrialError("A known secret is installed only from a management command.")
    TOTPDevice.objects.filter(user=user).delete()
    device = TOTPDevice.objects.create(
        user=user, name=APP_DEVICE_NAME, key=key.hex(), confirmed=True
    )
    record(
        event=EventType.SECOND_FACTOR_ENROLLED,
        actor=None,
        actor_username=f"system:{channel}",
        channel=channel,
        obj=user,
        changes={"second_factor": [False, True]},
    )
    return device
