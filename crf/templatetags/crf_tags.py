from django import template

register = template.Library()


@register.filter
def has(collection, key) -> bool:
    return key in (collection or ())
