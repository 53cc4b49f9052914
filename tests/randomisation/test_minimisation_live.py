"""Live minimisation: each allocation follows Pocock and Simon's rule on the trial's
factors, is recorded with what it saw and drew, and replays from the sealed seed."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.channels import Channel
from core.errors import Conflict, TrialError
from randomisation.algorithms import minimisation_draws, minimisation_step
from randomisation.models import Allocation, MinimisationStep
from randomisation.selectors import allocations_visible_to
from randomisation.services import family_randomise, sequence_generate
from randomisation.verification import verify_lists

from ..access import consent_v1
from .bulk import bulk_families
from .conftest import sealed_list
from .minimising import minimising

ARMS = ["RECONNECT", "USUAL"]
level = st.sampled_from(["a", "b", "c"])


@st.composite
def situations(draw):
    factors = draw(st.lists(st.sampled_from(["f1", "f2", "f3"]), min_size=1, unique=True))
    levels = {f: draw(level) for f in factors}
    counts = {(f, levels[f], arm): draw(st.integers(0, 30)) for f in factors for arm in ARMS}
    weights = {f: draw(st.sampled_from([0.5, 1.0, 2.0])) for f in factors}
    ratio = draw(st.sampled_from([[1, 1], [2, 1]]))
    return {"levels": levels, "counts": counts, "weights": weights, "ratio": ratio}


unit = st.floats(0, 1, exclude_max=True)


@given(situations(), unit, unit, st.sampled_from(["range", "variance"]))
def test_with_p_one_every_allocation_minimises_the_imbalance(case, tie, draw, measure):
    step = minimisation_step(tie_draw=tie, draw=draw, arms=ARMS, method=measure, p=1, **case)
    assert step.scores[ARMS.index(step.arm)] == pytest.approx(min(step.scores))


@given(situations(), unit, unit, st.floats(0.5, 0.95))
def test_the_preferred_arm_is_taken_exactly_when_the_draw_falls_below_p(case, tie, draw, p):
    step = minimisation_step(tie_draw=tie, draw=draw, arms=ARMS, p=p, **case)
    if step.preferred is None:  # every arm scores the same: in the ratio
        assert step.scores[0] == pytest.approx(step.scores[1])
    else:
        assert (step.arm == step.preferred) == (draw < p)


@given(situations(), unit, unit)
def test_the_same_inputs_always_give_the_same_step(case, tie, draw):
    first = minimisation_step(tie_draw=tie, draw=draw, arms=ARMS, **case)
    assert minimisation_step(tie_draw=tie, draw=draw, arms=ARMS, **case) == first


@settings(max_examples=50)
@given(st.integers(0, 2**128 - 1), st.integers(1, 5000))
def test_the_draws_of_an_allocation_come_from_the_seed_and_its_position_alone(seed, n):
    tie, draw = minimisation_draws(seed, n)
    assert (tie, draw) == minimisation_draws(seed, n)
    assert 0 <= tie < 1 and 0 <= draw < 1
    assert minimisation_draws(seed, n) != minimisation_draws(seed, n + 1)


def _randomise_all(world, families):
    return [
        family_randomise(
            family=f,
            actor=world.coord_buc if f.site == world.buc else world.coord_oxf,
            channel=Channel.API,
        )
        for f in families
    ]


def test_families_are_allocated_by_minimisation_and_every_allocation_replays(world):
    minimising(world)
    seed = sealed_list(world)
    assert seed.method == "minimisation" and seed.strata.count() == 0
    families = bulk_families(world, world.buc, consent_v1(world), 30) + bulk_families(
        world, world.oxf, consent_v1(world), 30, start=31
    )
    allocations = _randomise_all(world, families)
    steps = list(MinimisationStep.objects.order_by("position"))
    assert [s.position for s in steps] == list(range(1, 61))
    assert [s.allocation_id for s in steps] == [a.pk for a in allocations]
    assert all(a.slot_id is None and a.stratum_id is None for a in allocations)
    # Each step saw the totals the earlier ones give, at the family's own levels.
    third = steps[2]
    earlier = steps[:2]
    for factor, level in third.levels.items():
        for arm in ARMS:
            seen = sum(1 for e in earlier if e.levels[factor] == level and e.arm == arm)
            assert third.totals[factor][arm] == seen
    # Randomising again gives the same allocation, consuming nothing.
    again = family_randomise(family=families[0], actor=world.coord_buc, channel=Channel.API)
    assert again.pk == allocations[0].pk and MinimisationStep.objects.count() == 60
    assert verify_lists() == (60, [])


def test_with_p_one_the_arms_stay_balanced_at_every_level(world):
    minimising(world, p=1)
    sealed_list(world)
    families = bulk_families(world, world.buc, consent_v1(world), 40)
    _randomise_all(world, families)
    for step in MinimisationStep.objects.all():
        assert step.scores[ARMS.index(step.arm)] == pytest.approx(min(step.scores))
    arms = list(Allocation.objects.values_list("arm", flat=True))
    assert abs(arms.count("RECONNECT") - arms.count("USUAL")) <= 1
    assert verify_lists() == (40, [])


@pytest.mark.parametrize(
    "change, problem",
    [
        ({"totals": {"site": {"RECONNECT": 9, "USUAL": 0}}}, "totals recorded differ"),
        ({"draw": 0.123456}, "draws are not the sealed seed's"),
        ({"arm": "flip"}, "arm is not the one the rule gives"),
    ],
)
@pytest.mark.requirement("RND-1")
def test_a_changed_record_fails_the_replay_naming_the_allocation(world, change, problem):
    minimising(world)
    sealed_list(world)
    families = bulk_families(world, world.buc, consent_v1(world), 6)
    _randomise_all(world, families)
    step = MinimisationStep.objects.get(position=4)
    if change.get("arm") == "flip":
        change = {"arm": "USUAL" if step.arm == "RECONNECT" else "RECONNECT"}
    if "totals" in change:
        change = {"totals": {**step.totals, **change["totals"]}}
    MinimisationStep.objects.filter(pk=step.pk).update(**change)
    checked, found = verify_lists()
    assert checked == 6 and found
    assert f"allocation 4 ({step.allocation.family.identifier})" in found[0].where
    assert any(problem in d.problem for d in found)


def test_one_seed_per_trial_and_mode_and_none_allocates_until_sealed(world):
    minimising(world)
    sequence_generate(
        trial=world.trial, actor=world.stats_unblind, channel=Channel.API, mode="test", length=1
    )
    with pytest.raises(Conflict, match="already has a test minimisation seed"):
        sequence_generate(
            trial=world.trial, actor=world.stats_unblind, channel=Channel.API, mode="test", length=1
        )
    family = bulk_families(world, world.buc, consent_v1(world), 1)[0]
    with pytest.raises(TrialError, match="no sealed test minimisation seed"):
        family_randomise(family=family, actor=world.coord_buc, channel=Channel.API)
    assert not Allocation.objects.exists()


def test_a_blinded_viewer_sees_no_arm_of_a_minimised_allocation(world):
    minimising(world)
    sealed_list(world)
    family = bulk_families(world, world.buc, consent_v1(world), 1)[0]
    family_randomise(family=family, actor=world.coord_buc, channel=Channel.API)
    assert allocations_visible_to(world.assessor_buc).get().shown_arm is None
    assert allocations_visible_to(world.stats_unblind).get().shown_arm in ARMS


def test_through_the_api_a_minimising_trial_gets_a_seed_and_a_block_trial_needs_a_length(
    world, api
):
    client = api(world.stats_unblind)
    refused = client.post("/api/v1/randomisation/lists/", {"mode": "test"}, format="json")
    assert refused.status_code == 400 and "length" in refused.content.decode().lower()
    minimising(world)
    made = client.post("/api/v1/randomisation/lists/", {"mode": "test"}, format="json")
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["method"] == "minimisation" and body["strata"] == 0
    assert body["parameters"]["p"] == 0.8 and body["parameters"]["imbalance"] == "range"
    sealed = client.post(f"/api/v1/randomisation/lists/{body['id']}/seal/")
    assert sealed.status_code == 200 and sealed.json()["sealed_at"]
    family = bulk_families(world, world.buc, consent_v1(world), 1)[0]
    family_randomise(family=family, actor=world.coord_buc, channel=Channel.API)
    listed = client.get("/api/v1/randomisation/lists/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [r["slots_used"] for r in rows if r["id"] == body["id"]] == [1]


def test_the_database_holds_one_minimisation_seed_per_trial_and_mode(world):
    from django.db import IntegrityError, transaction

    from randomisation.models import RandomisationList

    minimising(world)
    seed = sealed_list(world)
    twin = RandomisationList.objects.get(pk=seed.pk)
    twin.pk = None
    with pytest.raises(IntegrityError), transaction.atomic():
        twin.save()


def test_an_allocation_that_escaped_the_replay_is_named(world):
    minimising(world)
    sealed_list(world)
    first, stray = bulk_families(world, world.buc, consent_v1(world), 2)
    family_randomise(family=first, actor=world.coord_buc, channel=Channel.API)
    Allocation.objects.create(  # written past the service: no slot and no step
        family=stray, mode="test", arm="USUAL", factor_values={}, randomised_by=world.coord_buc
    )
    checked, found = verify_lists()
    assert checked == 1
    assert [(d.where.split(", ")[-1], d.problem) for d in found] == [
        (stray.identifier, "allocated with no slot and no step")
    ]
