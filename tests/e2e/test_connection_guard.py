"""The per-address connection guard's bookkeeping (parley/guard.py), on a fake clock."""

from __future__ import annotations

from parley.guard import ConnectionGuard


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_open_connections_are_capped_per_address_and_released() -> None:
    guard = ConnectionGuard(max_per_address=2, new_per_second=1000, new_burst=1000)
    assert guard.admit("a")
    assert guard.admit("a")
    assert not guard.admit("a")
    assert guard.admit("b"), "another address has its own share"
    guard.release("a")
    assert guard.admit("a")


def test_opening_rate_is_limited_per_address_and_recovers() -> None:
    clock = Clock()
    guard = ConnectionGuard(max_per_address=10_000, new_per_second=10, new_burst=20, clock=clock)
    admitted = 0
    for _ in range(100):
        if guard.admit("loop"):
            admitted += 1
            guard.release("loop")
    assert admitted == 20, "the burst, then nothing without time passing"
    assert guard.admit("other")
    clock.now += 1.0
    assert sum(guard.admit("loop") for _ in range(100)) == 10, "then the sustained rate"


def test_trusted_networks_are_neither_capped_nor_counted() -> None:
    import ipaddress

    guard = ConnectionGuard(
        max_per_address=1, new_per_second=1, new_burst=1, trusted=[ipaddress.ip_network("10.0.0.0/24")]
    )
    assert all(guard.admit("10.0.0.7") for _ in range(100)), "a balancer carries every client's connections"
    for _ in range(100):
        guard.release("10.0.0.7")
    assert not guard.open
    assert guard.admit("10.0.1.7")
    assert not guard.admit("10.0.1.7"), "outside the network the limits hold"
    assert guard.admit("unknown")
    assert not guard.admit("unknown")
