from django.apps import AppConfig


class MailConfig(AppConfig):
    name = "sequencer.mail"
    label = "mail"
    verbose_name = "Mailboxes, composing and providers"
