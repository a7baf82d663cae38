# The seed's lona.channels.unsubscribe example, verbatim apart from its typo
# (message.date for message.data).
from lona import Channel


def handle_message(message):
    topic = message.data["topic"]  # subscriber topic as string

    print(f"one user unsubscribed from {topic}")


Channel("lona.channels.unsubscribe", handle_message)
