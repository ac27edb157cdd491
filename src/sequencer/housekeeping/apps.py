from django.apps import AppConfig


class HousekeepingConfig(AppConfig):
    name = "sequencer.housekeeping"
    label = "housekeeping"
    verbose_name = "Housekeeping, so that the database does not grow forever"
