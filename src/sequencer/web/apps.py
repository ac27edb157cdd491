from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "sequencer.web"
    label = "web"
    verbose_name = "Web pages"

    def ready(self) -> None:
        # Registers the receiver that logs sign-in lockouts.
        from sequencer.web import signin_throttle  # noqa: F401
