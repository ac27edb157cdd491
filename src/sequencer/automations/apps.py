from django.apps import AppConfig


class AutomationsConfig(AppConfig):
    name = "sequencer.automations"
    label = "automations"

    def ready(self) -> None:
        from sequencer.automations import ownership

        ownership.connect()
