from django.apps import AppConfig


class WorkspaceConfig(AppConfig):
    name = "sequencer.workspace"
    label = "workspace"
    verbose_name = "Workspace, members, teams and API tokens"
