"""`deadline`: one budget per verification, and the watchdog that cuts sockets when it ends."""

from __future__ import annotations

import socket

from zenml_docker_connector.registry.deadline import Deadline, SocketWatchdog


def test_the_deadline_counts_down_on_its_clock() -> None:
    now = [100.0]
    deadline = Deadline(30, clock=lambda: now[0])
    assert deadline.remaining() == 30 and not deadline.expired
    now[0] = 129.5
    assert deadline.remaining() == 0.5
    now[0] = 131
    assert deadline.remaining() == 0 and deadline.expired


def test_the_watchdog_shuts_tracked_sockets_when_the_time_is_up() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        watchdog = SocketWatchdog(Deadline(0.05))
        watchdog.track(ours)
        watchdog.arm()
        ours.settimeout(10)
        assert ours.recv(1) == b""  # a blocked read returns once the deadline passes
        assert watchdog.fired
        watchdog.close()


def test_a_closed_watchdog_lets_go_of_its_duplicates() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        watchdog = SocketWatchdog(Deadline(60))
        watchdog.arm()
        watchdog.track(ours)
        watchdog.close()  # disarmed: nothing is shut
        theirs.sendall(b"x")
        assert ours.recv(1) == b"x" and not watchdog.fired
        watchdog.track(ours)  # after close: not kept
