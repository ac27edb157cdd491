from django.apps import AppConfig


class OperationsConfig(AppConfig):
    name = "sequencer.operations"
    label = "operations"
    verbose_name = "Operations: what an admin needs to know the installation is healthy"
