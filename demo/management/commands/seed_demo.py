from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from demo.second_factor import demo_totp_secret
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
        self.stdout.write(
            "\nTwo-factor sign-in: each account is enrolled with this TOTP secret (base32; add "
            "it to an authenticator app as a time-based key, 6 digits, 30 seconds). The demo "
            "does not ask for the code unless it runs with TWO_FACTOR_WAIVED=0."
        )
        for username, _roles in demo_logins():
            self.stdout.write(f"  {username:<15} {demo_totp_secret(username)}")
