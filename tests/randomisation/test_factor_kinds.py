"""Stratification factors come from the definition: each names its kind and source, a wrong
one is refused where it is written, and a family's level is read (or refused, naming the
factor) by its kind."""

import hashlib
from pathlib import Path

import pytest
import yaml
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from core.clock import today
from core.errors import TrialError
from randomisation import factor_kinds
from randomisation.factors import factor_values, factor_words
from randomisation.services import strata_levels
from trial.definition import DefinitionError, read_definition
from trial.models import Family, ScreeningRecord

from ..access import family_at

SHIPPED = Path(__file__).resolve().parents[2] / "trial" / "definitions" / "reconnect.yaml"
REFERRER = {
    "key": "referrer",
    "label": "Referred by",
    "kind": "record_field",
    "source": "screening.referrer_type",
    "levels": "referrers",
}


def redefined(trial, change) -> None:
    """The trial's definition, changed by `change(randomisation section)`."""
    data = yaml.safe_load(trial.definition_source)
    change(data["randomisation"])
    source = yaml.safe_dump(data, sort_keys=False)
    trial.definition_source = source
    trial.definition_sha256 = hashlib.sha256(source.encode()).hexdigest()
    trial.save(update_fields=["definition_source", "definition_sha256"])


@pytest.mark.parametrize(
    ("change", "key", "problem"),
    [
        (
            lambda r: r["factors"].append({"key": "site", "label": "Again", "kind": "site"}),
            "randomisation.factors[3].key",
            "'site' appears twice",
        ),
        (
            lambda r: r["factors"][1].update(source="family.colour"),
            "randomisation.factors[1].source",
            "must be one of family.legal_status, screening.referrer_type",
        ),
        (
            lambda r: r["factors"][1].update(levels="referrers"),
            "randomisation.factors[1].levels",
            "family.legal_status takes its codes from legal_statuses",
        ),
        (
            lambda r: r["factors"][0].update(source="family.site"),
            "randomisation.factors[0].source",
            "give no source",
        ),
        (
            lambda r: r["factors"][2].update(source="date_of_birth"),
            "randomisation.factors[2].source",
            "child_age_at_referral",
        ),
        (
            lambda r: r["factors"].append(
                {"key": "mood", "label": "Mood", "kind": "form_answer", "source": "core10"}
            ),
            "randomisation.factors[3].source",
            "<form>.<field>",
        ),
        (
            lambda r: r["factors"].append(
                {"key": "out", "label": "Outcome", "kind": "form_answer", "source": "sae.outcome"}
            ),
            "randomisation.factors[3].source",
            "'sae' is not a form of the baseline visit",
        ),
        (
            lambda r: r["expected_frequencies"].update(parity={"first": 1}),
            "randomisation.expected_frequencies.parity",
            "is not the key of one of the factors",
        ),
        (
            lambda r: r["expected_frequencies"].update(legal_status={"cp_plan": 1}),
            "randomisation.expected_frequencies.legal_status",
            "must give every level: cp_plan, pre_proceedings",
        ),
        (
            lambda r: r["minimisation"]["weights"].update(parity=2),
            "randomisation.minimisation.weights.parity",
            "is not the key of one of the factors",
        ),
    ],
)
def test_a_wrong_factor_is_refused_naming_where_it_is_written(tmp_path, change, key, problem):
    data = yaml.safe_load(SHIPPED.read_text())
    change(data["randomisation"])
    path = tmp_path / "def.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(DefinitionError) as refused:
        read_definition(path)
    assert refused.value.key == key and problem in refused.value.problem


def test_a_field_of_the_screening_record_can_be_a_factor(world):
    redefined(world.trial, lambda r: r["factors"].append(REFERRER))
    family = family_at(world, "BUC")
    values = factor_values(family, today())
    assert values == {
        "site": "BUC",
        "legal_status": "cp_plan",
        "age_band": "under_6m",
        "referrer": "social_worker",
    }
    assert ("Referred by", "Social worker") in factor_words(family, values)
    # BUC, OXF and MKN x two legal statuses x two age bands x six referrers.
    assert len(strata_levels(world.trial, None)) == 3 * 2 * 2 * 6
    assert len(strata_levels(world.trial, world.buc)) == 2 * 2 * 6


def test_a_family_with_no_age_band_is_refused_naming_it_and_sent_to_the_screening(world, page):
    family = family_at(world, "BUC")
    ScreeningRecord.objects.filter(pk=family.screening_id).update(age_band="")
    family.screening.refresh_from_db()
    with pytest.raises(TrialError) as refused:
        factor_values(family, today())
    assert refused.value.field == "age_band" and "not known" in refused.value.message
    shown = page(world.coord_buc).get(f"/families/{family.pk}/randomise/").content.decode()
    assert refused.value.message.replace("'", "&#x27;") in shown
    assert reverse("screening-detail", args=[family.screening_id]) in shown


def test_a_legal_status_outside_the_code_list_is_refused_and_sent_to_baseline(world, page):
    family = family_at(world, "BUC")
    Family.objects.filter(pk=family.pk).update(legal_status="unknown")
    family.refresh_from_db()
    with pytest.raises(TrialError) as refused:
        factor_values(family, today())
    assert refused.value.field == "legal_status"
    assert refused.value.message == "Legal status is not recorded for this family."
    shown = page(world.coord_buc).get(f"/families/{family.pk}/randomise/").content.decode()
    assert "Legal status is not recorded" in shown
    assert reverse("crf-casebook", args=[family.pk]) + "#visit-baseline" in shown


def test_a_kind_no_setting_names_is_a_configuration_error(world, settings):
    settings.RANDOMISATION_FACTOR_KINDS = {"site": "randomisation.factor_kinds.SiteFactor"}
    factor_kinds._kinds.cache_clear()
    try:
        with pytest.raises(ImproperlyConfigured, match="legal_status is of kind record_field"):
            factor_values(family_at(world, "BUC"), today())
    finally:
        factor_kinds._kinds.cache_clear()
