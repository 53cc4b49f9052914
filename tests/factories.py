"""factory_boy factories for setting up tests. They write rows directly; tests of
behaviour call the services."""

from datetime import timedelta
from pathlib import Path

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from sites.models import Delegation, Membership, Site, SiteStatus
from trial.definition import read_definition
from trial.models import Trial

DEFINITION = Path(__file__).resolve().parents[1] / "trial" / "definitions" / "reconnect.yaml"

PASSWORD = "correct-horse-Battery-9"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password(PASSWORD)


class TrialFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Trial
        django_get_or_create = ("code",)

    code = "RC"
    short_name = "ReConnect"
    name = "ReConnect versus usual care"
    sponsor = "Oxford Health NHS Foundation Trust"
    definition = factory.LazyFunction(lambda: read_definition(DEFINITION)[0])
    definition_source = factory.LazyFunction(lambda: DEFINITION.read_text(encoding="utf-8"))
    definition_sha256 = factory.LazyFunction(lambda: read_definition(DEFINITION)[1])
    loaded_at = factory.LazyFunction(timezone.now)


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site

    class Params:
        approved = factory.Trait(
            ethics_approval_date=factory.LazyFunction(
                lambda: timezone.localdate() - timedelta(200)
            ),
            rnd_approval_date=factory.LazyFunction(lambda: timezone.localdate() - timedelta(190)),
        )

    trial = factory.SubFactory(TrialFactory)
    code = factory.Sequence(lambda n: "".join(chr(65 + (n // 26**i) % 26) for i in (2, 1, 0)))
    name = factory.LazyAttribute(lambda s: f"{s.code} CAMHS")
    nhs_trust = "Example NHS Foundation Trust"
    local_authority = "Example Council"
    recruitment_target = 30
    status = SiteStatus.PROPOSED


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    trial = factory.SubFactory(TrialFactory)
    site = None
    role = "site_coordinator"
    starts_on = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=30))


class DelegationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Delegation

    membership = factory.SubFactory(MembershipFactory)
    duty = "enter_data"
    starts_on = factory.LazyAttribute(lambda d: d.membership.starts_on)
    granted_by = factory.LazyAttribute(lambda d: d.membership.user)
