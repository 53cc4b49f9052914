"""The forms page's list of forms due (crf.due): the same forms, in the same order, as the
collection rule works out afresh for the viewer (crf.selectors.outstanding_forms), for
every kind of viewer and with a search; each site's list kept between views while its data
stand; a change at one site works out that site again and no other; and the nightly pass
leaves the day's first views nothing to work out."""

import pytest
from django.conf import settings
from django.core.cache import cache

import crf.due
from crf.due import forms_due
from crf.selectors import outstanding_forms
from crf.tasks import keep_forms_due_nightly
from sites.selectors import sites_visible_to
from tests.access import another_family_at_buc, family_at
from trial.selectors import families_visible_to

from .conftest import assessor_at, enter, randomised

pytestmark = pytest.mark.django_db


def order(item):
    return (not item.overdue, item.family.identifier, item.visit.day, item.form)


def afresh(user, search=""):
    """What the rule gives the user today, sorted as the page lists it."""
    families = families_visible_to(user)
    if search:
        families = families.filter(identifier__icontains=search)
    return sorted(outstanding_forms(families, viewer=user), key=order)


def shown(items):
    return [(i.family.pk, i.visit.key, i.form, i.title, i.latest, i.overdue) for i in items]


@pytest.fixture
def trial_under_way(world):
    """Families at both sites: due, overdue, not yet randomised, and one with a form done."""
    families = {
        "due": randomised(world, days_ago=160),  # BUC: the 6-month window opened 6 days ago
        "overdue": randomised(world, "OXF", days_ago=215),  # it closed 5 days ago
        # BUC: 6 and 12 months overdue
        "late": randomised(world, days_ago=400, family=another_family_at_buc(world)),
        "waiting": family_at(world, "OXF"),  # baseline forms due before randomisation
    }
    enter(world, families["late"], "core10", "month_6", actor=world.assessor_buc)
    cache.clear()
    return families


def worked_out(monkeypatch) -> list[list[int]]:
    """The sites each view worked out again (the real work done, the calls recorded)."""
    calls: list[list[int]] = []
    real = crf.due._due_at

    def recorded(sites, day):
        calls.append(sorted(s.pk for s in sites))
        return real(sites, day)

    monkeypatch.setattr(crf.due, "_due_at", recorded)
    return calls


@pytest.mark.parametrize(
    "who", ["manager", "coord_buc", "coord_oxf", "monitor_buc", "assessor_buc", "pi_buc"]
)
def test_each_viewer_is_shown_the_forms_the_rule_gives_them_in_the_pages_order(
    world, trial_under_way, who
):
    user = getattr(world, who)
    expected = afresh(user)
    assert expected  # every viewer here has forms due
    due = forms_due(user)
    assert shown(due) == shown(expected)
    assert len(due) == len(expected)
    assert due.overdue == sum(i.overdue for i in expected) > 0


def test_forms_that_reveal_the_arm_are_left_out_where_the_viewer_is_blinded(world, trial_under_way):
    revealing = {i.form for i in forms_due(world.manager) if i.reveals_arm}
    assert revealing  # the unblinded trial manager sees them
    assert not [i for i in forms_due(world.assessor_buc) if i.reveals_arm]
    assert not [i for i in forms_due(assessor_at(world, world.oxf)) if i.reveals_arm]


def test_a_page_is_the_same_slice_of_the_list_however_it_is_cut(world, trial_under_way):
    due = forms_due(world.manager)
    whole = shown(list(due))
    assert len(whole) == len(due) > 6
    assert shown(due[2:5]) == whole[2:5]
    assert shown(due[5 : len(due) + 10]) == whole[5:]
    assert shown([due[0], due[-1]]) == [whole[0], whole[-1]]
    assert shown(due[::2]) == whole[::2]
    with pytest.raises(IndexError):
        due[len(due)]


@pytest.mark.parametrize("search", ["buc", "OXF", "nobody-has-this"])
def test_a_search_lists_the_forms_of_the_families_it_finds(world, trial_under_way, search):
    due = forms_due(world.manager, search=search)
    assert shown(due) == shown(afresh(world.manager, search))
    assert all(search.lower() in i.family.identifier.lower() for i in due)


def test_a_view_with_nothing_changed_works_nothing_out_again(world, trial_under_way, monkeypatch):
    calls = worked_out(monkeypatch)
    first = shown(forms_due(world.manager))
    assert calls == [sorted(s.pk for s in sites_visible_to(world.manager))]
    assert shown(forms_due(world.manager)) == first
    assert shown(forms_due(world.coord_buc)) == shown(afresh(world.coord_buc))
    assert len(calls) == 1


def test_a_form_entered_at_one_site_works_out_that_site_again_and_shows_at_once(
    world, trial_under_way, monkeypatch
):
    calls = worked_out(monkeypatch)
    forms_due(world.manager)
    due = trial_under_way["due"]
    enter(world, due, "core10", "month_6", actor=world.assessor_buc)
    after = forms_due(world.manager)
    assert calls[1:] == [[world.buc.pk]]
    assert (due.pk, "month_6", "core10") not in {(i.family.pk, i.visit.key, i.form) for i in after}
    assert shown(after) == shown(afresh(world.manager))


def test_the_nightly_pass_leaves_the_days_first_views_nothing_to_work_out(
    world, trial_under_way, monkeypatch
):
    assert settings.CELERY_BEAT_SCHEDULE["forms-due-nightly"]["task"] == keep_forms_due_nightly.name
    calls = worked_out(monkeypatch)
    assert keep_forms_due_nightly() == 1
    assert len(calls) == 1
    for who in ("manager", "coord_buc", "coord_oxf", "assessor_buc"):
        user = getattr(world, who)
        assert shown(forms_due(user)) == shown(afresh(user))
    assert len(calls) == 1


def test_an_unreachable_cache_costs_time_never_the_list(world, trial_under_way, settings):
    expected = shown(afresh(world.manager))
    # Nothing listens on port 9: every read and write of the cache fails.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",
            "OPTIONS": {"socket_connect_timeout": 0.2},
        }
    }
    assert shown(forms_due(world.manager)) == expected
