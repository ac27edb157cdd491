from django.apps import AppConfig


class CalendarsConfig(AppConfig):
    name = "sequencer.calendars"
    label = "calendars"
    verbose_name = "Calendars, for meetings booked with recipients"
