"""The bundle's CDISC ODM 1.3.2 file: the metadata (study events, forms, item groups,
items, code lists) and every family's data, written as the records arrive. Item values are
the same codes as in the CSV files; an absent value has no ItemData."""

import re
from collections.abc import Iterator, Sequence
from itertools import groupby
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from .rows import Record
from .scope import Scope
from .tabular import cell
from .variables import MISSING, Variable

NAMESPACE = "http://www.cdisc.org/ns/odm/v1.3"
DATA_TYPES = {
    "integer": "integer",
    "days": "integer",
    "coded": "integer",
    "yes_no": "integer",
    "indicator": "integer",
    "decimal": "float",
    "text": "text",
    "date": "date",
}
FAMILIES = "families"
ANY_TIME = "any_time"
# XML 1.0 cannot carry these characters at all.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _a(value: Any) -> str:
    return quoteattr(NOT_XML.sub("", str(value)))


def _text(value: str) -> str:
    return f'<TranslatedText xml:lang="en">{escape(NOT_XML.sub("", value))}</TranslatedText>'


def item_oid(table: str, variable: Variable) -> str:
    return f"I.{table}.{variable.name}"


def _item_def(table: str, v: Variable) -> str:
    parts = [f"<Description>{_text(v.label)}</Description>"]
    if v.unit:
        parts.append(f'<MeasurementUnitRef MeasurementUnitOID="MU.{_unit_key(v.unit)}"/>')
    for comparator, bound in (("GE", v.minimum), ("LE", v.maximum)):
        if bound is not None and v.kind in ("integer", "decimal"):
            parts.append(
                f'<RangeCheck Comparator="{comparator}" SoftHard="Hard">'
                f"<CheckValue>{cell(float(bound))}</CheckValue>"
                f"<ErrorMessage>{_text(f'out of range ({comparator} {cell(float(bound))})')}"
                "</ErrorMessage></RangeCheck>"
            )
    if v.codes:
        parts.append(f'<CodeListRef CodeListOID="CL.{table}.{v.name}"/>')
    if v.source:
        parts.append(f'<Alias Context="system" Name={_a(v.source)}/>')
    return (
        f"<ItemDef OID={_a(item_oid(table, v))} Name={_a(v.name)} "
        f'DataType="{DATA_TYPES[v.kind]}">{"".join(parts)}</ItemDef>'
    )


def _code_list(table: str, v: Variable) -> str:
    items = [
        f'<CodeListItem CodedValue="{code}"><Decode>{_text(label)}</Decode>'
        f'<Alias Context="system" Name={_a(system)}/></CodeListItem>'
        for code, system, label in v.codes
    ]
    if v.numeric:
        items += [
            f'<CodeListItem CodedValue="{MISSING[m].code}"><Decode>{_text(MISSING[m].label)}'
            "</Decode></CodeListItem>"
            for m in v.missing
        ]
    data_type = "integer" if v.numeric else "text"
    return (
        f'<CodeList OID="CL.{table}.{v.name}" Name={_a(v.name)} DataType="{data_type}">'
        f"{''.join(items)}</CodeList>"
    )


def _unit_key(unit: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", unit).strip("_") or "unit"


def _metadata(scope: Scope, family_vars: Sequence[Variable]) -> Iterator[str]:
    tables = [(FAMILIES, "Families", family_vars, False)] + [
        (p.form, p.title, p.variables, p.repeatable) for p in scope.forms
    ]
    units = sorted({v.unit for _, _, vs, _ in tables for v in vs if v.unit})
    if units:
        yield "<BasicDefinitions>"
        for unit in units:
            yield (
                f'<MeasurementUnit OID="MU.{_unit_key(unit)}" Name={_a(unit)}>'
                f"<Symbol>{_text(unit)}</Symbol></MeasurementUnit>"
            )
        yield "</BasicDefinitions>"
    yield f'<MetaDataVersion OID="MDV.{scope.bundle_id}" Name={_a(scope.bundle_id)}>'
    events = _events(scope)
    yield "<Protocol>"
    for n, (key, _, _) in enumerate(events, start=1):
        yield f'<StudyEventRef StudyEventOID="SE.{key}" OrderNumber="{n}" Mandatory="No"/>'
    yield "</Protocol>"
    for key, label, forms in events:
        kind = "Common" if key == FAMILIES else "Unscheduled" if key == ANY_TIME else "Scheduled"
        refs = "".join(
            f'<FormRef FormOID="F.{form}" OrderNumber="{n}" Mandatory="No"/>'
            for n, form in enumerate(forms, start=1)
        )
        yield (
            f'<StudyEventDef OID="SE.{key}" Name={_a(label)} Repeating="No" Type="{kind}">'
            f"{refs}</StudyEventDef>"
        )
    for table, title, _, repeatable in tables:
        repeating = "Yes" if repeatable else "No"
        yield (
            f'<FormDef OID="F.{table}" Name={_a(title)} Repeating="{repeating}">'
            f'<ItemGroupRef ItemGroupOID="IG.{table}" Mandatory="Yes"/></FormDef>'
        )
    for table, title, variables, _ in tables:
        refs = "".join(
            f'<ItemRef ItemOID={_a(item_oid(table, v))} OrderNumber="{n}" Mandatory="No"/>'
            for n, v in enumerate(variables, start=1)
        )
        yield (
            f'<ItemGroupDef OID="IG.{table}" Name={_a(title)} Repeating="No">{refs}</ItemGroupDef>'
        )
    for table, _, variables, _ in tables:
        for v in variables:
            yield _item_def(table, v)
    for table, _, variables, _ in tables:
        for v in variables:
            if v.codes:
                yield _code_list(table, v)
    yield "</MetaDataVersion>"


def _events(scope: Scope) -> list[tuple[str, str, list[str]]]:
    exported = {p.form for p in scope.forms}
    events = [(FAMILIES, "The family in the trial", [FAMILIES])]
    for visit in scope.config.schedule.visits:
        forms = [f for f in visit.forms if f in exported]
        if forms:
            events.append((visit.key, visit.label, forms))
    any_time = [f for f in scope.config.schedule.any_time if f in exported]
    if any_time:
        events.append((ANY_TIME, "Any time", any_time))
    return events


def _value(text: str) -> str:
    """A text attribute value, escaped (line breaks kept)."""
    return escape(NOT_XML.sub("", text), ATTRIBUTE)


ATTRIBUTE = {'"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}


class OdmWriter:
    """The ODM file written as the families arrive: `subject` once per family, in order."""

    def __init__(self, path: Path, scope: Scope, family_vars: Sequence[Variable]) -> None:
        self.out = path.open("w", encoding="utf-8", newline="\n")
        self.scope = scope
        self.family_prefixes = self._prefixes(FAMILIES, family_vars)
        self.prefixes = {p.form: self._prefixes(p.form, p.variables) for p in scope.forms}
        at = scope.as_of.isoformat()
        trial = scope.trial
        out = self.out
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        out.write(
            f'<ODM xmlns="{NAMESPACE}" ODMVersion="1.3.2" FileType="Snapshot" '
            f'Granularity="All" FileOID={_a(scope.bundle_id)} CreationDateTime="{at}" '
            f'AsOfDateTime="{at}" Description={_a(f"{scope.kind} export, {scope.state}")} '
            'SourceSystem="ReConnect trial management system">\n'
        )
        out.write(
            f'<Study OID="ST.{trial.code}"><GlobalVariables>'
            f"<StudyName>{escape(trial.short_name)}</StudyName>"
            f"<StudyDescription>{escape(trial.name)} ({escape(scope.state)})</StudyDescription>"
            f"<ProtocolName>{escape(trial.code)}</ProtocolName></GlobalVariables>\n"
        )
        for piece in _metadata(scope, family_vars):
            out.write(piece + "\n")
        out.write("</Study>\n")
        out.write(
            f'<ClinicalData StudyOID="ST.{trial.code}" '
            f'MetaDataVersionOID="MDV.{scope.bundle_id}">\n'
        )

    @staticmethod
    def _prefixes(table: str, variables: Sequence[Variable]) -> list[tuple[str, bool]]:
        """Each item's opening text, and whether its values are text to escape (numbers
        are written as they are)."""
        return [
            (f'<ItemData ItemOID={_a(item_oid(table, v))} Value="', not v.numeric)
            for v in variables
        ]

    @staticmethod
    def _items(prefixes: list[tuple[str, bool]], texts: Sequence[str]) -> str:
        return "".join(
            f'{prefix}{_value(text) if escaped else text}"/>'
            for (prefix, escaped), text in zip(prefixes, texts, strict=True)
            if text != ""
        )

    def subject(
        self, identifier: str, family_texts: Sequence[str], forms: Sequence[tuple[Record, list]]
    ) -> None:
        """One family: its own items, then each form (a record and its values as text), the
        forms in visit order."""
        pieces = [
            f"<SubjectData SubjectKey={_a(identifier)}>",
            f'<StudyEventData StudyEventOID="SE.{FAMILIES}"><FormData FormOID="F.{FAMILIES}">'
            f'<ItemGroupData ItemGroupOID="IG.{FAMILIES}">',
            self._items(self.family_prefixes, family_texts),
            "</ItemGroupData></FormData></StudyEventData>",
        ]
        for visit, in_visit in groupby(forms, key=lambda pair: pair[0].visit):
            pieces.append(f'<StudyEventData StudyEventOID="SE.{visit or ANY_TIME}">')
            for record, texts in in_visit:
                form = record.part.form
                repeat = f' FormRepeatKey="{record.number}"' if record.part.repeatable else ""
                pieces.append(
                    f'<FormData FormOID="F.{form}"{repeat}><ItemGroupData ItemGroupOID="IG.{form}">'
                    f"{self._items(self.prefixes[form], texts)}</ItemGroupData></FormData>"
                )
            pieces.append("</StudyEventData>")
        pieces.append("</SubjectData>\n")
        self.out.write("".join(pieces))

    def close(self) -> None:
        self.out.write("</ClinicalData>\n</ODM>\n")
        self.out.close()
