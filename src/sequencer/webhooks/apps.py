from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "sequencer.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks, to tell other systems what happened"
