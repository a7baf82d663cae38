"""chanspec's reference implementation of Lona-style channels.

``Channel``, ``Message`` and the broker/worker classes follow Lona's documented API;
``Runtime`` owns what Lona keeps in class attributes, so that several independent
channel systems (and the simulator's virtual one) can coexist. The normative
behaviour is ``specs/channels.md``.
"""

from refimpl._seam import Platform, RealPlatform
from refimpl.channel import Channel
from refimpl.errors import ShutdownError, TopicError
from refimpl.message import Message
from refimpl.runtime import Runtime, State, default_runtime, set_default_runtime
from refimpl.scope import Scope
from refimpl.settings import Settings
from refimpl.topics import match, validate_topic
from refimpl.worker import MessageBroker, Task, TaskWorker, Worker

__all__ = [
    "Channel",
    "Message",
    "MessageBroker",
    "Platform",
    "RealPlatform",
    "Runtime",
    "Scope",
    "Settings",
    "ShutdownError",
    "State",
    "Task",
    "TaskWorker",
    "TopicError",
    "Worker",
    "default_runtime",
    "match",
    "set_default_runtime",
    "validate_topic",
]
