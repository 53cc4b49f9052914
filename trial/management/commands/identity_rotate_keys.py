from django.core.management.base import BaseCommand, CommandError

from core.channels import Channel
from core.errors import TrialError
from sites.commands import actor_from
from trial.key_rotation import identity_keys_rotate
from trial.models import Trial


class Command(BaseCommand):
    help = (
        "Re-encrypt all identifying data under the first key of IDENTITY_KEYS. Put the new "
        "key first, keep the old ones after it, run this, then drop the old keys."
    )

    def add_arguments(self, parser):
        parser.add_argument("--as", dest="actor", required=True, help="a trial manager")
        parser.add_argument("--trial", default="RC")

    def handle(self, *args, actor, trial, **options):
        found = Trial.objects.filter(code=trial).first()
        if found is None:
            raise CommandError(f"No trial {trial}.")
        try:
            counts = identity_keys_rotate(
                actor=actor_from(actor), channel=Channel.COMMAND, trial=found
            )
        except TrialError as exc:
            raise CommandError(exc.message) from exc
        for label, rows in counts.items():
            self.stdout.write(f"{label}: {rows} rows re-encrypted")
