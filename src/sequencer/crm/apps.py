from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "sequencer.crm"
    label = "crm"
