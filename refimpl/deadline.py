"""Expiry normalised at the call: a plain, aware UTC ``datetime`` or None (spec E1, V2).

The workers compare deadlines with the clock. Whatever they compare must be a plain
value: a ``datetime`` or ``timedelta`` subclass may override comparisons or arithmetic,
and an exception there would be raised in a broker thread, where the message would be
neither delivered nor reported. So every field is read through the base type's own
descriptors, and the result is built anew.

A deadline beyond what ``datetime`` can hold is clamped to ``datetime.min`` or
``datetime.max`` in UTC instead of raising ``OverflowError``: in the far past it is
expired at once (a past deadline is accepted, E1), in the far future it never expires.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["FAR_FUTURE", "FAR_PAST", "deadline", "plain_datetime"]

FAR_PAST = datetime.min.replace(tzinfo=UTC)
FAR_FUTURE = datetime.max.replace(tzinfo=UTC)


def deadline(
    expiry: object, now: Callable[[], datetime], to_aware: Callable[[datetime], datetime]
) -> datetime | None:
    """*expiry* as an aware UTC deadline; ``TypeError`` for anything but the three kinds.

    A timedelta counts from ``now()``; an aware datetime is converted to UTC; a naive one
    (no tzinfo, or a tzinfo whose ``utcoffset()`` is None) is local time (``to_aware``).
    An error of the ``tzinfo`` itself is raised here, at the call.
    """
    if expiry is None:
        return None
    if isinstance(expiry, timedelta):
        delta = timedelta(
            timedelta.days.__get__(expiry),
            timedelta.seconds.__get__(expiry),
            timedelta.microseconds.__get__(expiry),
        )
        start = now()
        try:
            return plain_datetime(start + delta)
        except OverflowError:
            return FAR_PAST if delta < timedelta(0) else FAR_FUTURE
    if isinstance(expiry, datetime):
        moment = plain_datetime(expiry)
        offset = moment.utcoffset()  # the tzinfo's one call; its errors are the caller's
        wall = moment.replace(tzinfo=None)
        try:
            if offset is None:
                return plain_datetime(to_aware(wall))
            return (wall - offset).replace(tzinfo=UTC)
        except (OverflowError, ValueError):  # within a day of datetime.min or .max
            return FAR_PAST if wall.year < 2 else FAR_FUTURE
    raise TypeError(f"expiry must be a datetime, a timedelta or None, not {type(expiry).__name__}")


def plain_datetime(moment: datetime) -> datetime:
    """*moment* as a plain ``datetime``, its fields read through the base type."""
    if type(moment) is datetime:
        return moment

    def field(name: str) -> Any:
        return getattr(datetime, name).__get__(moment)

    return datetime(
        field("year"),
        field("month"),
        field("day"),
        field("hour"),
        field("minute"),
        field("second"),
        field("microsecond"),
        tzinfo=field("tzinfo"),
        fold=field("fold"),
    )
