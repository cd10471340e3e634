"""Hypothesis profiles for the fuzz suites.

``make test`` runs the ``fast`` profile: few examples per test, derandomized, so the suite is the same on every
run (a failure there is reproducible, never one run in N). ``make fuzz`` runs ``long``: many examples, a fresh
random seed each time, to find new failures; each one found gets a regression test named by its class.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = {
    "deadline": None,  # each example is a real request to a real server: its time is not the property
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    "database": None,
}
settings.register_profile("fast", max_examples=25, derandomize=True, **_COMMON)  # type: ignore[arg-type]
settings.register_profile("long", max_examples=1500, **_COMMON)  # type: ignore[arg-type]
settings.load_profile(os.environ.get("PARLEY_FUZZ_PROFILE", "fast"))
