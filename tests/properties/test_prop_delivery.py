"""``sim/suite/test_prop_delivery.py``, the shipped property suite (``--impl NAME``)."""

from sim.suite.test_prop_delivery import (
    test_every_subscriber_gets_each_message_once_in_send_order,
    test_order_holds_for_every_thread_configuration,
    test_subscription_window_with_racing_subscribes_and_unsubscribes,
)

__all__ = [
    "test_every_subscriber_gets_each_message_once_in_send_order",
    "test_order_holds_for_every_thread_configuration",
    "test_subscription_window_with_racing_subscribes_and_unsubscribes",
]
