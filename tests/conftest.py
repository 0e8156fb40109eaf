from __future__ import annotations

from hypothesis import HealthCheck, settings

# Property tests are bounded and repeatable: CI explores the same examples every run. Search
# further locally with e.g. `pytest --hypothesis-seed=$RANDOM -p no:randomly`.
settings.register_profile(
    "kugel",
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile("kugel")
