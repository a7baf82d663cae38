# The seed's first example (Lona's channels documentation), verbatim; the seed's copy lost
# the right-hand side of "data = message.data", restored here.
from lona import Channel


def handle_message(message):
    topic = message.topic  # contains the topic of the sender as string
    data = message.data  # contains a dictionary of data

    print(f"{topic}: {data!r}")


# subscribe to specific topics
Channel("chat.rooms.lona", handle_message)
Channel("chat.rooms.lona-releases", handle_message)


# subscribe to wildcard topics
Channel("chat.rooms.lona-*", handle_message)
Channel("chat.rooms.*", handle_message)
Channel("*", handle_message)  # subscribes to all topic, including internal topics


# send messages to specific topics
Channel("chat.rooms.releases").send({"lona-version": "2.0"})
Channel("chat.rooms.lona").send()  # empty message


# send messages to wildcard topics
Channel("chat.rooms.lona-*").send({"lona-version": "2.0"})
Channel("*").send({"lona-version": "2.0"})


# explicit subscribing and unsubscribing
channel = Channel("chat.rooms.lona")

channel.subscribe(handle_message)
channel.unsubscribe()
