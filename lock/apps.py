from django.apps import AppConfig


class LockConfig(AppConfig):
    name = "lock"
    verbose_name = "Freezes and locks"
