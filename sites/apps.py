from django.apps import AppConfig


class SitesConfig(AppConfig):
    name = "sites"
    label = "sites"
    verbose_name = "Sites and people"

    def ready(self) -> None:
        from . import receivers

        receivers.connect()
