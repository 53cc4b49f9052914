from django.core.management.base import BaseCommand, CommandError

from core.channels import Channel
from core.errors import TrialError
from sites.commands import actor_from
from trial.definition import DefinitionError
from trial.services import trial_load


class Command(BaseCommand):
    help = (
        "Check a trial definition file and load it. Errors name the file, the key and the problem."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument(
            "--as",
            dest="actor",
            required=True,
            help="username of the operator or trial manager loading it",
        )

    def handle(self, *args, file, actor, **options):
        try:
            trial = trial_load(path=file, actor=actor_from(actor), channel=Channel.COMMAND)
        except (DefinitionError, TrialError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Loaded {trial.code} ({trial.short_name}), sha256 {trial.definition_sha256}"
        )
