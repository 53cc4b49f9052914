from django.apps import AppConfig


class SitesConfig(AppConfig):
    name = "sites"
    label = "sites"
    verbose_name = "Sites and people"

    def ready(self) -> None:
        from . import checks, receivers  # noqa: F401  (checks registers itself)

        receivers.connect()
