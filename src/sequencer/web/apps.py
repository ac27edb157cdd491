from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "sequencer.web"
    label = "web"
    verbose_name = "Web pages"
