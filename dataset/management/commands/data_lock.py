import getpass
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.channels import Channel
from core.errors import TrialError
from dataset.services import data_lock
from sites.commands import actor_from
from trial.models import Trial


class Command(BaseCommand):
    help = (
        "Lock the trial's data (or an analysis population's) as a statistician, through the "
        "same service and checks as the lock page. The statistician's password is asked for, "
        "or read from the first line of --password-file."
    )

    def add_arguments(self, parser):
        parser.add_argument("--trial", default="RC", help="trial code (default RC)")
        parser.add_argument("--population", default="", help="an analysis population's key")
        parser.add_argument("--as", dest="actor", required=True, help="the locking statistician")
        parser.add_argument("--password-file", type=Path, help="a file whose first line is it")

    def handle(self, *args, trial, population, actor, password_file, **options):
        found = Trial.objects.filter(code=trial).first()
        if found is None:
            raise CommandError(f"--trial: no trial {trial}")
        statistician = actor_from(actor)
        if password_file is not None:
            try:
                password = Path(password_file).read_text(encoding="utf-8").splitlines()[0]
            except (OSError, IndexError) as exc:
                raise CommandError(
                    f"--password-file: cannot read a password from it ({exc})"
                ) from exc
        else:
            password = getpass.getpass(f"Password for {statistician.get_username()}: ")
        try:
            lock = data_lock(
                trial=found,
                actor=statistician,
                channel=Channel.COMMAND,
                password=password,
                population=population,
            )
        except TrialError as exc:
            raise CommandError(f"{exc.field}: {exc.message}" if exc.field else exc.message) from exc
        self.stdout.write(f"Locked: {lock} (ledger event {lock.ledger_seq}).")
