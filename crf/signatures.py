"""The principal investigator's signature of a family's casebook (21 CFR 11.50, 11.200):
the signer re-enters their password; the signature records name, time, meaning and the
SHA-256 of the content signed. A later change to a signed response invalidates it."""

import hashlib
import json

from django.db import transaction

from audit.events import EventType
from audit.history import stamp
from audit.ledger import record
from core.channels import Channel
from core.clock import today
from core.errors import Conflict, TrialError
from core.roles import Duty, Role
from lock.guard import refuse_if_locked
from sites.permissions import require_duty, require_role
from trial.models import Family

from .models import Query, QueryStatus, Response, ResponseStatus, Signature

MEANINGS = {
    "reviewed": "I have reviewed the data in this casebook and confirm that they are accurate "
    "and complete.",
    "approved": "I approve the data in this casebook as the site's principal investigator.",
}


def content_digest(responses: list[Response]) -> tuple[str, list[list[int]]]:
    """The SHA-256 of what is signed (each response's form, version, visit and answers,
    in id order) and the [id, revision] list it covers. Verification is not content."""
    rows = sorted(responses, key=lambda r: r.pk)
    canonical = [
        {
            "id": r.pk,
            "revision": r.revision,
            "form": r.form,
            "version": r.definition.version,
            "visit": r.visit,
            "number": r.number,
            "values": r.values,
            "missing": r.missing,
        }
        for r in rows
    ]
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest(), [[r.pk, r.revision] for r in rows]


def signatures_intact(signatures: list[Signature]) -> dict[int, bool]:
    """For each signature (by id): not invalidated, and the covered content still hashes to
    what was signed (a check that also catches a change made outside the services). The
    covered forms of all of them are read in one query."""
    ids = {entry[0] for s in signatures if s.invalidated_at is None for entry in s.content}
    forms = Response.objects.select_related("definition").in_bulk(ids)
    intact = {}
    for signature in signatures:
        covered = [forms[entry[0]] for entry in signature.content if entry[0] in forms]
        intact[signature.pk] = (
            signature.invalidated_at is None
            and len(covered) == len(signature.content)
            and content_digest(covered)[0] == signature.content_sha256
        )
    return intact


def signature_intact(signature: Signature) -> bool:
    return signatures_intact([signature])[signature.pk]


@transaction.atomic(durable=True)
def _refused(*, family: Family, actor, actor_role, channel: Channel) -> None:
    record(
        event=EventType.SIGNATURE_REFUSED,
        actor=actor,
        channel=channel,
        site=family.site,
        family=family.identifier,
        reason="the password did not match",
        actor_role=actor_role,
    )


def casebook_sign(
    *, family: Family, actor, password: str, meaning: str, channel: Channel
) -> Signature:
    """Sign the family's casebook. A wrong password is refused and the refusal recorded."""
    held = require_role(actor, roles={Role.PRINCIPAL_INVESTIGATOR}, site=family.site)
    if not password:
        raise TrialError("Enter your password to sign the casebook.", field="password")
    if not actor.check_password(password):
        _refused(family=family, actor=actor, actor_role=held, channel=channel)
        raise TrialError(
            "That is not your password: the casebook was not signed.", field="password"
        )
    return _sign(family=family, actor=actor, meaning=meaning, channel=channel)


@transaction.atomic(durable=True)
def _sign(*, family: Family, actor, meaning: str, channel: Channel) -> Signature:
    family = (
        Family.objects.select_for_update(of=("self",), no_key=True)
        .select_related("site")
        .get(pk=family.pk)
    )
    delegation = require_duty(actor, site=family.site, duty=Duty.SIGN, on=today())
    refuse_if_locked(family=family)
    if meaning not in MEANINGS:
        raise TrialError(
            f"Choose what the signature means: {', '.join(MEANINGS)}.", field="meaning"
        )
    responses = list(family.responses.select_related("definition"))
    if not responses:
        raise Conflict("There is nothing entered to sign.", field="family")
    drafts = [r for r in responses if r.status == ResponseStatus.DRAFT]
    if drafts:
        raise Conflict(
            f"{len(drafts)} form(s) are drafts: complete them before signing.", field="family"
        )
    if Query.objects.filter(family=family, status=QueryStatus.OPEN).exists():
        raise Conflict("Open queries must be answered before signing.", field="family")
    digest, content = content_digest(responses)
    signature = Signature(
        family=family,
        signer=actor,
        signer_name=actor.get_full_name() or actor.get_username(),
        meaning=MEANINGS[meaning],
        content_sha256=digest,
        content=content,
    )
    stamp(signature, actor=actor).save()
    record(
        event=EventType.CASEBOOK_SIGNED,
        actor=actor,
        channel=channel,
        obj=signature,
        site=family.site,
        family=family.identifier,
        changes={
            "content_sha256": [None, digest],
            "responses": [None, len(content)],
            "meaning": [None, signature.meaning],
        },
        actor_role=delegation.membership.role,
    )
    return signature
