import shutil
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.channels import Channel
from core.errors import TrialError
from dataset.exporting import export_build, export_request
from dataset.models import Export
from sites.commands import actor_from
from trial.models import Trial


class Command(BaseCommand):
    help = (
        "Build an analysis export bundle as a statistician, through the same service, checks "
        "and job as the export page, here in this process; print where the bundle is and its "
        "digests."
    )

    def add_arguments(self, parser):
        parser.add_argument("--trial", default="RC", help="trial code (default RC)")
        parser.add_argument("--as", dest="actor", required=True, help="the statistician")
        parser.add_argument(
            "--unblinded", action="store_true", help="with the arms (needs the lock and a plan)"
        )
        parser.add_argument("--interim", action="store_true", help="a snapshot of data not locked")
        parser.add_argument("--population", default="", help="a locked population's key")
        parser.add_argument("--out", type=Path, help="also copy the bundle to this file")

    def handle(self, *args, trial, actor, unblinded, interim, population, out, **options):
        found = Trial.objects.filter(code=trial).first()
        if found is None:
            raise CommandError(f"--trial: no trial {trial}")
        statistician = actor_from(actor)
        try:
            export = export_request(
                trial=found,
                actor=statistician,
                channel=Channel.COMMAND,
                blinded=not unblinded,
                interim=interim,
                population=population,
                enqueue=False,
            )
        except TrialError as exc:
            raise CommandError(f"{exc.field}: {exc.message}" if exc.field else exc.message) from exc
        export = export_build(export.pk)
        if export.status != Export.Status.DONE:
            raise CommandError(f"Export {export.pk} failed: {export.error}")
        path = Path(settings.EXPORT_ROOT) / export.file_name
        if out is not None:
            shutil.copyfile(path, out)
            path = out
        self.stdout.write(
            f"Export {export.pk} ({export.describe()}): {path}\n"
            f"  bundle {export.bundle_id}, {export.size} bytes\n"
            f"  SHA-256 of the zip       {export.sha256}\n"
            f"  SHA-256 of MANIFEST.json {export.manifest_sha256}"
        )
