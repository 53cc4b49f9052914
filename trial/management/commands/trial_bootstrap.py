import getpass

from django.core.management.base import BaseCommand, CommandError

from trial.bootstrap import trial_bootstrap
from trial.definition import DefinitionError
from trial.errors import TrialError


class Command(BaseCommand):
    help = "New installation: load a trial definition and create its first trial manager."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--username", required=True)
        parser.add_argument("--email", required=True)

    def handle(self, *args, file, username, email, **options):
        password = getpass.getpass(f"Password for {username}: ")
        try:
            trial = trial_bootstrap(path=file, username=username, email=email, password=password)
        except (DefinitionError, TrialError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Trial {trial.code} loaded; {username} is its trial manager.")
