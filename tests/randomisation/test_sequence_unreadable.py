"""The allocation sequence is read by no one who enrols or assesses: only the unblinded
statistician who generated it may export it; everyone else is told neither a slot's arm
nor that the export exists (ICH E9; CONSORT item 10)."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from audit.models import AuditEvent
from randomisation.models import Slot

from ..access import sealed_test_list

OTHERS = ["manager", "coord.buc", "coord.oxf", "assessor.buc", "pi.buc", "monitor.buc"]
OTHERS += ["stats.blind", "chief"]


def clients(user):
    api, page = APIClient(), Client()
    api.force_authenticate(user)
    page.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return api, page


@pytest.mark.requirement("RND-1")
@pytest.mark.parametrize("who", OTHERS)
def test_no_one_but_the_unblinded_statistician_reads_the_sequence(world, who):
    rlist = sealed_test_list(world)
    api, page = clients(world.users[who])
    exported = api.get(f"/api/v1/randomisation/lists/{rlist.pk}/export/")
    downloaded = page.get(f"/statistics/lists/{rlist.pk}/export.csv")
    assert exported.status_code in (403, 404) and downloaded.status_code in (403, 404)
    listed = api.get("/api/v1/randomisation/lists/")
    if listed.status_code == 200:
        rows = listed.json()["results"]
        assert all(set(row) >= {"list_sha256"} for row in rows)
        assert "RECONNECT" not in listed.content.decode() and "USUAL" not in listed.content.decode()
    assert Slot.objects.filter(stratum__rlist=rlist).exists()


@pytest.mark.requirement("RND-1")
def test_the_unblinded_statistician_exports_it_and_the_export_is_recorded(world):
    rlist = sealed_test_list(world)
    api, _ = clients(world.stats_unblind)
    answer = api.get(f"/api/v1/randomisation/lists/{rlist.pk}/export/")
    assert answer.status_code == 200
    text = b"".join(answer.streaming_content).decode()
    assert "RECONNECT" in text and "USUAL" in text
    assert AuditEvent.objects.filter(
        event_type="sequence_exported", actor_username="stats.unblind"
    ).exists()
