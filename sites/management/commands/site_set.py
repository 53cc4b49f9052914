from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from core.channels import Channel
from core.errors import TrialError
from sites.commands import actor_from
from sites.lifecycle import site_update
from sites.models import Site


class Command(BaseCommand):
    help = "Change a site's details from a script, through the same service as the pages."

    def add_arguments(self, parser):
        parser.add_argument("code", help="site code, e.g. BUC")
        parser.add_argument("--trial", default="RC", help="trial code (default RC)")
        parser.add_argument("--name")
        parser.add_argument("--nhs-trust")
        parser.add_argument("--local-authority")
        parser.add_argument("--recruitment-target", type=int)
        parser.add_argument("--principal-investigator", metavar="USERNAME")
        parser.add_argument("--reason", default="", help="required once the site is approved")
        parser.add_argument("--as", dest="actor", required=True, help="acting username")

    def handle(self, *args, code, trial, actor, reason, **options):
        site = Site.objects.filter(trial__code=trial, code=code).first()
        if site is None:
            raise CommandError(f"No site {code} in trial {trial}.")
        changes = {
            field: options[field]
            for field in ("name", "nhs_trust", "local_authority", "recruitment_target")
            if options[field] is not None
        }
        if options["principal_investigator"]:
            pi = get_user_model().objects.filter(username=options["principal_investigator"]).first()
            if pi is None:
                raise CommandError(
                    f"--principal-investigator: no account {options['principal_investigator']!r}"
                )
            changes["principal_investigator"] = pi
        if not changes:
            raise CommandError("Nothing to change: give at least one field.")
        try:
            site_update(
                site=site,
                actor=actor_from(actor),
                channel=Channel.COMMAND,
                reason=reason,
                **changes,
            )
        except TrialError as exc:
            raise CommandError(f"{exc.field}: {exc.message}" if exc.field else exc.message) from exc
        self.stdout.write(f"{site.code} updated.")
