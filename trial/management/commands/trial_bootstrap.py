import getpass
import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.errors import TrialError
from trial.bootstrap import trial_bootstrap
from trial.definition import DefinitionError

PASSWORD_VARIABLE = "TRIAL_BOOTSTRAP_PASSWORD"


class Command(BaseCommand):
    help = (
        "New installation: load a trial definition and create its first trial manager. "
        f"The password is asked for, or read from --password-file or ${PASSWORD_VARIABLE} "
        "(for automation)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--username", required=True)
        parser.add_argument("--email", required=True)
        parser.add_argument(
            "--password-file",
            type=Path,
            help="a file whose first line is the password (keep it readable only by you)",
        )

    def handle(self, *args, file, username, email, password_file, **options):
        password = self._password(username, password_file)
        try:
            trial = trial_bootstrap(path=file, username=username, email=email, password=password)
        except (DefinitionError, TrialError) as exc:
            field = getattr(exc, "field", None)
            raise CommandError(f"{field}: {exc}" if field else str(exc)) from exc
        self.stdout.write(f"Trial {trial.code} loaded; {username} is its trial manager.")

    def _password(self, username: str, password_file: Path | None) -> str:
        if password_file is not None:
            try:
                lines = password_file.read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                raise CommandError(f"--password-file: cannot read {password_file}: {exc}") from exc
            if not lines or not lines[0]:
                raise CommandError(f"--password-file: {password_file} has no password line")
            return lines[0]
        if os.environ.get(PASSWORD_VARIABLE):
            return os.environ[PASSWORD_VARIABLE]
        return getpass.getpass(f"Password for {username}: ")
