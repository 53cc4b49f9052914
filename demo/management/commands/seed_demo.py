from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from demo.seed import DEMO_PASSWORD, demo_logins, seed
from trial.models import Trial


class Command(BaseCommand):
    help = "Create the ReConnect demo trial (DEBUG only). Does nothing if it exists already."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("seed_demo creates known passwords; it runs only with DEBUG on.")
        if Trial.objects.filter(code="RC").exists():
            self.stdout.write("The demo trial exists already; nothing to do.")
        else:
            seed(log=self.stdout.write)
        self.stdout.write(f"\nDemo sign-ins (password {DEMO_PASSWORD}):")
        for username, roles in demo_logins():
            self.stdout.write(f"  {username:<15} {roles}")
