from django import template

register = template.Library()


@register.filter
def change_rows(changes: dict) -> list[tuple]:
    """{field: [old, new]} as (field, old, new) rows, fields in order."""
    rows = []
    for field, value in sorted((changes or {}).items()):
        if isinstance(value, list) and len(value) == 2:
            rows.append((field, value[0], value[1]))
        else:
            rows.append((field, None, value))
    return rows


@register.filter
def get_item(mapping: dict, key):
    return (mapping or {}).get(key, [])
