from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from services.cart.gc_tuning import YOUNG_THRESHOLD, tune_for_serving


@pytest.fixture
def restored_gc() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


@pytest.mark.usefixtures("restored_gc")
def test_start_up_objects_are_frozen_and_the_young_generation_collected_less_often() -> None:
    middle, old = gc.get_threshold()[1:]
    tune_for_serving()
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (YOUNG_THRESHOLD, middle, old)
