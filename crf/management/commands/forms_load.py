from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.channels import Channel
from core.errors import TrialError
from crf.loading import forms_load, shipped_spec_files
from crf.selectors import scheduled_forms_without_definition
from crf.spec import SpecError
from sites.commands import actor_from
from trial.models import Trial


class Command(BaseCommand):
    help = (
        "Check form spec files and load them as form versions (default: every spec shipped "
        "in crf/forms). Errors name the file and the field; nothing is loaded if any fails."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="*", help="spec files (YAML or JSON)")
        parser.add_argument("--trial", required=True, help="the trial's code")
        parser.add_argument("--as", dest="actor", required=True, help="the trial manager")

    def handle(self, *args, files, trial, actor, **options):
        found = Trial.objects.filter(code=trial).first()
        if found is None:
            raise CommandError(f"--trial: no trial {trial!r}")
        paths = [Path(f) for f in files] or shipped_spec_files()
        try:
            loaded = forms_load(
                trial=found, paths=paths, actor=actor_from(actor), channel=Channel.COMMAND
            )
        except (SpecError, TrialError) as exc:
            raise CommandError(str(exc)) from exc
        for definition, new in loaded:
            state = "loaded" if new else "already loaded"
            self.stdout.write(f"{definition.form} v{definition.version}: {state}")
        for form in scheduled_forms_without_definition(found):
            self.stderr.write(f"warning: the schedule names form {form!r}, which has no version")
