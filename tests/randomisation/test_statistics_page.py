import csv
import io

import pytest

from audit.models import AuditEvent
from randomisation.models import RandomisationList


def test_the_design_report_page_shows_both_methods_both_guessers_and_a_recommendation(world, page):
    answer = page(world.stats_blind).get("/statistics/?block_sizes=2,4&families=30&runs=10&seed=1")
    content = answer.content.decode()
    assert answer.status_code == 200
    for words in (
        "Permuted blocks",
        "Minimisation",
        "Convergence guess: correct",
        "Informed guess: correct",
        "judged by this",
        "Mean final imbalance between the arms",
        'data-testid="recommendation"',
        "which understates it",
        "The trial's definition says: Permuted blocks.",
    ):
        assert words in content, words
    assert content.count("judged by this") == 2
    assert "<svg" in content and "<rect" in content and "Minimisation: P(|imbalance|" in content
    assert 'name="action" value="generate"' not in content  # blinded: no list management


def test_a_report_too_large_for_a_page_is_refused_naming_the_runs(world, page):
    content = (
        page(world.stats_blind).get("/statistics/?families=1000&runs=500&seed=1").content.decode()
    )
    assert 'data-field="runs"' in content and "allow 100 runs" in content
    assert 'data-testid="recommendation"' not in content


def test_a_bad_block_size_is_named(world, page):
    content = (
        page(world.stats_unblind)
        .get("/statistics/?method=blocks&block_sizes=3&families=10&runs=2&seed=1")
        .content.decode()
    )
    assert 'data-field="block_sizes"' in content and "multiple of the ratio" in content


@pytest.mark.requirement("AUD-5")
def test_the_unblinded_statistician_generates_seals_and_exports_on_the_pages(world, page):
    client = page(world.stats_unblind)
    client.post("/statistics/", {"action": "generate", "mode": "test", "length": 6})
    rlist = RandomisationList.objects.get()
    client.post("/statistics/", {"action": "seal", "list": rlist.pk})
    rlist.refresh_from_db()
    assert rlist.sealed
    answer = client.get(f"/statistics/lists/{rlist.pk}/export.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(answer.streaming_content).decode())))
    assert len(rows) == 12 * 6 and {r["arm"] for r in rows} == {"RECONNECT", "USUAL"}
    event = AuditEvent.objects.get(event_type="sequence_exported")
    assert (event.actor_username, event.channel) == ("stats.unblind", "web")


def test_a_minimising_trial_gets_its_seed_on_the_page_without_a_length(world, page):
    from tests.randomisation.minimising import minimising

    minimising(world)
    client = page(world.stats_unblind)
    html = client.get("/statistics/").content.decode()
    assert "Generate the minimisation seed" in html and 'name="length"' not in html
    done = client.post("/statistics/", {"action": "generate", "mode": "test"}, follow=True)
    rlist = RandomisationList.objects.get()
    assert rlist.method == "minimisation" and rlist.strata.count() == 0
    assert "Check it, then seal it" in done.content.decode()
    client.post("/statistics/", {"action": "seal", "list": rlist.pk})
    rlist.refresh_from_db()
    assert rlist.sealed
    html = client.get("/statistics/").content.decode()
    assert "minimisation seed (0 allocated)" in html
    assert f"/statistics/lists/{rlist.pk}/export.csv" not in html
