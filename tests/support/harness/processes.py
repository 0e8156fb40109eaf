"""Start the real service processes on free loopback ports and stop them by signal."""

from __future__ import annotations

import hashlib
import os
import re
import resource
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from .postgres import SERVER_URL_ENV, ensure_database

BIN = Path(sys.executable).parent
PORT_LINE = re.compile(r"(gRPC|HTTP) server started on port (\d+)")


@dataclass
class ServiceProcess:
    """A running service: its process, the ports it announced, and its log file."""

    process: subprocess.Popen[bytes]
    log_path: Path
    ports: dict[str, int] = field(default_factory=dict)
    host: str = "127.0.0.1"  # the loopback address it listens on (BIND_HOST)

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def url(self, kind: str = "HTTP") -> str:
        return f"http://{self.host}:{self.ports[kind]}"

    def metrics(self) -> str:
        """The Prometheus text the service serves at /metrics."""
        with urllib.request.urlopen(self.url() + "/metrics", timeout=5) as response:  # noqa: S310 - our own loopback URL
            return str(response.read().decode())

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
        return self.process.wait(timeout)


def run_cli(command: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(
        [str(BIN / command[0]), *command[1:]],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{command[0]} failed: {result.stderr}")
    return result.stdout


def start(
    command: list[str],
    env: dict[str, str],
    log_path: Path,
    ready: str,
    *,
    file_limit: int | None = None,
    hosts_file: Path | None = None,
) -> ServiceProcess:
    """Start `command` (a console script of the venv) and wait for its ready log line; with
    `file_limit`, the child may open at most that many files (soft and hard limit); with
    `hosts_file`, the child reads it as its /etc/hosts (a mount namespace of its own: root on
    Linux), so a test can give a name the addresses it wants."""

    def limit_files() -> None:
        if file_limit is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (file_limit, file_limit))

    with log_path.open("wb") as log_file:  # the child keeps its own descriptor
        argv = [str(BIN / command[0]), *command[1:]]
        if hosts_file is not None:
            bind = 'mount --bind "$0" /etc/hosts && exec "$@"'
            argv = ["unshare", "--mount", "sh", "-c", bind, str(hosts_file), *argv]
        process = subprocess.Popen(
            argv,
            env={**os.environ, **env},
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            process_group=0,  # a Ctrl-C reaches only the lab, which stops its services itself
            preexec_fn=limit_files if file_limit is not None else None,  # noqa: PLW1509 - setrlimit only
        )
    service = ServiceProcess(process, log_path, host=env.get("BIND_HOST", "127.0.0.1"))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = service.log
        if ready in text:
            service.ports = {kind: int(port) for kind, port in PORT_LINE.findall(text)}
            return service
        if process.poll() is not None:
            break
        time.sleep(0.02)
    service.stop(signal.SIGKILL)
    raise RuntimeError(f"{command[0]} did not become ready:\n{service.log}")


def database(tmp_path: Path, name: str) -> tuple[str, bool]:
    """Where a test's service keeps its data, and whether that is new: a SQLite file under
    tmp_path, or with TEST_POSTGRES_URL set, a database of its own on that server."""
    server = os.environ.get(SERVER_URL_ENV)
    if server is None:
        path = tmp_path / f"{name}.db"
        return str(path), not path.exists()
    digest = hashlib.sha256(str(tmp_path / name).encode()).hexdigest()[:24]
    return ensure_database(server, f"{name}_{digest}")


def start_master_data(
    tmp_path: Path, *, file_limit: int | None = None, **env: str
) -> ServiceProcess:
    """master-data on a fresh database (see `database`) with the demo data, both transports on
    free ports. A MASTER_DATA_DB given in env is used as it is, seeded or not."""
    location, new = database(tmp_path, "master")
    base = {
        "MASTER_DATA_DB": location,
        "USE_GRPC": "true",
        "GRPC_PORT": "0",
        "HTTP_PORT": "0",
        "BIND_HOST": "127.0.0.1",
    }
    if new and "MASTER_DATA_DB" not in env:
        run_cli(["master-data", "seed-demo"], {**base, **env})
    return start(
        ["master-data", "serve"],
        {**base, **env},
        tmp_path / f"master-data-{time.monotonic_ns()}.log",
        "master-data ready",
        file_limit=file_limit,
    )


def cart_env(tmp_path: Path, master_data: ServiceProcess, **env: str) -> dict[str, str]:
    """The settings of a cart on its own database (see `database`; a new one is made with
    `cart init`, as `cart serve` makes none), pointed at a running master-data, on a free port."""
    location, new = database(tmp_path, "cart")
    if new and "CART_DB" not in env:
        run_cli(["cart", "init"], {"CART_DB": location})
    base = {
        "CART_DB": location,
        "HTTP_PORT": "0",
        "BIND_HOST": "127.0.0.1",
        "USE_GRPC": "true" if "gRPC" in master_data.ports else "false",
        "MASTER_DATA_GRPC_URL": f"{master_data.host}:{master_data.ports.get('gRPC', 1)}",
        "MASTER_DATA_HTTP_URL": master_data.url(),
    }
    return {**base, **env}


def start_cart(tmp_path: Path, master_data: ServiceProcess, **env: str) -> ServiceProcess:
    """cart with `cart_env`'s settings, ready."""
    return start(
        ["cart", "serve"],
        cart_env(tmp_path, master_data, **env),
        tmp_path / f"cart-{time.monotonic_ns()}.log",
        "cart ready",
    )


def add_terminal(
    tmp_path: Path,
    tenant: str,
    store: str,
    terminal: str,
    *,
    cart_db: str | None = None,
    env: dict[str, str] | None = None,
) -> str:
    """Register a terminal in the cart database under tmp_path (or at `cart_db`); its API key."""
    return run_cli(
        ["cart", "terminals", "add", "--tenant", tenant, "--store", store, "--terminal", terminal],
        {"CART_DB": cart_db or database(tmp_path, "cart")[0], **(env or {})},
    ).strip()
