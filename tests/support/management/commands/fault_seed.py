"""Seed a fresh database with the test suite's small trial and print, as JSON, what a
client needs to write to it: the BUC site's id and API tokens for its coordinator. Used by
the fault tests that serve the system from a database of their own (tests/postgres)."""

import json

from django.core.management.base import BaseCommand
from knox.models import AuthToken


class Command(BaseCommand):
    help = "Seed the test trial and print the BUC site id and coordinator API tokens as JSON."

    def add_arguments(self, parser):
        parser.add_argument("--tokens", type=int, default=8, help="how many tokens to issue")

    def handle(self, *args, tokens: int, **options):
        from tests.conftest import World

        world = World()
        issued = [AuthToken.objects.create(user=world.coord_buc)[1] for _ in range(tokens)]
        self.stdout.write(json.dumps({"site": world.buc.pk, "tokens": issued}))
