"""The URLs nodes give each other for forwarding Chime SDK signaling (signaling/hosting.py, forward.py)."""

from __future__ import annotations

from parley.signaling.forward import control_url
from parley.signaling.hosting import default_node_url


def test_a_node_listening_everywhere_in_a_cluster_advertises_an_address_of_its_own() -> None:
    assert default_node_url("10.1.2.3", 8000, clustered=True) == "http://10.1.2.3:8000"
    assert default_node_url("0.0.0.0", 8000, clustered=False) == "http://127.0.0.1:8000"  # one node: itself
    clustered = default_node_url("0.0.0.0", 8000, clustered=True)
    assert clustered.endswith(":8000")
    assert clustered != "http://0.0.0.0:8000"
    assert default_node_url("::1", 8001, clustered=False) == "http://[::1]:8001"


def test_the_control_url_of_a_node() -> None:
    assert control_url("http://10.0.0.2:8000/", "m-1") == "ws://10.0.0.2:8000/control/m-1"
    assert control_url("https://node1.example.com", "m-1") == "wss://node1.example.com/control/m-1"
