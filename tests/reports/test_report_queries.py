"""Every report, on every channel (page, SVG, PDF, JSON, CSV), costs the same number of
database queries for 10 families as for 1,000, for a viewer who sees arms, for the unblinded
statistician (the arms compared) and for a blinded one (pooled). The families are written in
bulk (set-up, not behaviour under test): randomised to both arms long enough ago that every
follow-up window has opened, with baseline and follow-up forms, a primary outcome, a form
marked not done, a withdrawal, an SAE and a query every so often."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.clock import today
from crf.models import NotDone, Query, Response
from randomisation.models import Allocation
from tests.access import consent_v1
from tests.crf.conftest import load_forms
from tests.randomisation.bulk import bulk_families
from trial.models import Withdrawal

REPORTS = [
    "/reports/",
    "/reports/consort/",
    "/reports/consort.svg",
    "/reports/consort.pdf",
    "/reports/consort/randomised/?page=2",
    "/reports/recruitment/",
    "/reports/recruitment.svg",
    "/reports/quality/",
    "/reports/balance/",
    "/reports/safety/",
    "/reports/outcome/",
    "/api/v1/reports/consort/",
    "/api/v1/reports/consort.csv",
    "/api/v1/reports/recruitment/",
    "/api/v1/reports/recruitment.csv",
    "/api/v1/reports/quality/",
    "/api/v1/reports/quality.csv",
    "/api/v1/reports/balance/",
    "/api/v1/reports/balance.csv",
    "/api/v1/reports/safety/",
    "/api/v1/reports/safety.csv",
    "/api/v1/reports/outcome/",
    "/api/v1/reports/outcome.csv",
]
VIEWERS = ["manager", "stats.unblind", "stats.blind"]
FOLLOW_UP = ["month_6", "month_12", "month_18"]


def grow(world, count: int, *, start: int) -> None:
    """`count` more randomised families at BUC and OXF, with their forms."""
    forms = load_forms(world)
    half = count // 2
    families = bulk_families(world, world.buc, consent_v1(world), half, start=start)
    families += bulk_families(world, world.oxf, consent_v1(world), count - half, start=start)
    mode = world.trial.randomisation_mode
    allocations = Allocation.objects.bulk_create(
        Allocation(
            family=f,
            mode=mode,
            arm=("RECONNECT", "USUAL")[i % 2],
            factor_values={"site": f.site.code, "legal_status": f.legal_status},
            randomised_by=world.coord_buc,
        )
        for i, f in enumerate(families)
    )
    # Randomised 20 months ago: every follow-up window has opened, the 18-month one closed.
    Allocation.objects.filter(pk__in=[a.pk for a in allocations]).update(
        randomised_at=timezone.now() - timedelta(days=600)
    )
    day0 = today() - timedelta(days=600)

    def response(family, visit, form, values, *, scores=None, dated=day0):
        return Response(
            family=family,
            definition=forms[form],
            form=form,
            visit=visit,
            status="complete",
            values=values,
            scores=scores or {},
            dated_on=dated,
            entered_by=world.coord_buc,
            updated_by=world.coord_buc,
        )

    rows = []
    for i, family in enumerate(families):
        rows.append(
            response(
                family,
                "baseline",
                "demographics",
                {"parent_age_years": 20 + i % 15, "ethnicity": "white", "interpreter": False},
            )
        )
        rows.append(response(family, "baseline", "core10", {}, scores={"total": i % 40}))
        for n, visit in enumerate(FOLLOW_UP[: 1 + i % 3]):
            rows.append(
                response(
                    family,
                    visit,
                    "intervention_receipt",
                    {"completed_on": str(day0), "sessions_1": i % 4},
                    dated=day0 + timedelta(days=182 * (n + 1) + (40 if i % 7 == 0 else 0)),
                )
            )
        if i % 3 == 2:
            rows.append(
                response(
                    family,
                    "month_18",
                    "primary_outcome",
                    {"living_with_birth_parent": bool(i % 2), "source": "la_records"},
                    dated=day0 + timedelta(days=546),
                )
            )
        if i % 10 == 0:
            rows.append(
                response(family, "", "sae", {"kind": "hospitalisation", "outcome": "resolved"})
            )
    made = Response.objects.bulk_create(rows, batch_size=500)
    NotDone.objects.bulk_create(
        NotDone(
            family=f,
            visit="month_6",
            form="care_index",
            reason="No video",
            recorded_by=world.manager,
        )
        for f in families[::5]
    )
    Withdrawal.objects.bulk_create(
        Withdrawal(
            family=f,
            level=("intervention", "questionnaires", "all_contact", "complete")[i % 4],
            withdrawal_date=day0 + timedelta(days=100),
            reason="Moved away.",
            recorded_by=world.coord_buc,
        )
        for i, f in enumerate(families[::6])
    )
    Query.objects.bulk_create(
        Query(
            response=r,
            family=r.family,
            site=r.family.site,
            field="parent_age_years",
            text="Please check.",
            raised_by=world.monitor_buc,
        )
        for r in made[::9]
    )


def queries_of(world, who: str, url: str) -> tuple[int, int, bytes]:
    client = Client()
    client.force_login(world.users[who], backend="django.contrib.auth.backends.ModelBackend")
    client.get(url)  # per-process caches (content types, the definition) fill
    cache.clear()  # figures kept per site (sites.kept): count the report computed afresh
    with CaptureQueriesContext(connection) as made:
        answer = client.get(url)
        body = b"".join(answer.streaming_content) if answer.streaming else answer.content
    assert answer.status_code in (200, 403), (url, answer.status_code)
    return len(made.captured_queries), answer.status_code, body


@pytest.mark.parametrize("who", VIEWERS)
def test_every_report_costs_the_same_queries_for_10_and_for_1000_families(world, who):
    grow(world, 10, start=1)
    few = {url: queries_of(world, who, url) for url in REPORTS}
    grow(world, 990, start=11)
    many = {url: queries_of(world, who, url) for url in REPORTS}
    grown = {url: (few[url][0], many[url][0]) for url in REPORTS if many[url][0] != few[url][0]}
    assert grown == {}
    # The families reached every report the viewer may read (its figures changed).
    read = [url for url in REPORTS if few[url][1] == 200 and url != "/reports/"]
    assert read and [url for url in read if few[url][2] == many[url][2]] == []
