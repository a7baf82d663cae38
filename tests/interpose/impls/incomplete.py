"""A version-2 adapter that forgot most of the protocol (the CLI must refuse it in one line)."""


class Incomplete:
    protocol = 2
    name = "incomplete"
    modules = ("examples.plain_channels",)
