"""Plain words: the visible text of a page (no scripts, styles or tag attributes) holds no
snake_case code, no `app.Model 123` record name, no dotted key such as `values.item_1`, and
no key of the trial definition or of a form spec that has a label of its own. The crawl of
every demo role's pages applies it (test_crawled_pages.py)."""

import re
from html.parser import HTMLParser

from django.contrib.auth import get_user_model

from crf.models import FormDefinition
from trial.config import config_of
from trial.models import Trial

User = get_user_model()

# A token is taken whole, through dots, @, hyphens and slashes: an email address or a path
# is never read as a code, and "reconnect_export.zip" is one token (a file name, allowed below).
_START, _END = r"(?<![\w.@/-])", r"(?![\w@/-]|\.\w)"
SNAKE = re.compile(_START + r"[a-z]+_[a-z0-9_]+" + _END)
RECORD = re.compile(_START + r"[a-z_]+\.[A-Z][A-Za-z]+(?: \d+)?" + _END)
DOTTED = re.compile(_START + r"[a-z][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)+" + _END)

# What a page may show that looks like a code: (pages, token, why). Both are regular
# expressions, the pages matched against the start of the URL, the token in full;
# "{username}" stands for any account's username.
ALLOWED: list[tuple[str, str, str]] = [
    # Latin abbreviations, in hints ("e.g. BUC").
    ("/", r"e\.g|i\.e", "an abbreviation, not a key"),
    # Account pages show each person's username beside their name: people sign in with it.
    ("/people/", "{username}", "the username a person signs in with"),
    # A file is named as it is saved: the export bundle and the files in it.
    ("/", r"[\w.-]+\.(?:zip|csv|json|xml|sav|dta|do|R|txt)", "a file's name"),
    # An export's page lists the data dictionary: the statisticians' variable names, as the
    # files name them. (The demo holds no export, so the crawl does not reach one today.)
    (r"/exports/\d+/", r"[a-z][a-z0-9_]*", "a variable name of the export's dictionary"),
    # The validation matrix names each test as the test suite does, for an inspector to find.
    ("/audit/validation/", r"[\w./:\[\]+-]+", "a test's name, as the suite names it"),
]


class _VisibleText(HTMLParser):
    """The text a reader sees: element content, without scripts, styles or attributes."""

    HIDDEN = {"script", "style", "template"}

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.HIDDEN:
            self._hidden += 1

    def handle_endtag(self, tag):
        if tag in self.HIDDEN and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    return " ".join(" ".join(parser.parts).split())


def _reads_as_a_code(key: str, label: str) -> bool:
    """Whether a reader would take the key for a code rather than a word: "cp_plan",
    "core10", "USUAL" (labelled "Usual care"), "prfq" (labelled "... (PRFQ)"); not "video"
    or "guess", which are words whatever their labels."""
    words = set(re.findall(r"[\w-]+", label))
    if not re.search("[A-Za-z]", key):
        return False
    if re.search(r"[_\d]", key):
        return True
    if key.isupper():
        return key not in words
    return key.upper() in words


def labelled_keys() -> dict[str, str]:
    """Every code of the trial definition and of the loaded form specs that has a label,
    and that a reader would not take for a word of that label: code -> label."""
    pairs: list[tuple[str, str]] = []
    for trial in Trial.objects.all():
        config = config_of(trial)
        for labels in (
            config.referrers,
            config.decline_reasons,
            config.other_reasons,
            config.legal_statuses,
            config.data_sources,
            config.randomisation.arms if config.randomisation else None,
        ):
            pairs += (labels or {}).items()
        pairs += [(b.key, b.label) for b in config.age_bands or []]
        pairs += [(i.key, i.label) for i in config.consent_items or []]
        pairs += [(w.key, w.label) for w in config.withdrawal_levels or []]
        pairs += [(p.key, p.label) for p in config.analysis.populations]
        if config.eligibility:
            pairs += [(c.key, c.text) for c in config.eligibility.criteria]
        if config.schedule:
            pairs += [(v.key, v.label) for v in config.schedule.visits]
    for definition in FormDefinition.objects.all():
        spec = definition.spec
        pairs.append((spec.form, spec.title))
        pairs += [(s.key, s.label) for s in spec.scores]
        for f in spec.fields:
            pairs += [(key, f.item_label or f.label) for key in f.slot_keys()]
            pairs += [(value, label) for value, label in f.choices if value != label]
    return {key: label for key, label in pairs if _reads_as_a_code(key, label)}


def allow_list() -> list[tuple[re.Pattern, re.Pattern]]:
    usernames = "|".join(map(re.escape, User.objects.values_list("username", flat=True)))
    return [
        (re.compile(page), re.compile(token.replace("{username}", f"(?:{usernames})")))
        for page, token, _ in ALLOWED
    ]


def offences(url: str, text: str, keys: re.Pattern, allowed) -> list[tuple[str, str]]:
    """(token, the text around it) for each code the page's text shows, once each."""
    found = {}
    for pattern in (SNAKE, RECORD, DOTTED, keys):
        for match in pattern.finditer(text):
            token = match.group()
            if any(page.match(url) and word.fullmatch(token) for page, word in allowed):
                continue
            context = text[max(0, match.start() - 40) : match.end() + 40]
            found.setdefault(match.span(), (token, context))
    return [found[span] for span in sorted(found)]


def key_words(keys: dict[str, str]) -> re.Pattern:
    """The labelled codes as one pattern, each taken whole as a token."""
    return re.compile(_START + "(?:" + "|".join(map(re.escape, keys)) + ")" + _END)
