"""Times of appointments as the office's clock shows them, with the zone named."""

import datetime

from django import template

from joinedup.channels import appointments
from joinedup.federation.models import Office

register = template.Library()


@register.filter
def office_when(moment: datetime.datetime | None, office: Office) -> str:
    """{{ slot.starts_at|office_when:slot.office }}: "Dec. 4, 2026, 9:30 a.m. EST"."""
    return appointments.when_at(moment, office) if moment else ""


@register.filter
def office_time(moment: datetime.datetime | None, office: Office) -> str:
    """{{ slot.starts_at|office_time:office }}: "9:30 a.m. EST"."""
    return appointments.when_at(moment, office, with_date=False) if moment else ""
