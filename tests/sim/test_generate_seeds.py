"""Harness tests: a seed keeps giving the scenario it always gave, on every machine.

``python -m sim run --seed N`` and every printed reproduction regenerate a scenario from
its seed, so the generator's draws are part of the format: they cite no spec clause.
"""

from __future__ import annotations

import hashlib
import json
import random

from hypothesis import given
from hypothesis import strategies as st

from sim.generate import RandomSource, scenario_from_seed

#: sha256 of the canonical JSON of the scenarios of seeds 0..299, as generated since
#: scenario format 2 (recomputed only with a deliberate, announced change of the generator)
SEEDS_0_299 = "16cc7792c3f538b06d3e869b535719adb5c059f67c83c9bcb7a3deb27f8c824b"


def test_seeds_give_the_scenarios_they_always_gave() -> None:
    digest = hashlib.sha256()
    for seed in range(300):
        digest.update(json.dumps(scenario_from_seed(seed).to_json(), sort_keys=True).encode())
    assert digest.hexdigest() == SEEDS_0_299


@given(
    seed=st.integers(0, 2**64),
    bounds=st.lists(st.tuples(st.integers(-5, 40), st.integers(0, 300)), min_size=1, max_size=30),
)
def test_a_draw_is_randint_of_the_same_generator(seed: int, bounds: list[tuple[int, int]]) -> None:
    mine, python = RandomSource(seed), random.Random(seed)
    for lo, width in bounds:
        assert mine.integer(lo, lo + width) == python.randint(lo, lo + width)
