"""Codes shown as their words: `{{ code|word:words.referrers }}` gives the label the trial
definition gives the code, or the code itself when it has none."""

from django import template

register = template.Library()


@register.filter
def word(code, labels) -> str:
    if not code:
        return ""
    return (labels or {}).get(code, code)
