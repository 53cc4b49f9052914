"""No test module reads the clock when it is imported or collected.

A date taken at collection is yesterday's for a run that passes midnight, and the
service it is handed to reads today's: a suite started at 23:30 then fails on its
own calendar, not on the code. Each case reads the clock when it runs.
"""

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
CLOCK_READS = {"today", "now", "localdate", "localtime"}


class _ImportTimeClockReads(ast.NodeVisitor):
    """Calls to the clock outside any function body: module and class bodies,
    decorators (parametrize lists) and argument defaults."""

    def __init__(self) -> None:
        self.depth = 0
        self.found: list[tuple[int, str]] = []

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for outer in (*node.decorator_list, *node.args.defaults, *node.args.kw_defaults):
            if outer is not None:
                self.visit(outer)
        self.depth += 1
        for statement in node.body:
            self.visit(statement)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    def visit_Call(self, node: ast.Call) -> None:
        called = node.func
        name = called.attr if isinstance(called, ast.Attribute) else getattr(called, "id", None)
        if self.depth == 0 and name in CLOCK_READS:
            self.found.append((node.lineno, ast.unparse(node)))
        self.generic_visit(node)


def import_time_clock_reads(source: str) -> list[tuple[int, str]]:
    visitor = _ImportTimeClockReads()
    visitor.visit(ast.parse(source))
    return visitor.found


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("ON = today()\n", [(1, "today()")]),
        (
            "@pytest.mark.parametrize('d', [timezone.now()])\ndef test(d): pass\n",
            [(1, "timezone.now()")],
        ),
        ("def f(on=date.today()): pass\n", [(1, "date.today()")]),
        ("class C:\n    at = timezone.localdate()\n", [(2, "timezone.localdate()")]),
        ("def test():\n    on = today()\n", []),
        ("CASES = [lambda: today()]\n", []),
    ],
)
def test_the_check_finds_what_it_looks_for(source, found):
    assert import_time_clock_reads(source) == found


def test_no_test_module_reads_the_clock_when_imported():
    offending = [
        f"{path.relative_to(TESTS.parent)}:{line}: {call}"
        for path in sorted(TESTS.rglob("*.py"))
        for line, call in import_time_clock_reads(path.read_text())
    ]
    assert offending == [], "read the clock inside the test or a lambda:\n" + "\n".join(offending)
