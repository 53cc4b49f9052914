from django.apps import AppConfig


class SafetyConfig(AppConfig):
    name = "safety"
    verbose_name = "Safety: SAEs, safeguarding incidents and emergency unblinding"
