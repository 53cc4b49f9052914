from django.core.management.base import BaseCommand, CommandError

from core.errors import TrialError
from dataset.readiness import lock_readiness
from trial.models import Trial


class Command(BaseCommand):
    help = (
        "Print the lock-readiness report: what blocks a lock of the trial or of an analysis "
        "population. Exits 1 while anything does."
    )

    def add_arguments(self, parser):
        parser.add_argument("--trial", default="RC", help="trial code (default RC)")
        parser.add_argument("--population", default="", help="an analysis population's key")

    def handle(self, *args, trial, population, **options):
        found = Trial.objects.filter(code=trial).first()
        if found is None:
            raise CommandError(f"--trial: no trial {trial}")
        try:
            report = lock_readiness(found, population=population)
        except TrialError as exc:
            raise CommandError(f"--population: {exc.message}") from exc
        what = population or f"trial {found.code}"
        if report.ready:
            self.stdout.write(f"Nothing blocks a lock of {what}.")
            return
        for _kind, label, items in report.by_kind():
            self.stdout.write(f"{label} ({len(items)}):")
            for b in items:
                self.stdout.write(f"  {b.site} {b.family}: {b.what}  {b.url}")
        self.stdout.write(f"{report.total} thing(s) block a lock of {what}.")
        raise SystemExit(1)
