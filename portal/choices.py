"""Choices shown as badges (portal.badges, {% status_badge %}) in a colour of their own."""

from django.db import models


class BadgeChoices(models.TextChoices):
    """Text choices each declared as `NAME = value, badge, label`, where `badge` is the
    Bootstrap classes of its badge, in colours whose text meets WCAG AA contrast. The
    colour stays next to its value, and the choices (values and labels, all migrations
    see) are those of plain `TextChoices`."""

    def __new__(cls, value: str, badge: str):
        member = str.__new__(cls, value)
        member._value_ = value
        member.badge = badge
        return member
