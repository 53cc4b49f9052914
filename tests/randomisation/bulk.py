"""Many enrolled families quickly, for concurrency tests and benchmarks: rows written in
bulk (set-up, not behaviour under test), consistent with what enrolment writes."""

from datetime import timedelta

from core.clock import today
from trial.identifiers import family_identifier, screening_identifier
from trial.models import (
    ConsentRecord,
    Family,
    IdentifierCounter,
    Participant,
    PersonIdentity,
    ScreeningRecord,
)


def bulk_families(world, site, version, count: int, *, start: int = 1) -> list[Family]:
    trial, coordinator = world.trial, world.coord_buc if site.code == "BUC" else world.coord_oxf
    referral = today() - timedelta(days=30)
    screenings = ScreeningRecord.objects.bulk_create(
        [
            ScreeningRecord(
                trial=trial,
                site=site,
                identifier=screening_identifier(trial.code, site.code, n),
                referral_date=referral,
                referrer_type="social_worker",
                child_born=True,
                child_age_days=100 if n % 3 else 300,
                child_age_months=3 if n % 3 else 9,
                age_band="under_6m" if n % 3 else "6_to_24m",
                answers={},
                eligible=True,
                outcome="consented",
                recorded_by=coordinator,
            )
            for n in range(start, start + count)
        ],
        batch_size=500,
    )
    families = Family.objects.bulk_create(
        [
            Family(
                trial=trial,
                site=site,
                identifier=family_identifier(trial.code, site.code, n),
                sequence=n,
                screening=s,
                legal_status="cp_plan" if n % 2 else "pre_proceedings",
                enrolled_on=referral,
                enrolled_by=coordinator,
            )
            for n, s in zip(range(start, start + count), screenings, strict=True)
        ],
        batch_size=500,
    )
    children = Participant.objects.bulk_create(
        [Participant(family=f, role="child", number=1) for f in families], batch_size=500
    )
    parents = Participant.objects.bulk_create(
        [
            Participant(family=f, role="parent", number=1, parental_responsibility=True)
            for f in families
        ],
        batch_size=500,
    )
    born = today() - timedelta(days=60)
    PersonIdentity.objects.bulk_create(
        [
            PersonIdentity(
                participant=c,
                given_name="X",
                family_name="Y",
                date_of_birth=born if i % 3 else born - timedelta(days=300),
            )
            for i, c in enumerate(children)
        ],
        batch_size=500,
    )
    ConsentRecord.objects.bulk_create(
        [
            ConsentRecord(
                family=f,
                participant=p,
                version=version,
                consent_date=referral,
                taken_by=coordinator,
                method="in_person",
                answers=dict.fromkeys(version.items, True),
                recorded_by=coordinator,
            )
            for f, p in zip(families, parents, strict=True)
        ],
        batch_size=500,
    )
    IdentifierCounter.objects.update_or_create(
        site=site, kind="family", defaults={"last": start + count - 1}
    )
    return families
