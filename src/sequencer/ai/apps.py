from django.apps import AppConfig


class AiConfig(AppConfig):
    name = "sequencer.ai"
    label = "ai"
    verbose_name = "AI text"
