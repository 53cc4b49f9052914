import csv
import io

from audit.models import AuditEvent
from randomisation.models import RandomisationList


def test_the_design_report_page_gives_the_figures_and_a_plot(world, page):
    answer = page(world.stats_blind).get(
        "/statistics/?method=blocks&block_sizes=2,4&families=30&runs=10&seed=1"
    )
    content = answer.content.decode()
    assert answer.status_code == 200 and "correct_guess_probability" in content
    assert "<svg" in content and "<rect" in content
    assert 'name="action" value="generate"' not in content  # blinded: no list management


def test_a_bad_block_size_is_named(world, page):
    content = (
        page(world.stats_unblind)
        .get("/statistics/?method=blocks&block_sizes=3&families=10&runs=2&seed=1")
        .content.decode()
    )
    assert 'data-field="block_sizes"' in content and "multiple of the ratio" in content


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
