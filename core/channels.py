"""How a change arrived: every service takes one, and the ledger records it."""

from django.db import models


class Channel(models.TextChoices):
    WEB = "web", "Web page"
    API = "api", "API"
    ADMIN = "admin", "Admin"
    COMMAND = "command", "Management command"
    TASK = "task", "Background task"
