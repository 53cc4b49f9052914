"""Shared set-up for the safety tests: a family at a site, the safety form's answers for
an event the site learned of some time ago, and what the family's identity records hold (for
the emails' checks)."""

import random
from datetime import timedelta

from django.utils import timezone

from core.channels import Channel
from demo.answers import answers_for
from safety.services import sae_report
from tests.crf.conftest import load_forms


def sae_values(world, family, *, aware, **fixed):
    """Valid answers to the safety form for an event the site learned of at `aware`."""
    spec = load_forms(world)["sae"].spec
    on = timezone.localtime(aware).date()
    answers = {
        "event_date": (on - timedelta(days=1)).isoformat(),
        "reported_on": on.isoformat(),
        "kind": "sae",
        "seriousness": ["hospitalisation"],
        "relatedness": "unrelated",
        "expectedness": "expected",
        "safeguarding_referral": False,
        "outcome": "ongoing",
        "description": "Admitted overnight for observation.",
    }
    answers.update(fixed)
    values = answers_for(spec, on, random.Random(family.pk), fixed=answers)
    if answers["kind"] != "sae":
        values.pop("seriousness", None)
    return values


def report(
    world,
    family,
    *,
    ago=timedelta(hours=2),
    actor=None,
    late_reason="",
    referral_to="",
    referral_on=None,
    **fixed,
):
    """The site reports an event it learned of `ago` before now."""
    aware = timezone.now() - ago
    return sae_report(
        family=family,
        values=sae_values(world, family, aware=aware, **fixed),
        aware_time=f"{timezone.localtime(aware):%H:%M}",
        actor=actor or world.coord_buc,
        channel=Channel.WEB,
        late_reason=late_reason,
        referral_to=referral_to,
        referral_on=referral_on,
    )


def identity_texts(family) -> list[str]:
    """Everything the family's identity records hold, as an email might spell it."""
    texts = []
    for participant in family.participants.select_related("identity"):
        person = participant.identity
        texts += [person.given_name, person.family_name]
        if person.nhs_number:
            nhs = person.nhs_number
            texts += [nhs, f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}"]
        for born in (person.date_of_birth, person.expected_due_date):
            if born:
                texts += [
                    born.isoformat(),
                    f"{born:%d/%m/%Y}",
                    f"{born:%d %B %Y}",
                    f"{born:%d %b %Y}",
                ]
    contact = family.identity
    texts += [contact.address, *contact.address.split(","), contact.phone]
    texts += [contact.social_worker_name, contact.social_worker_contact]
    return [t.strip() for t in texts if t and t.strip()]
