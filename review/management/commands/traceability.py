import json
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from review.validation import (
    PROVEN,
    MatrixError,
    build,
    load_requirements,
    load_results,
    paths_under,
    render_markdown,
)


class Command(BaseCommand):
    help = (
        "Write the validation matrix (docs/validation.md and docs/validation.json): each "
        "requirement of docs/requirements.yaml, the tests marked with it and their last "
        "result, from the results file the test run wrote (var/traceability.json)."
    )

    def add_arguments(self, parser):
        defaults = paths_under(Path(settings.BASE_DIR))
        for name, help_text in (
            ("requirements", "the requirements list"),
            ("results", "the results file written by the test run"),
            ("markdown", "the matrix for people to read"),
            ("json", "the matrix as data (the validation page reads it)"),
        ):
            parser.add_argument(
                f"--{name}",
                type=Path,
                default=defaults[name],
                metavar="FILE",
                help=f"{help_text} (default {defaults[name].relative_to(settings.BASE_DIR)})",
            )
        parser.add_argument(
            "--check",
            action="store_true",
            help="exit 1 unless every requirement is proven by a test that passed",
        )

    def handle(self, *args, **options):
        try:
            requirements = load_requirements(options["requirements"])
            results = load_results(options["results"])
        except MatrixError as error:
            raise CommandError(str(error)) from None
        now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        matrix = build(requirements, results, generated_at=now)
        for path, text in (
            (options["markdown"], render_markdown(matrix)),
            (options["json"], json.dumps(matrix, indent=1) + "\n"),
        ):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        summary = matrix["summary"]
        self.stdout.write(
            f"{summary[PROVEN]} of {len(requirements)} requirements proven "
            f"({', '.join(f'{v} {k}' for k, v in summary.items() if k != PROVEN and v)}"
            f"); wrote {options['markdown']} and {options['json']}"
            if len(requirements) != summary[PROVEN]
            else f"{summary[PROVEN]} of {len(requirements)} requirements proven; wrote "
            f"{options['markdown']} and {options['json']}"
        )
        unproven = [r for r in matrix["requirements"] if r["status"] != PROVEN]
        for row in unproven:
            self.stderr.write(f"{row['id']} ({row['title']}): {row['status']}")
        if options["check"] and unproven:
            raise SystemExit(1)
