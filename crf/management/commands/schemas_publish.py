from django.core.management.base import BaseCommand

from core.schema_files import SCHEMAS_DIR, json_schema, schema_text
from crf.spec import FormSpec
from trial.schema import TrialDefinition

PUBLISHED = {
    "trial-definition.schema.json": (TrialDefinition, "Trial definition"),
    "form-spec.schema.json": (FormSpec, "Form specification (one form version)"),
}


def published() -> dict[str, str]:
    """Each published file's name and its text, made from the typed models."""
    return {
        name: schema_text(json_schema(model, name=name, title=title))
        for name, (model, title) in PUBLISHED.items()
    }


class Command(BaseCommand):
    help = "Write the JSON Schemas of trial definitions and form specs to docs/schemas/."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="exit 1 if they are stale")

    def handle(self, *args, check=False, **options):
        stale = []
        SCHEMAS_DIR.mkdir(parents=True, exist_ok=True)
        for name, text in published().items():
            path = SCHEMAS_DIR / name
            if path.exists() and path.read_text(encoding="utf-8") == text:
                continue
            stale.append(name)
            if not check:
                path.write_text(text, encoding="utf-8")
        if check and stale:
            self.stderr.write(f"Stale: {', '.join(stale)}; run manage.py schemas_publish")
            raise SystemExit(1)
        self.stdout.write(
            f"{len(PUBLISHED)} schemas in {SCHEMAS_DIR}: {', '.join(stale) or 'none'} written."
        )
