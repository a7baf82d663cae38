"""Mutants: deliberately broken variants of the reference implementation.

Each mutant is a ``refimpl.Runtime`` subclass that plants one realistic bug, breaking
the spec clauses it names (clause IDs of ``specs/channels.md``). They
exist to prove that the property suite and the history oracle catch bugs: a check
that passes every mutant proves nothing. Mutants only subclass and override; refimpl
itself stays intact, so mutants and the reference implementation can run side by
side in one process.

``MUTANTS[name].adapter()`` runs a mutant behind the adapter protocol
(``load_adapter("mutant:<name>")``). ``witness`` is a small scenario on which
``tests/mutants/test_mutants_misbehave.py`` sees the misbehaviour in the history;
``seeds_needed`` is how many ``RandomWalk`` seeds (0, 1, ...) that check needed until it
first saw the misbehaviour, measured when the mutant was written (most witnesses are
built so that every schedule shows it).
"""

from __future__ import annotations

from dataclasses import dataclass

from refimpl import Runtime
from sim.adapters.refimpl_adapter import RefimplAdapter
from sim.conform.probes import handler_error_scenario
from sim.mutants.copies import DeepCopyRuntime, NoSendCopyRuntime, SharedSubscriberCopyRuntime
from sim.mutants.drops import BacklogShedAsErrorRuntime
from sim.mutants.expiry import (
    BatchExpiryCheckRuntime,
    ExpiredDropUnreportedRuntime,
    ExpiryStrictCompareRuntime,
    ExpiryUncheckedAtRunRuntime,
)
from sim.mutants.handlers import RequeueAtTailAfterRaiseRuntime, WorkerDiesOnErrorRuntime
from sim.mutants.index import SweepDropsPrefixRuntime, WindowOffByOneRuntime
from sim.mutants.ordering import SharedTaskQueueRuntime, UnorderedCommitRuntime
from sim.mutants.plain import RawExpiryRuntime, RawTopicRuntime
from sim.mutants.races import CheckThenRegisterRuntime
from sim.mutants.routing import (
    AsymmetricMatchRuntime,
    BrokerTimeRoutingRuntime,
    CaseInsensitiveMatchRuntime,
    DuplicateOnOverlapRuntime,
    RegexByReplacementRuntime,
    RegistryRaceRuntime,
    UnsubscribeKeepsRoutingRuntime,
)
from sim.mutants.shutdown import (
    AcceptAnySendWhileDrainingRuntime,
    DroppableDroppedEarlyRuntime,
    HandlerSendRejectedInShutdownRuntime,
    SendAfterShutdownAcceptedRuntime,
    ShutdownDropsAllRuntime,
    ShutdownWithoutDrainRuntime,
)
from sim.mutants.subscriptions import (
    InternalNoticesRemovedRuntime,
    NaiveExpiryKillsBrokerRuntime,
    ResubscribeRunsOldMessagesRuntime,
    UnsubscribeLeavesQueuedRuntime,
)
from sim.scenario import (
    Advance,
    ChannelSpec,
    Expiry,
    Op,
    Scenario,
    Send,
    Settle,
    Shutdown,
    Subscribe,
    Unsubscribe,
)

__all__ = ["MUTANTS", "Mutant"]


@dataclass(frozen=True)
class Mutant:
    name: str
    clauses: tuple[str, ...]  #: the clauses it breaks
    description: str  #: the realistic bug, in one line
    runtime_class: type[Runtime]
    witness: Scenario  #: a small scenario on which the misbehaviour shows
    seeds_needed: int  #: RandomWalk seeds the direct check needed on ``witness`` (measured)
    #: modules whose lines are scheduling points by default (a race between two lines)
    preempt_lines: tuple[str, ...] = ()

    def adapter(self) -> RefimplAdapter:
        adapter = RefimplAdapter(self.runtime_class, name=f"mutant:{self.name}")
        if self.preempt_lines:  # as an adapter opts in (sim.lines.plan.modules_for)
            adapter.preempt_lines = self.preempt_lines  # type: ignore[attr-defined]
        return adapter


def _witness(
    channels: tuple[ChannelSpec, ...],
    *threads: tuple[Op, ...],
    brokers: int = 1,
    workers: int = 2,
    shutdown: bool = True,
) -> Scenario:
    return Scenario(channels, threads, brokers, workers, 1.0, shutdown)


_A = ChannelSpec("a")
_SLOW = ChannelSpec("a", sleep=1.0)

_ALL = (
    Mutant(
        "accept_any_send_while_draining",
        ("S4",),
        "while shutdown() drains, send() is accepted from every thread, not only handlers",
        AcceptAnySendWhileDrainingRuntime,
        _witness(
            (ChannelSpec("a", sleep=2.0), ChannelSpec("a", subscribed=False)),
            (Send(1), Send(1), Shutdown()),
            (Advance(0.5), Send(1, droppable=True), Advance(0.5), Send(1)),
            workers=1,
        ),
        1,
    ),
    Mutant(
        "batch_expiry_check",
        ("E2",),
        "the task worker checks expiry once per batch of a subscription, not before each handler",
        BatchExpiryCheckRuntime,
        _witness((_SLOW,), (Send(0), Send(0, expiry=0.5)), workers=1),
        1,
    ),
    Mutant(
        "regex_by_replacement",
        ("T2", "T4"),
        "a glob becomes a regex by string replacement: '.', '(', '+' keep their regex meaning",
        RegexByReplacementRuntime,
        _witness((ChannelSpec("a.b"), ChannelSpec("axb", subscribed=False)), (Send(1),)),
        1,
    ),
    Mutant(
        "registry_race",
        ("W1", "D2"),
        "an index bucket is copied outside its lock and installed later: a subscribe gets lost",
        RegistryRaceRuntime,
        _witness(
            (ChannelSpec("a", subscribed=False), ChannelSpec("a", subscribed=False), _A),
            (Subscribe(0), Advance(1.0), Send(2)),
            (Subscribe(1),),
        ),
        3,
    ),
    Mutant(
        "requeue_at_tail_after_raise",
        ("H1", "O2"),
        "after a handler raises, the rest of its batch is requeued behind newer messages",
        RequeueAtTailAfterRaiseRuntime,
        handler_error_scenario(True, 1, 128),
        1,
    ),
    Mutant(
        "asymmetric_match",
        ("T4", "T5"),
        "matching reads only the subscriber's topic as a pattern: wildcard senders reach nobody",
        AsymmetricMatchRuntime,
        _witness((ChannelSpec("a.b"), ChannelSpec("a.*", subscribed=False)), (Send(1),)),
        1,
    ),
    Mutant(
        "case_insensitive_match",
        ("T3",),
        "matching folds case, like fnmatch.fnmatch on Windows",
        CaseInsensitiveMatchRuntime,
        _witness(
            (ChannelSpec("Chat.Room"), ChannelSpec("chat.room", subscribed=False)), (Send(1),)
        ),
        1,
    ),
    Mutant(
        "deep_copy",
        ("C3",),
        "each subscriber gets copy.deepcopy of the payload, so nested objects are not shared",
        DeepCopyRuntime,
        _witness((_A,), (Send(0),)),
        1,
    ),
    Mutant(
        "droppable_dropped_early",
        ("S3",),
        "the broker drops droppable messages (reported as 'shutdown') while still running",
        DroppableDroppedEarlyRuntime,
        _witness((_A,), (Send(0, droppable=True),), shutdown=False),
        1,
    ),
    Mutant(
        "duplicate_on_overlap",
        ("D1", "T6"),
        "routing concatenates exact and wildcard matches: 'a.*' reaches subscriber 'a.*' twice",
        DuplicateOnOverlapRuntime,
        _witness((ChannelSpec("a.*"),), (Send(0),)),
        1,
    ),
    Mutant(
        "expired_drop_unreported",
        ("D2", "E3"),
        "expiry drops are logged but never reported to the observer (a silent loss)",
        ExpiredDropUnreportedRuntime,
        _witness((_A,), (Send(0, expiry=0.0),)),
        1,
    ),
    Mutant(
        "expiry_strict_compare",
        ("E2",),
        "the task worker tests expiry < now, so a handler starts when the clock reads the deadline",
        ExpiryStrictCompareRuntime,
        _witness((_SLOW,), (Send(0), Send(0, expiry=1.0)), workers=1),
        1,
    ),
    Mutant(
        "expiry_unchecked_at_run",
        ("E2",),
        "only the broker checks expiry; the task worker runs handlers after the deadline",
        ExpiryUncheckedAtRunRuntime,
        _witness((_SLOW,), (Send(0), Send(0, expiry=0.5)), workers=1),
        1,
    ),
    Mutant(
        "handler_send_rejected_in_shutdown",
        ("S4",),
        "while draining, send() raises ShutdownError from handlers too",
        HandlerSendRejectedInShutdownRuntime,
        _witness((ChannelSpec("a", sleep=1.0, reply=1), ChannelSpec("b")), (Send(0),)),
        1,
    ),
    Mutant(
        "no_send_copy",
        ("C1",),
        "send() keeps the sender's dict and copies only at routing, so later changes leak",
        NoSendCopyRuntime,
        _witness((_A,), (Send(0), Send(0))),
        1,
    ),
    Mutant(
        "route_at_broker_time",
        ("W2", "W4"),
        "the broker routes against the registry as it is at routing, not as it was at send",
        BrokerTimeRoutingRuntime,
        _witness((ChannelSpec("a", subscribed=False),), (Send(0), Subscribe(0))),
        3,
    ),
    Mutant(
        "send_after_shutdown_accepted",
        ("S5",),
        "send() after shutdown() returned is silently accepted and never delivered",
        SendAfterShutdownAcceptedRuntime,
        _witness((_A,), (Shutdown(), Send(0))),
        1,
    ),
    Mutant(
        "shared_subscriber_copy",
        ("C2",),
        "all subscribers of one message receive the same dict object",
        SharedSubscriberCopyRuntime,
        _witness((_A, _A), (Send(0),)),
        1,
    ),
    Mutant(
        "shared_task_queue",
        ("O2", "O3"),
        "one shared ready-queue entry per delivery (Lona): a handler runs concurrently with itself",
        SharedTaskQueueRuntime,
        _witness((ChannelSpec("a", sleep=0.5),), (Send(0), Send(0), Send(0))),
        1,
    ),
    Mutant(
        "shutdown_drops_all",
        ("S2",),
        "graceful shutdown drops queued non-droppable messages and deliveries too",
        ShutdownDropsAllRuntime,
        _witness((_SLOW,), (Send(0), Send(0), Shutdown()), workers=1),
        1,
    ),
    Mutant(
        "shutdown_without_drain",
        ("S1", "S6"),
        "shutdown() puts the stop sentinels first and returns without draining or joining",
        ShutdownWithoutDrainRuntime,
        _witness((_A,), (Send(0), Send(0), Shutdown(), Advance(1.0))),
        1,
    ),
    Mutant(
        "raw_expiry",
        ("E1", "V2", "D2"),
        "an expiry already in UTC is stored as given: a datetime subclass reaches the workers",
        RawExpiryRuntime,
        _witness((_A,), (Send(0, expiry=5.0),)),
        1,
    ),
    Mutant(
        "raw_topic",
        ("T1", "V2", "D2"),
        "a valid topic is stored as given: a str subclass's methods run in the broker",
        RawTopicRuntime,
        _witness((_A,), (Send(0),)),
        1,
    ),
    Mutant(
        "sweep_drops_prefix",
        ("D2", "W1"),
        "sweeping an unsubscribed pattern drops its prefix's bucket, and a resubscription with it",
        SweepDropsPrefixRuntime,
        _witness(
            (ChannelSpec("a.*"), ChannelSpec("a.b", subscribed=False)),
            (Send(1), Unsubscribe(0), Subscribe(0), Send(1)),
        ),
        1,
    ),
    Mutant(
        "unordered_commit",
        ("O2",),
        "brokers commit routing without waiting for their seq turn",
        UnorderedCommitRuntime,
        _witness((_A,), (Send(0), Send(0), Send(0)), brokers=2, workers=1),
        2,
    ),
    Mutant(
        "unsubscribe_keeps_routing",
        ("W2",),
        "unsubscribe() only detaches the channel; the registry still routes to the subscription",
        UnsubscribeKeepsRoutingRuntime,
        _witness((_A,), (Unsubscribe(0), Send(0))),
        1,
    ),
    Mutant(
        "backlog_shed_as_error",
        ("D2",),
        "a task worker sheds a backlog and reports the lost deliveries as reason 'error'",
        BacklogShedAsErrorRuntime,
        _witness((_SLOW,), (Send(0), Send(0), Send(0)), workers=1),
        1,
    ),
    Mutant(
        "unsubscribe_leaves_queued",
        ("W3",),
        "unsubscribe() leaves the subscription active: queued deliveries run after it returned",
        UnsubscribeLeavesQueuedRuntime,
        _witness((_SLOW,), (Send(0), Send(0), Advance(0.5), Unsubscribe(0)), workers=1),
        1,
    ),
    Mutant(
        "resubscribe_runs_old_messages",
        ("W2",),
        "the task worker runs the channel's current handler: a re-subscription gets old messages",
        ResubscribeRunsOldMessagesRuntime,
        _witness(
            (_SLOW,),
            (
                Send(0),
                Send(0),
                Advance(0.5),
                Unsubscribe(0, direct=True),
                Subscribe(0, direct=True),
            ),
            workers=1,
        ),
        1,
    ),
    Mutant(
        "internal_notices_removed",
        ("I1", "I2"),
        "subscribe() and unsubscribe() publish no lona.channels.* notices",
        InternalNoticesRemovedRuntime,
        _witness(
            (ChannelSpec("*"), ChannelSpec("a", subscribed=False)),
            (Subscribe(1), Settle(), Unsubscribe(1), Settle()),
        ),
        1,
    ),
    Mutant(
        "naive_expiry_kills_broker",
        ("V2",),
        "a naive datetime expiry is compared with the broker's aware clock: TypeError ends it",
        NaiveExpiryKillsBrokerRuntime,
        _witness((_A,), (Send(0, expiry=Expiry("naive", 5.0)), Send(0))),
        1,
    ),
    Mutant(
        "check_then_register",
        ("A2",),
        "subscribe() checks and marks the channel object with no lock around both: two threads "
        "register it twice",
        CheckThenRegisterRuntime,
        _witness(
            (ChannelSpec("a", subscribed=False), ChannelSpec("a", subscribed=False)),
            (Subscribe(0, direct=True),),
            (Subscribe(0, direct=True),),
            (Advance(1.0), Send(1)),
        ),
        1,
        preempt_lines=("sim.mutants.races",),
    ),
    Mutant(
        "window_off_by_one",
        ("W2", "W4"),
        "a subscription's seq window opens one message early: it receives the send before it",
        WindowOffByOneRuntime,
        _witness((ChannelSpec("a", subscribed=False),), (Send(0), Subscribe(0))),
        3,
    ),
    Mutant(
        "worker_dies_on_error",
        ("H1",),
        "a handler exception silently ends the task-worker thread",
        WorkerDiesOnErrorRuntime,
        _witness((ChannelSpec("a", raises=True),), (Send(0), Send(0)), workers=1, shutdown=False),
        1,
    ),
)

MUTANTS: dict[str, Mutant] = {m.name: m for m in sorted(_ALL, key=lambda m: m.name)}
