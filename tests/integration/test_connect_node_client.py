"""Connect's Node.js client (@connectrpc/connect-node, locked in tests/interop/node) against a
real master-data serving HTTP/2 on its Connect port (HTTP_SERVER=hypercorn): Connect over
HTTP/1.1 and over HTTP/2 (h2c), JSON and binary, GET and POST, gzip requests, and its gRPC
transport. Every answer equals our own stub's, as proto3 JSON."""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from grpclib.client import Channel

from gen.kugel.item.v1 import BatchGetItemDetailsRequest, ItemServiceStub
from services.wire.codec import encode_json
from tests.support.harness.processes import ServiceProcess, start_master_data

from .conftest import AUTH, TOKEN, tls_env
from .test_master_data_clients import BUF, ROOT

NODE_TOOL = ROOT / "tests" / "interop" / "node"
CODES = [f"ITEM{n:04d}" for n in range(1, 41)]  # what client.mjs asks for


@pytest.fixture(scope="module")
def h2_master_data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    service = start_master_data(
        tmp_path_factory.mktemp("node"), MASTER_DATA_TOKEN=TOKEN, HTTP_SERVER="hypercorn"
    )
    yield service
    assert service.stop() == 0, service.log


@pytest.fixture(scope="module")
def descriptor_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("descriptors") / "set.binpb"
    subprocess.run([BUF, "build", "proto", "-o", str(out)], cwd=ROOT, check=True, timeout=60)
    return out


async def ours(port: int) -> Any:
    channel = Channel("127.0.0.1", port)
    request = BatchGetItemDetailsRequest(tenant_id="T0001", store_code="S001", item_codes=CODES)
    try:
        reply = await ItemServiceStub(channel).batch_get_item_details(
            request, metadata=AUTH, timeout=5
        )
    finally:
        channel.close()
    return json.loads(encode_json(reply))


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["connect", "1.1", "json", "post", "gzip"], id="connect h1 json gzip"),
        pytest.param(["connect", "1.1", "binary", "get", "identity"], id="connect h1 binary GET"),
        pytest.param(["connect", "2", "binary", "post", "gzip"], id="connect h2c binary gzip"),
        pytest.param(["connect", "2", "json", "get", "identity"], id="connect h2c json GET"),
        pytest.param(["grpc", "2", "binary", "post", "gzip"], id="grpc gzip"),
    ],
)
async def test_connect_node_client(
    h2_master_data: ServiceProcess, descriptor_set: Path, args: list[str]
) -> None:
    expected = await ours(h2_master_data.ports["gRPC"])
    node = shutil.which("node")
    assert node, "Node.js is needed for this interop test"
    assert (NODE_TOOL / "node_modules").is_dir(), "run `just interop-deps` first"
    port = h2_master_data.ports["gRPC" if args[0] == "grpc" else "HTTP"]
    done = subprocess.run(  # noqa: ASYNC221 - the test waits for the client, nothing else runs
        [node, "client.mjs", str(descriptor_set), f"http://127.0.0.1:{port}", *args],
        cwd=NODE_TOOL,
        env={**os.environ, "KUGEL_AUTHORIZATION": AUTH["authorization"]},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout) == expected


async def test_connect_node_client_h2_through_alpn_with_tls(
    tmp_path: Path, pki: dict[str, Path], descriptor_set: Path
) -> None:
    """With TLS on, HTTP/2 is negotiated by ALPN (h2), and the Node client speaks it."""
    service = start_master_data(tmp_path, MASTER_DATA_TOKEN=TOKEN, HTTP_SERVER="hypercorn",
                                **tls_env(pki))  # fmt: skip
    try:
        port = service.ports["HTTP"]
        context = ssl.create_default_context(cafile=str(pki["ca"]))
        context.set_alpn_protocols(["h2", "http/1.1"])
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
        ):
            assert tls.selected_alpn_protocol() == "h2"
        node = shutil.which("node")
        assert node, "Node.js is needed for this interop test"
        done = subprocess.run(  # noqa: ASYNC221 - the test waits for the client, nothing else runs
            [node, "client.mjs", str(descriptor_set), f"https://127.0.0.1:{port}",
             "connect", "2", "binary", "post", "gzip"],
            cwd=NODE_TOOL,
            env={**os.environ, "KUGEL_AUTHORIZATION": AUTH["authorization"],
                 "NODE_EXTRA_CA_CERTS": str(pki["ca"])},
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        assert json.loads(done.stdout)["items"][0]["itemCode"] == "ITEM0001"
        assert len(json.loads(done.stdout)["items"]) == len(CODES)
    finally:
        assert service.stop() == 0, service.log
