"""Real concurrent clients on PostgreSQL: each thread has its own connection and its own
transaction, as separate gunicorn workers would."""

import threading
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import connection, connections

from audit.chain import GENESIS_HASH, link_hash
from audit.models import AuditEvent
from core.channels import Channel
from core.clock import today
from core.errors import TrialError
from core.roles import Role
from sites.lifecycle import site_move_status, site_register
from sites.memberships import membership_grant
from sites.models import Membership, Site, SiteStatusStep

from ..factories import UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(n: int, work: Callable[[int], object], timeout: float = 600) -> list[object]:
    """Start n threads at one barrier; return each one's result or exception."""
    barrier = threading.Barrier(n)
    results: list[object] = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:  # the outcome under test
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    stuck = [i for i, t in enumerate(threads) if t.is_alive()]
    assert not stuck, f"clients {stuck} still running after {timeout:.0f} s"
    return results


def assert_chain_unbroken() -> None:
    prev, expected_seq = GENESIS_HASH, 1
    for event in AuditEvent.objects.order_by("seq"):
        assert event.seq == expected_seq, f"gap before #{event.seq}"
        assert event.hash == link_hash(prev, event.chained_fields()), f"#{event.seq} broken"
        prev, expected_seq = event.hash, expected_seq + 1


def test_eight_managers_approving_one_site_at_once_make_one_step(world):
    results = race(
        8,
        lambda i: site_move_status(
            site=world.mkn,
            actor=world.manager,
            channel=Channel.API,
            to_status="approved",
            ethics_approval_date=today() - timedelta(days=9),
            rnd_approval_date=today(),
        ),
    )
    winners = [r for r in results if isinstance(r, Site)]
    refusals = [r for r in results if isinstance(r, TrialError)]
    assert len(winners) == 1 and len(refusals) == 7, results
    assert all("next step is active" in r.message for r in refusals)
    assert SiteStatusStep.objects.filter(site=world.mkn).count() == 1
    assert AuditEvent.objects.filter(event_type="site_status").count() == 1
    assert_chain_unbroken()


def test_the_same_role_granted_concurrently_is_held_once(world):
    user = UserFactory(username="racer")
    results = race(
        6,
        lambda i: membership_grant(
            actor=world.manager,
            channel=Channel.API,
            user=user,
            trial=world.trial,
            role=Role.MONITOR,
            site=world.oxf,
        ),
    )
    assert sum(isinstance(r, Membership) for r in results) == 1
    assert all(isinstance(r, (Membership, TrialError)) for r in results), results
    assert Membership.objects.filter(user=user, ends_on__isnull=True).count() == 1
    assert_chain_unbroken()


def test_concurrent_site_registrations_keep_one_gapless_chain(world):
    codes = ["AAA", "BBB", "CCC", "DDD", "EEE", "FFF", "GGG", "HHH"]
    results = race(
        8,
        lambda i: site_register(
            trial=world.trial,
            actor=world.manager,
            channel=Channel.API,
            code=codes[i],
            name=f"Site {i}",
            nhs_trust="Trust",
            local_authority="Council",
            recruitment_target=10,
        ),
    )
    assert all(isinstance(r, Site) for r in results), results
    assert_chain_unbroken()


def test_the_database_itself_refuses_a_bad_site_code(world):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE sites_site SET code = 'bu1' WHERE id = %s", [world.buc.pk])


def test_the_database_refuses_an_active_site_without_a_pi(world):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Site.objects.filter(pk=world.buc.pk).update(principal_investigator=None)
