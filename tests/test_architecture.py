"""Rules of the code's shape that a reviewer would otherwise have to remember: one
concealment policy reads the arm, and one sender sends every email."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APPS = [
    "core",
    "audit",
    "sites",
    "trial",
    "lock",
    "randomisation",
    "crf",
    "dataset",
    "reports",
    "review",
    "api",
    "demo",
    "config",
]

# Where an arm may be read, and why. Everything else is handed records already shaped by
# the policy (`shown_arm`).
ARM_READERS = {
    "randomisation/concealment.py": "the policy itself",
    "randomisation/services.py": "allocating: the allocation takes its slot's arm",
    "randomisation/minimisation.py": "allocating by minimisation: the arm the rule decides",
    "randomisation/export.py": "the unblinded statistician's copy of a sealed list",
    "randomisation/verification.py": "regenerating sealed lists to compare their digests",
    "randomisation/models.py": "the fields themselves",
    "randomisation/simulation.py": "the design report's made-up families, never a real one",
    # Aggregate reports count by arm only for a scope the policy allows (reports/scope.py:
    # `by_arm` from the sites where the viewer may learn arms, `closed` for the unblinded
    # statistician); pooled, they never select the arm.
    "reports/consort.py": "the CONSORT figures by arm, when the scope is by arm",
    "reports/listings.py": "the listing behind a figure by arm, when the scope is by arm",
    "reports/balance.py": "baseline balance and allocations by factor level, closed only",
    "reports/adverse_events.py": "SAEs by arm, closed only",
    "reports/outcome.py": "the primary outcome so far by arm, closed only",
}
QUERY_CALLS = {"F", "values", "values_list", "only", "defer", "order_by", "annotate", "filter"}


def sources():
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" not in path.parts:
                yield path.relative_to(ROOT).as_posix(), path


def arm_reads(tree: ast.AST) -> list[int]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "arm":
            found.append(node.lineno)
        elif isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name in QUERY_CALLS:
                words = [a.value for a in node.args if isinstance(a, ast.Constant)]
                words += [k.arg for k in node.keywords if k.arg]
                if any(
                    isinstance(w, str) and re.fullmatch(r"(\w+__)*arm(__\w+)*", w) for w in words
                ):
                    found.append(node.lineno)
    return found


def test_only_the_concealment_policy_reads_an_arm():
    readers = {
        name: lines
        for name, path in sources()
        if name not in ARM_READERS and (lines := arm_reads(ast.parse(path.read_text())))
    }
    assert readers == {}


def test_no_template_reads_an_arm_but_the_shaped_one():
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in ROOT.glob("*/templates/**/*.html")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\.arm\b", line)
    ]
    assert found == []


def test_the_check_finds_a_read_where_there_is_one():
    code = "a.arm\nAllocation.objects.values('arm')\nF('slot__arm')\nx.filter(arm='USUAL')\n"
    assert arm_reads(ast.parse(code)) == [1, 2, 3, 4]


def test_every_email_goes_through_the_one_sender():
    senders = {
        name
        for name, path in sources()
        if re.search(r"\b(send_mail|send_mass_mail|EmailMessage|mail_admins)\b", path.read_text())
    }
    assert senders == {"sites/notifications.py"}
