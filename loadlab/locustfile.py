"""The perf lab's scenario for Locust (run headless by `loadlab/perf.py`): each virtual terminal
runs `scenario.checkout` with cancel, over and over.

Environment: KUGEL_API_KEY (a terminal's key), KUGEL_THINK_SECONDS (pause between scans).
"""

from __future__ import annotations

import os
import random
import time
from typing import Any

from locust import FastHttpUser, constant, task

from loadlab.scenario import API, SCANNABLE, checkout

API_KEY = os.environ.get("KUGEL_API_KEY", "")
THINK_SECONDS = float(os.environ.get("KUGEL_THINK_SECONDS", "0"))


class Till(FastHttpUser):
    """One terminal of the store."""

    wait_time = constant(0)

    @task
    def checkout_and_cancel(self) -> None:
        steps = checkout(random.sample(SCANNABLE, 20), cancel=True)
        answer: Any = None
        while True:
            try:
                step = steps.send(answer)
            except StopIteration:
                return
            with self.client.request(
                step.method,
                API + step.path,
                json=step.body,
                headers={"X-API-KEY": API_KEY},
                name=step.name,
                catch_response=True,
            ) as response:
                if response.status_code != step.expected:
                    response.failure(f"HTTP {response.status_code}")
                    return
                answer = response.json()
            if step.is_scan and THINK_SECONDS:
                time.sleep(THINK_SECONDS)  # cooperative: Locust patches time.sleep for gevent
