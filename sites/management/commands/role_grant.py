from datetime import date

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from core.channels import Channel
from core.errors import TrialError
from core.roles import Role
from sites.commands import actor_from
from sites.memberships import membership_grant
from sites.models import Site
from trial.models import Trial


class Command(BaseCommand):
    help = "Grant a role from a script, through the same service (and checks) as the pages."

    def add_arguments(self, parser):
        parser.add_argument("username", help="whose role it is")
        parser.add_argument("role", choices=Role.values)
        parser.add_argument("--site", help="site code (leave out for trial-wide roles)")
        parser.add_argument("--trial", default="RC", help="trial code (default RC)")
        parser.add_argument("--starts-on", help="YYYY-MM-DD (default today)")
        parser.add_argument("--as", dest="actor", required=True, help="acting trial manager")

    def handle(self, *args, username, role, site, trial, starts_on, actor, **options):
        found = Trial.objects.filter(code=trial).first()
        if found is None:
            raise CommandError(f"--trial: no trial {trial}")
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"username: no account {username!r}")
        place = None
        if site:
            place = Site.objects.filter(trial=found, code=site).first()
            if place is None:
                raise CommandError(f"--site: no site {site} in trial {trial}")
        day = None
        if starts_on:
            try:
                day = date.fromisoformat(starts_on)
            except ValueError as exc:
                raise CommandError(f"--starts-on: {starts_on!r} is not YYYY-MM-DD") from exc
        try:
            membership = membership_grant(
                actor=actor_from(actor),
                channel=Channel.COMMAND,
                user=user,
                trial=found,
                role=role,
                site=place,
                starts_on=day,
            )
        except TrialError as exc:
            raise CommandError(f"{exc.field}: {exc.message}" if exc.field else exc.message) from exc
        self.stdout.write(f"{membership} granted.")
