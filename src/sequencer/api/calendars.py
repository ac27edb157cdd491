"""Calendar connections used to notice meetings booked with recipients."""

from ninja import Router

router = Router(tags=["Calendars"])
