"""`just traces`: one scan's trace in a real backend. Starts Jaeger (built by `just jaeger` from
the Go module proxy, pinned in loadlab/jaeger/go.mod) on free loopback ports with in-memory
storage, master-data and the cart exporting OTLP to it, runs a short checkout (a cart, a few
scans that miss the item cache, each with a terminal's `traceparent`), then asks Jaeger's query
API for the first scan's trace and prints its span tree: the cart, master-data, its storage.

`python -m loadlab.traces [--scans 3]`; exits 1 when Jaeger has no such trace or the tree does
not hold both services.
"""

from __future__ import annotations

import argparse
import json
import secrets
import socket
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests.support.harness.processes import BIN, add_terminal, start, start_cart, start_master_data

JAEGER_CONFIG = """\
service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
extensions:
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 10000
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:{query}
    grpc:
      endpoint: 127.0.0.1:{query_grpc}
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:{otlp}
processors:
  batch:
    timeout: 100ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our loopback Jaeger
        return json.loads(response.read())


def post_json(url: str, body: object, headers: dict[str, str]) -> Any:
    request = urllib.request.Request(  # noqa: S310 - our loopback cart
        url, data=json.dumps(body).encode(), method="POST",
        headers={"content-type": "application/json", **headers},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())


def span_tree(trace: dict[str, Any]) -> list[str]:
    """Jaeger's trace as indented lines: service, operation, kind, duration."""
    processes = {key: value["serviceName"] for key, value in trace["processes"].items()}
    spans = {span["spanID"]: span for span in trace["spans"]}
    children: dict[str | None, list[dict[str, Any]]] = {}
    for span in trace["spans"]:
        parents = [r["spanID"] for r in span.get("references", []) if r["refType"] == "CHILD_OF"]
        parent = parents[0] if parents and parents[0] in spans else None
        children.setdefault(parent, []).append(span)
    lines: list[str] = []

    def walk(span: dict[str, Any], depth: int) -> None:
        tags = {tag["key"]: tag["value"] for tag in span.get("tags", [])}
        kind = tags.get("span.kind", "internal")
        service = processes.get(span["processID"], "?")
        lines.append(
            f"{service:<12} {'   ' * depth}{'└─ ' if depth else ''}{span['operationName']}"
            f"  [{kind}, {span['duration'] / 1000:.2f} ms]"
        )
        for child in sorted(children.get(span["spanID"], []), key=lambda s: s["startTime"]):
            walk(child, depth + 1)

    for root in sorted(children.get(None, []), key=lambda s: s["startTime"]):
        walk(root, 0)
    return lines


def run(scans: int) -> int:
    jaeger = BIN / "jaeger"
    if not jaeger.exists():
        print("no Jaeger in .venv/bin: run `just jaeger` first", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        ports = {"query": free_port(), "query_grpc": free_port(), "otlp": free_port()}
        config = tmp / "jaeger.yaml"
        config.write_text(JAEGER_CONFIG.format(**ports))
        services = [start(["jaeger", "--config", str(config)], {}, tmp / "jaeger.log",
                          "Everything is ready")]  # fmt: skip
        query = f"http://127.0.0.1:{ports['query']}"
        otel = {
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{ports['otlp']}",
        }
        try:
            master_data = start_master_data(
                tmp, file_limit=None, OTEL_SERVICE_NAME="master-data", **otel
            )
            services.append(master_data)
            cart = start_cart(tmp, master_data, OTEL_SERVICE_NAME="cart", **otel)
            services.append(cart)
            key = {"X-API-KEY": add_terminal(tmp, "T0001", "S001", "TR01")}
            cart_id = post_json(cart.url() + "/api/v1/carts", {}, key)["cartId"]
            traces = []
            for n in range(scans):
                trace_id = secrets.token_hex(16)
                parent = f"00-{trace_id}-{secrets.token_hex(8)}-01"
                scan = [{"itemCode": f"ITEM{n + 1:04d}"}]
                lines = f"{cart.url()}/api/v1/carts/{cart_id}/lineItems"
                post_json(lines, scan, {**key, "traceparent": parent})
                traces.append(trace_id)
            for service in reversed(services[1:]):
                service.stop()  # a clean stop exports what is batched
            found: dict[str, Any] = {}
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not found:
                try:
                    found = get_json(f"{query}/api/traces/{traces[0]}")["data"][0]
                except (OSError, KeyError, IndexError):
                    time.sleep(0.2)
        finally:
            for service in reversed(services):
                service.stop()
    if not found:
        print(f"Jaeger has no trace {traces[0]}", file=sys.stderr)
        return 1
    print(f"trace {traces[0]}: {len(found['spans'])} spans, from Jaeger's query API")
    for line in span_tree(found):
        print(line)
    services_seen = set(found["processes"][s["processID"]]["serviceName"] for s in found["spans"])
    return 0 if {"cart", "master-data"} <= services_seen else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scans", type=int, default=3)
    sys.exit(run(parser.parse_args().scans))


if __name__ == "__main__":
    main()
