from django import template

register = template.Library()


@register.filter
def has(collection, key) -> bool:
    return key in (collection or ())


@register.filter
def first_message(errors: dict) -> str:
    """The form-level message of a refusal (the service's summary)."""
    return (errors or {}).get("", next(iter((errors or {}).values()), ""))
