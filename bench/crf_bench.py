"""Benchmark of form entry through the API on PostgreSQL (not a test).

Builds a trial of 2,000 randomised families with every visit entered (baseline, 6, 12 and
18 months: about 60,000 responses, bulk-written as set-up), leaving one form free per
family: the 18-month CORE-10. Then 8 client processes, each with its own API token, POST
that form for their share of the families through the whole stack (token auth, DRF,
`response_submit`: role and duty, gates, checks, scoring, window, history, ledger), and the
script prints submissions per second and p95 latency beside the same number of plain
single-row INSERTs (autocommit, one row each, 8 clients) into a table of their own, in the
same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/reconnect_bench \
        .venv/bin/python bench/crf_bench.py [--families 2000] [--seconds 20]
"""

import argparse
import json
import multiprocessing as mp
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from randomise_bench import build as build_trial  # noqa: E402  (sets the environment first)
from randomise_bench import setup_django  # noqa: E402

TIMED_VISIT, TIMED_FORM = "month_18", "core10"


def build(url: str, families: int) -> dict:
    """Families randomised 546 days ago (today is the 18-month target) with all visits
    entered but the timed form."""
    import random

    from django.contrib.auth import get_user_model
    from knox.models import AuthToken

    from core.channels import Channel
    from core.clock import today
    from crf.entry import _scored
    from crf.loading import forms_load, shipped_spec_files
    from crf.models import Response
    from crf.selectors import current_definitions, schedule_of
    from crf.validation import check
    from demo.answers import answers_for
    from randomisation.models import Allocation
    from randomisation.services import family_randomise
    from sites.memberships import delegation_grant, membership_grant
    from trial.collection import collection_status
    from trial.models import Family, Trial

    built = build_trial(url, families)
    trial = Trial.objects.get()
    manager = trial.memberships.get(role="trial_manager").user
    coordinator = get_user_model().objects.get(pk=built["coordinator"])
    site = trial.sites.get()
    assessor = get_user_model().objects.create_user("assessor.buc", "a@example.test", "x")
    membership = membership_grant(
        actor=manager,
        channel=Channel.COMMAND,
        user=assessor,
        trial=trial,
        role="outcome_assessor",
        site=site,
        starts_on=today(),
    )
    delegation_grant(
        membership=membership,
        duty="enter_data",
        actor=manager,
        channel=Channel.COMMAND,
        starts_on=today(),
    )
    forms_load(trial=trial, paths=shipped_spec_files(), actor=manager, channel=Channel.COMMAND)
    definitions = current_definitions(trial)
    allowed = collection_status(Family.objects.get(pk=built["families"][0]))
    rng = random.Random(1)
    filled = {}
    for form, definition in definitions.items():
        if all(allowed.may(s) for s in definition.spec.sources):
            values = answers_for(definition.spec, today(), rng, fixed={"item_6": 0})
            checked = check(definition.spec, values)
            scores, _alerts = _scored(definition, checked)
            filled[form] = (definition, checked.values, scores)

    def bulk(visit, forms, ids):
        rows = [
            Response(
                family_id=fid,
                definition=filled[f][0],
                form=f,
                visit=visit,
                status="complete",
                values=filled[f][1],
                scores=filled[f][2],
                dated_on=today(),
                entered_by=coordinator,
                updated_by=coordinator,
            )
            for fid in ids
            for f in forms
            if f in filled and not (visit == TIMED_VISIT and f == TIMED_FORM)
        ]
        Response.objects.bulk_create(rows, batch_size=2000)
        return len(rows)

    schedule = schedule_of(trial)
    ids = built["families"]
    written = bulk(schedule.baseline.key, schedule.baseline.forms, ids)
    print(f"Baseline entered ({written:,} responses); randomising {len(ids):,} families ...")
    for family in Family.objects.filter(pk__in=ids).select_related("site", "trial", "screening"):
        family_randomise(family=family, actor=coordinator, channel=Channel.COMMAND)
    Allocation.objects.update(
        randomised_at=Allocation.objects.first().randomised_at - timedelta(days=546)
    )
    for visit in schedule.visits:
        if not visit.before_randomisation:
            written += bulk(visit.key, visit.forms, ids)
    tokens = [AuthToken.objects.create(assessor)[1] for _ in range(8)]
    print(f"{Response.objects.count():,} responses entered for {len(ids):,} families.\n")
    return {"families": ids, "tokens": tokens, "values": filled[TIMED_FORM][1]}


def _client(url, token, family_ids, values, seconds, ready, queue) -> None:
    os.environ["DATABASE_URL"] = url
    setup_django()
    from django.db import connection
    from rest_framework.test import APIClient

    client = APIClient(HTTP_HOST="127.0.0.1")
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    body = json.dumps({"form": TIMED_FORM, "visit": TIMED_VISIT, "values": values})
    # One read through the same stack first, so that the timed requests do not include
    # loading the URLs, views and serializers in a fresh process.
    client.get(f"/api/v1/families/{family_ids[0]}/responses/")
    ready.wait()
    deadline = time.time() + seconds
    latencies, failures = [], 0
    for family_id in family_ids:
        if time.time() >= deadline:
            break
        t0 = time.perf_counter()
        answer = client.post(
            f"/api/v1/families/{family_id}/responses/", body, content_type="application/json"
        )
        latencies.append(time.perf_counter() - t0)
        failures += answer.status_code != 201
    connection.close()
    queue.put((latencies, time.time(), failures))


def _inserter(url, count, ready, queue) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        ready.wait()
        latencies = []
        for n in range(count):
            t0 = time.perf_counter()
            conn.execute(
                "INSERT INTO bench_plain (family, payload) VALUES (%s, %s)",
                (n, json.dumps({"item_1": 1})),
            )
            latencies.append(time.perf_counter() - t0)
    queue.put((latencies, time.time(), 0))


def run(ctx, target, args_for, clients: int) -> tuple[float, float, int, int]:
    """Start `clients` processes; the clock starts when every one is ready (a busy machine
    takes longer than any fixed delay to start Django in each)."""
    queue = ctx.Queue()
    ready = ctx.Barrier(clients + 1)
    procs = [ctx.Process(target=target, args=(*args_for(i), ready, queue)) for i in range(clients)]
    for p in procs:
        p.start()
    ready.wait()
    start_at = time.time()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    latencies = sorted(x for r, _, _ in results for x in r)
    elapsed = max(finished for _, finished, _ in results) - start_at
    return (
        len(latencies) / elapsed,
        latencies[int(0.95 * (len(latencies) - 1))] * 1000,
        len(latencies),
        sum(f for _, _, f in results),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database (it is dropped and recreated).")
    from audit_bench import ensure_database

    ensure_database(url)
    setup_django()
    built = build(url, args.families)
    ids, clients = built["families"], 8
    ctx = mp.get_context("spawn")
    rate, p95, done, failed = run(
        ctx,
        _client,
        lambda i: (url, built["tokens"][i], ids[i::clients], built["values"], args.seconds),
        clients,
    )
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "DROP TABLE IF EXISTS bench_plain; CREATE TABLE bench_plain "
            "(id bigserial PRIMARY KEY, family int, payload jsonb)"
        )
    share = [done // clients + (1 if i < done % clients else 0) for i in range(clients)]
    plain_rate, plain_p95, plain_done, _ = run(ctx, _inserter, lambda i: (url, share[i]), clients)
    print(f"{'':34} {'per second':>11} {'p95 ms':>8} {'count':>7}")
    print(f"{'API form submissions (8 clients)':34} {rate:>11,.0f} {p95:>8.1f} {done:>7,}")
    plain = f"{plain_rate:>11,.0f} {plain_p95:>8.1f} {plain_done:>7,}"
    print(f"{'plain single-row INSERTs (8 clients)':34} {plain}")
    if failed:
        print(f"{failed} submissions were refused: the figures above include them.")


if __name__ == "__main__":
    main()
