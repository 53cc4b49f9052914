from django.apps import AppConfig


class RandomisationConfig(AppConfig):
    name = "randomisation"
    verbose_name = "Randomisation"
