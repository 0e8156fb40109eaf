"""The perf lab's scenario for Locust (run headless by `services/loadtest/perf.py`): each
virtual terminal creates a cart, adds 20 items one request at a time, cancels, and starts again.

Environment: KUGEL_API_KEY (a terminal's key), KUGEL_THINK_SECONDS (pause between scans).
"""

from __future__ import annotations

import os
import random
import time

from locust import FastHttpUser, constant, task

from services.loadtest.checkout import SCANNABLE

API_KEY = os.environ.get("KUGEL_API_KEY", "")
THINK_SECONDS = float(os.environ.get("KUGEL_THINK_SECONDS", "0"))


class Till(FastHttpUser):
    """One terminal of the store."""

    wait_time = constant(0)

    @task
    def checkout_and_cancel(self) -> None:
        headers = {"X-API-KEY": API_KEY}
        with self.client.post(
            "/api/v1/carts", headers=headers, name="create cart", catch_response=True
        ) as created:
            if created.status_code != 201:
                created.failure(f"HTTP {created.status_code}")
                return
            cart = created.json()["cartId"]
        for code in random.sample(SCANNABLE, 20):
            self.client.post(
                f"/api/v1/carts/{cart}/lineItems",
                json=[{"itemCode": code}],
                headers=headers,
                name="add item",
            )
            if THINK_SECONDS:
                time.sleep(THINK_SECONDS)  # cooperative: Locust patches time.sleep for gevent
        self.client.post(f"/api/v1/carts/{cart}/cancel", headers=headers, name="cancel cart")
