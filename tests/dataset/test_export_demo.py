"""The demo trial exported (an unblinded and a blinded interim snapshot), then read back:
every SPSS and Stata value, label and missing code against the database; the ODM file
against the ODM 1.3.2 XSD and value by value against the CSV files; no arm and no
arm-revealing variable in the blinded bundle; no identity in any; "interim, not locked" in
every file; the R script run on the bundle where R is installed."""

import hashlib
import json
import re
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

import pyreadstat
import pytest
import xmlschema

from audit.events import EventType
from audit.models import AuditEvent
from core.channels import Channel
from crf.models import FormDefinition, NotDone, Response
from dataset.exporting import export_build, export_request
from demo.seed import seed
from randomisation.models import Allocation
from trial.models import Family, PersonIdentity, Trial

from ..conftest import module_transaction
from .export_support import NOT_DONE, STATA, bundle, expected_values, labels_of, odm_xsd, table

pytestmark = [pytest.mark.django_db, pytest.mark.xdist_group("export-demo")]
ARM_REVEALING = {"sae", "service_use", "intervention_receipt"}
ODM = "{http://www.cdisc.org/ns/odm/v1.3}"


@pytest.fixture(scope="module")
def _demo(django_db_setup, django_db_blocker):
    """The demo seeded once for the module, with both bundles built; rolled back at the end."""
    with module_transaction(django_db_blocker):
        with django_db_blocker.unblock():
            seed(log=lambda *_: None)
            trial = Trial.objects.get(code="RC")
            made = {}
            for name, username, blinded in (
                ("unblinded", "stats.unblind", False),
                ("blinded", "stats.blind", True),
            ):
                actor = trial.memberships.get(user__username=username).user
                export = export_request(
                    trial=trial,
                    actor=actor,
                    channel=Channel.COMMAND,
                    blinded=blinded,
                    interim=True,
                    enqueue=False,
                )
                made[name] = export_build(export.pk)
        yield made


@pytest.fixture
def demo(_demo, db):
    return _demo


def _sources(zf) -> dict[tuple[str, str], str]:
    return {(row["file"], row["source"]): row["variable"] for row in table(zf, "dictionary.csv")}


def _randomised_on():
    from django.utils import timezone

    return {
        a.family_id: timezone.localdate(a.randomised_at)
        for a in Allocation.objects.filter(mode="live")
    }


@pytest.mark.requirement("EXP-1")
def test_every_spss_and_stata_value_label_and_missing_code_matches_the_database(demo):
    zf = bundle(demo["unblinded"])
    names = _sources(zf)
    randomised = _randomised_on()
    compared = defaultdict(int)
    with tempfile.TemporaryDirectory() as tmp:
        zf.extractall(tmp)
        for form in Response.objects.values_list("form", flat=True).distinct():
            spss, spss_meta = pyreadstat.read_sav(f"{tmp}/{form}.sav", user_missing=True)
            stata, stata_meta = pyreadstat.read_dta(f"{tmp}/{form}.dta", user_missing=True)
            assert len(spss) == len(stata)
            rows = {
                (r["family"], r["visit"] or "", int(r["repeat"])): i for i, r in spss.iterrows()
            }
            assert len(rows) == (
                Response.objects.filter(form=form).count()
                + NotDone.objects.filter(form=form).count()
            )
            spec = FormDefinition.objects.get(form=form).spec
            for code_labels in labels_of(spec).items():
                key, labels = code_labels
                name = names[(form, key)]
                assert {
                    int(k): v for k, v in spss_meta.variable_value_labels[name].items() if k > 0
                } == labels
                assert stata_meta.variable_value_labels[name] == labels
            for response in Response.objects.filter(form=form).select_related("family"):
                i = rows[(response.family.identifier, response.visit, response.number)]
                for source, want in expected_values(
                    spec, response, randomised.get(response.family_id)
                ).items():
                    name = names[(form, source)]
                    got_spss, got_stata = spss.at[i, name], stata.at[i, name]
                    if want is None:
                        assert got_spss in ("", None) or got_spss != got_spss, (name, got_spss)
                    elif isinstance(want, str):
                        assert got_spss == want and got_stata == want
                    elif want in STATA:
                        assert got_spss == want, (form, name, got_spss)
                        assert got_stata == STATA[want], (form, name, got_stata)
                        assert spss_meta.missing_ranges[name] == [{"lo": -99999.0, "hi": -99991.0}]
                        compared["missing"] += 1
                    else:
                        assert got_spss == pytest.approx(want), (form, name)
                        assert float(got_stata) == pytest.approx(want), (form, name)
                    compared["values"] += 1
            for marked in NotDone.objects.filter(form=form).select_related("family"):
                i = rows[(marked.family.identifier, marked.visit, 1)]
                assert spss.at[i, "form_status"] == "not_done"
                numeric = [
                    v
                    for v, t in spss_meta.readstat_variable_types.items()
                    if t == "double" and v not in ("repeat", "form_version", "visit_day", "arm")
                ]
                assert numeric and all(spss.at[i, v] == NOT_DONE for v in numeric)
                assert all(stata.at[i, v] == "e" for v in numeric)
                compared["not_done"] += 1
            assert spss_meta.file_label.startswith("interim, not locked")
    assert compared["values"] > 5000 and compared["missing"] >= 10 and compared["not_done"] >= 1


@pytest.mark.requirement("EXP-1")
def test_the_families_file_carries_each_familys_arm_and_randomisation(demo):
    zf = bundle(demo["unblinded"])
    families = {r["family"]: r for r in table(zf, "families.csv")}
    assert len(families) == Family.objects.count()
    arms = {"RECONNECT": "1", "USUAL": "2"}
    for allocation in Allocation.objects.filter(mode="live").select_related("family"):
        row = families[allocation.family.identifier]
        assert row["arm"] == arms[allocation.arm] and row["randomised"] == "1"
    with tempfile.TemporaryDirectory() as tmp:
        zf.extractall(tmp)
        _, meta = pyreadstat.read_sav(f"{tmp}/families.sav")
        assert meta.variable_value_labels["arm"] == {1.0: "ReConnect", 2.0: "Usual care"}


@pytest.mark.requirement("EXP-1")
def test_the_odm_file_is_valid_odm_1_3_2_and_carries_the_csv_values(demo):
    zf = bundle(demo["unblinded"])
    raw = zf.read("odm.xml")
    schema = xmlschema.XMLSchema(str(odm_xsd()))
    errors = list(schema.iter_errors(raw.decode("utf-8")))
    assert not errors, str(errors[0])[:2000]
    root = ET.fromstring(raw)
    assert root.get("ODMVersion") == "1.3.2"
    in_odm = {}
    for subject in root.iter(f"{ODM}SubjectData"):
        for event in subject.iter(f"{ODM}StudyEventData"):
            for form in event.iter(f"{ODM}FormData"):
                key = (
                    subject.get("SubjectKey"),
                    form.get("FormOID")[2:],
                    event.get("StudyEventOID")[3:],
                    int(form.get("FormRepeatKey") or 1),
                )
                in_odm[key] = {
                    item.get("ItemOID").split(".", 2)[2]: item.get("Value")
                    for item in form.iter(f"{ODM}ItemData")
                }
    checked = 0
    manifest = json.loads(zf.read("MANIFEST.json"))
    for entry in manifest["forms"]:
        form = entry["form"]
        skip = {
            "family",
            "site",
            "visit",
            "repeat",
            "form_version",
            "form_status",
            "visit_day",
            "arm",
            "data_state",
        }
        for row in table(zf, f"{form}.csv"):
            items = in_odm[(row["family"], form, row["visit"] or "any_time", int(row["repeat"]))]
            wide = {k: v for k, v in row.items() if k not in skip and v != ""}
            assert items == wide, (form, row["family"])
            checked += len(wide)
    for row in table(zf, "families.csv"):
        items = in_odm[(row["family"], "families", "families", 1)]
        assert items == {
            k: v for k, v in row.items() if k not in ("family", "site", "data_state") and v != ""
        }
    assert checked > 2000


@pytest.mark.requirement("EXP-1")
def test_the_long_file_holds_every_wide_value_and_nothing_else(demo):
    zf = bundle(demo["unblinded"])
    long = defaultdict(dict)
    for row in table(zf, "long.csv"):
        long[(row["family"], row["form"], row["visit"], row["repeat"])][row["variable"]] = row[
            "value"
        ]
    wide = {}
    keys = {
        "family",
        "site",
        "visit",
        "repeat",
        "form_version",
        "form_status",
        "visit_day",
        "arm",
        "data_state",
    }
    for entry in json.loads(zf.read("MANIFEST.json"))["forms"]:
        for row in table(zf, f"{entry['form']}.csv"):
            wide[(row["family"], entry["form"], row["visit"], row["repeat"])] = {
                k: v for k, v in row.items() if k not in keys and v != ""
            }
    assert {k: v for k, v in long.items()} == {k: v for k, v in wide.items() if v}


def test_a_blinded_export_has_no_arm_and_no_arm_revealing_variable(demo):
    zf = bundle(demo["blinded"])
    names = zf.namelist()
    assert not {n.split(".")[0] for n in names} & ARM_REVEALING
    manifest = json.loads(zf.read("MANIFEST.json"))
    assert {f["form"] for f in manifest["forms"]}.isdisjoint(ARM_REVEALING)
    assert manifest["kind"] == "blinded" and manifest["analysis_plan"] is None
    revealing = {
        (spec_field.key, d.form)
        for d in FormDefinition.objects.filter(reveals_arm=True)
        for spec_field in d.spec.fields
    }
    for row in table(zf, "dictionary.csv"):
        assert row["variable"] != "arm" and row["form"] not in ARM_REVEALING
        assert (row["source"], row["form"]) not in revealing
        assert row["label"] != "Allocated arm"
    arm_of = {a.family.identifier: a.arm for a in Allocation.objects.select_related("family")}
    for name in names:
        if name.endswith(".csv") and name != "dictionary.csv":
            rows = table(zf, name)
            assert "arm" not in (rows[0] if rows else {}), name
            if "long" in name:
                assert "arm" not in zf.read(name).decode().splitlines()[0].split(",")
        if name.endswith((".csv", ".xml", ".R", ".do")):
            text = zf.read(name)
            for word in (
                b"relatedness",
                b"intervention_receipt",
                b"service_use",
                b"I.families.arm",
            ):
                assert word not in text, (name, word)
        if name.endswith(".sav"):
            with tempfile.TemporaryDirectory() as tmp:
                zf.extract(name, tmp)
                _, meta = pyreadstat.read_sav(f"{tmp}/{name}", metadataonly=True)
            assert "arm" not in meta.column_names
    # Nothing the exporter adds to a row (the families' and the key columns) tells the arm.
    for row_name in ("families.csv", "psi4sf.csv"):
        rows = [r for r in table(zf, row_name) if r["family"] in arm_of]
        for column in rows[0]:
            if column in ("family",):
                continue
            by_value = defaultdict(set)
            for r in rows:
                by_value[r[column]].add(arm_of[r["family"]])
            assert any(len(arms) > 1 for arms in by_value.values()) or len(by_value) == 1, (
                row_name,
                column,
            )


@pytest.mark.requirement("IDN-1")
def test_no_name_nhs_number_date_of_birth_or_address_leaves_in_any_file(demo):
    secrets = []
    for identity in PersonIdentity.objects.all():
        secrets += [identity.given_name, identity.family_name, identity.nhs_number]
        if identity.date_of_birth:
            secrets.append(identity.date_of_birth.isoformat())
    secrets += [
        f.identity.address
        for f in Family.objects.select_related("identity")
        if hasattr(f, "identity")
    ]
    secrets = [s for s in secrets if s and len(s) >= 4]
    assert len(secrets) > 20
    for export in (demo["unblinded"], demo["blinded"]):
        zf = bundle(export)
        for name in zf.namelist():
            text = zf.read(name).decode("utf-8", errors="replace")
            for secret in secrets:
                assert not re.search(rf"\b{re.escape(secret)}\b", text), (name, "identity")
            if name.endswith((".csv", ".xml")):
                # Dates leave as days from randomisation: no calendar date of a family.
                dates = set(re.findall(r"\b\d{4}-\d{2}-\d{2}\b", text))
                assert dates <= {export.requested_at.date().isoformat()} | {
                    AuditEvent.objects.get(seq=export.ledger_seq).at.date().isoformat()
                }, (name, sorted(dates)[:3])


def test_an_interim_snapshot_says_so_in_every_file(demo):
    zf = bundle(demo["unblinded"])
    with tempfile.TemporaryDirectory() as tmp:
        zf.extractall(tmp)
        for name in zf.namelist():
            path = Path(tmp) / name
            if name.endswith(".csv") and name != "dictionary.csv":
                rows = table(zf, name)
                assert zf.read(name).decode().splitlines()[0].endswith(",data_state"), name
                assert all(r["data_state"] == "interim, not locked" for r in rows), name
            elif name.endswith(".sav"):
                assert pyreadstat.read_sav(path, metadataonly=True)[1].file_label.startswith(
                    "interim, not locked"
                )
            elif name.endswith(".dta"):
                assert pyreadstat.read_dta(path, metadataonly=True)[1].file_label.startswith(
                    "interim, not locked"
                )
            else:
                assert "interim, not locked" in path.read_text(encoding="utf-8"), name
    manifest = json.loads(zf.read("MANIFEST.json"))
    assert manifest["interim"] is True and manifest["state"] == "interim, not locked"
    assert manifest["lock"] is None


@pytest.mark.requirement("EXP-1")
def test_the_manifest_gives_every_files_digest_and_the_ledger_position(demo):
    export = demo["unblinded"]
    zf = bundle(export)
    manifest = json.loads(zf.read("MANIFEST.json"))
    listed = {f["name"]: f for f in manifest["files"]}
    assert set(listed) == set(zf.namelist()) - {"MANIFEST.json"}
    for name, entry in listed.items():
        data = zf.read(name)
        assert entry == {
            "name": name,
            "sha256": hashlib.sha256(data).hexdigest(),
            "size": len(data),
        }
    event = AuditEvent.objects.get(seq=manifest["ledger"]["seq"])
    assert manifest["ledger"]["head"] == event.hash
    for entry in manifest["forms"]:
        assert entry["rows"] == len(table(zf, f"{entry['form']}.csv"))
        assert entry["specs"] == [
            {"version": d.version, "sha256": d.sha256}
            for d in FormDefinition.objects.filter(form=entry["form"])
        ]
    built = AuditEvent.objects.get(event_type=EventType.EXPORT_BUILT, object_id=str(export.pk))
    assert (
        built.changes["manifest_sha256"][1] == hashlib.sha256(zf.read("MANIFEST.json")).hexdigest()
    )
    assert built.changes["manifest_sha256"][1] == export.manifest_sha256


@pytest.mark.r
def test_the_r_script_reads_every_file_with_its_labels_and_levels(demo, tmp_path):
    zf = bundle(demo["unblinded"])
    zf.extractall(tmp_path)
    script = (
        'source("analysis.R"); '
        "cat(length(trial), nrow(trial$psi4sf), levels(trial$families$arm), "
        'attr(trial$psi4sf$total, "label"), sum(!is.na(trial$psi4sf$item_5_missing)), sep="|")'
    )
    done = subprocess.run(
        ["Rscript", "-e", script], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    files, rows, arm1, arm2, label, declined = done.stdout.strip().split("|")
    manifest = json.loads(zf.read("MANIFEST.json"))
    assert int(files) == len(manifest["forms"]) + 1
    assert int(rows) == len(table(zf, "psi4sf.csv"))
    assert (arm1, arm2) == ("ReConnect", "Usual care")
    assert label == "Total stress (36-180)"
    assert int(declined) == sum(1 for r in table(zf, "psi4sf.csv") if r["item_5"] == "-99992")
    assert int(declined) > 0
