from django.apps import AppConfig


class TestSupportConfig(AppConfig):
    """Installed by the test settings only."""

    name = "tests.support"
    label = "test_support"
