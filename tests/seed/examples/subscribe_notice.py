# The seed's lona.channels.subscribe example, verbatim apart from its typo
# (message.date for message.data).
from lona import Channel


def handle_message(message):
    topic = message.data["topic"]  # subscriber topic as string

    print(f"one user subscribed to {topic}")


Channel("lona.channels.subscribe", handle_message)
