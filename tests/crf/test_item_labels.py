"""A grid item's question has one wording, wherever it is shown: the entry page, the trail
in words, the export's variables and the question a query names."""

import pytest

from crf.rendering import widgets
from crf.spec import parse_spec, read_spec
from dataset.export.variables import form_variables
from review.naming import slot_label

from .test_instruments import FORMS

SHIPPED = sorted(FORMS.glob("*.yaml"))


def labels_everywhere(spec) -> dict[str, set[str]]:
    """Each grid item key with every label the four readers give it."""
    seen: dict[str, set[str]] = {}
    for w in widgets(spec, {}, {}):
        if w.type == "grid":
            for slot in w.slots:
                seen.setdefault(slot.key, set()).add(slot.label)
    for v in form_variables([spec], dates="days_from_randomisation"):
        if v.source in seen:
            seen[v.source].add(v.label)
    for key in seen:
        seen[key] |= {spec.slot_label(key), slot_label(spec, key)}
    return seen


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_reader_words_a_shipped_grid_item_as_its_spec_does(path):
    spec = read_spec(path)
    for f in spec.fields:
        if f.type != "grid":
            continue
        seen = labels_everywhere(spec)
        for n, key in enumerate(f.item_keys(), start=1):
            assert seen[key] == {f.item_label.replace("{n}", str(n))}


def test_a_grid_with_no_item_label_names_its_items_by_the_grid_and_number():
    spec = parse_spec(
        {
            "form": "f",
            "version": 1,
            "fields": [
                {"key": "core", "type": "grid", "label": "CORE-10", "items": 2, "min": 0, "max": 4}
            ],
        }
    )
    assert labels_everywhere(spec) == {"core_1": {"CORE-10 item 1"}, "core_2": {"CORE-10 item 2"}}


def test_the_shipped_grids_read_as_before():
    def grid_labels(stem: str) -> list[str]:
        spec = read_spec(FORMS / f"{stem}.yaml")
        return [spec.slot_label(k) for f in spec.fields if f.type == "grid" for k in f.item_keys()]

    assert grid_labels("core10-v1")[:2] == ["CORE-10 item 1", "CORE-10 item 2"]
    assert grid_labels("psi4sf-v1")[-1] == "PSI-4-SF item 36"
    assert grid_labels("intervention-receipt-v1") == ["1", "2", "3", "4", "5"]
