"""The NHS.UK design system's markup for Django form fields and the header menu.

`{% include "_form_fields.html" %}` lays a form out with these: each field in an
`nhsuk-form-group`, its control carrying the design system's class, hint and error
message tied to it by `aria-describedby`, and choices drawn as `nhsuk-radios` or
`nhsuk-checkboxes` items with the label beside the box."""

from django import forms, template
from django.urls import reverse

register = template.Library()

CONTROL_CLASS = {
    "select": "nhsuk-select",
    "textarea": "nhsuk-textarea",
    "input": "nhsuk-input",
}


@register.filter
def kind(field: forms.BoundField) -> str:
    """What the field is drawn as: radios, checkboxes, checkbox (one box), select,
    textarea or input."""
    widget = field.field.widget
    if isinstance(widget, forms.RadioSelect):
        return "radios"
    if isinstance(widget, forms.CheckboxSelectMultiple):
        return "checkboxes"
    if isinstance(widget, forms.CheckboxInput):
        return "checkbox"
    if isinstance(widget, forms.Select):
        return "select"
    if isinstance(widget, forms.Textarea):
        return "textarea"
    return "input"


def described_by(field: forms.BoundField) -> str:
    ids = []
    if field.help_text:
        ids.append(f"{field.auto_id}-hint")
    if field.errors:
        ids.append(f"{field.auto_id}-error")
    return " ".join(ids)


@register.filter
def control(field: forms.BoundField) -> str:
    """The field's input, select or textarea with the design system's classes."""
    name = kind(field)
    css = CONTROL_CLASS.get(name, "nhsuk-input")
    if field.errors:
        css += f" {css}--error"
    if name == "input" and isinstance(field.field.widget, forms.DateInput):
        css += " nhsuk-input--width-10"
    attrs = {"class": css}
    if described := described_by(field):
        attrs["aria-describedby"] = described
    return field.as_widget(attrs=attrs)


@register.filter
def choices_of(field: forms.BoundField) -> list[dict]:
    """The radios or checkboxes of a choice field, each with its id, value, label and
    whether it is chosen."""
    return [
        {
            "id": choice.id_for_label,
            "value": choice.data["value"],
            "label": choice.choice_label,
            "checked": choice.data["selected"],
        }
        for choice in field.subwidgets
        if choice.data["value"] not in ("", None)
    ]


@register.filter
def first_control_id(field: forms.BoundField) -> str:
    """Where an error summary's link for this field lands: its control, or the first of
    its radios or checkboxes."""
    if kind(field) in ("radios", "checkboxes"):
        choices = choices_of(field)
        if choices:
            return choices[0]["id"]
    return field.auto_id or ""


@register.inclusion_tag("_menu_item.html", takes_context=True)
def menu_item(context, label: str, url_name: str, count: int = 0) -> dict:
    """A header menu entry, marked current when the page is under it; `count` shows how
    many things wait there."""
    url = reverse(url_name)
    request = context.get("request")
    path = request.path if request is not None else ""
    current = path == url if url == "/" else path.startswith(url)
    return {"label": label, "url": url, "current": current, "count": count}
