from django.apps import AppConfig


class SequencesConfig(AppConfig):
    name = "sequencer.sequences"
    label = "sequences"
