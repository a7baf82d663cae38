# The seed's "Default Message Broker" and "Default Task Worker" listings, as the seed gives
# them (its copy lost some lines, filled in from the fragments it keeps: the logger calls'
# arguments and the handler lookup), then a driver: both classes serve a runtime that is
# NOT the default one, while the default runtime has a subscriber of its own (spec R8).
from logging import getLogger

from lona.channels import Channel, Worker

logger = getLogger("lona.channels")


class MessageBroker(Worker):
    # derived from lona.channels.Worker

    def run(self):

        # get message from global message queue
        # this queue gets filled by lona.Channel.send()
        message = self.get_message()

        # get all channels that are subscribed to message.topic
        channels = Channel.get_channels(topic=message.topic)

        # schedule a task for each channel
        for channel in channels:
            self.schedule_task(channel=channel, message=message)

        logger.debug(
            "%s tasks scheduled for %s",
            len(channels),
            message,
        )


class TaskWorker(Worker):
    # derived from lona.channels.Worker

    def run(self):

        # get task from global task queue
        # this queue gets filled by lona.Worker.schedule_task()
        task = self.get_task()

        logger.debug(
            "running %s with message %s",
            task.channel.handler,
            task.message,
        )

        # run handler
        handler = task.channel.handler

        try:
            if not handler:  # pragma: no cover
                logger.debug("channel unsubscribed while running its handler")

                return

            handler(task.message)

        except Exception:
            logger.exception(
                "exception was raised while running %s",
                handler,
            )


# the driver
from refimpl import Runtime

Channel("chat", lambda message: print("default runtime got", message.data))

with Runtime(
    {
        "CHANNEL_MESSAGE_BROKER_CLASS": MessageBroker,
        "CHANNEL_TASK_WORKER_CLASS": TaskWorker,
        "MAX_CHANNEL_TASK_WORKER_THREADS": 2,
    }
) as rt:
    Channel("chat", lambda message: print("rt got", message.data), runtime=rt)
    for n in range(3):
        Channel("chat", runtime=rt).send({"n": n})
