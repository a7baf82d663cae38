"""plain_channels: a small in-process publish/subscribe bus with wildcard topics.

Written the ordinary way -- ``threading``, ``queue``, ``datetime``, a broker thread and a
``ThreadPoolExecutor`` -- with no knowledge of chanspec. ``adapter.py`` next to it is all
it takes to check it: ``python -m sim conform --impl examples.plain_channels.adapter:factory``.
"""

from .broken import UnorderedBus
from .bus import Bus, Closed, Message, Subscription, matches

__all__ = ["Bus", "Closed", "Message", "Subscription", "UnorderedBus", "matches"]
