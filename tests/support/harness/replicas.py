"""master-data replicas behind one DNS name, as a headless Kubernetes Service gives them: each
replica on a loopback address of its own (127.0.0.2, .3, ...), all on one gRPC port, and a hosts
file naming them all. A process started with that file as its /etc/hosts (`start(...,
hosts_file=)`: a mount namespace of its own, root on Linux) resolves the name to every replica;
the file is rewritten in place as replicas come, so the next resolve sees them."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

from .processes import ServiceProcess, start_master_data

NAME = "master-data.test"


def can_name_replicas() -> bool:
    """Whether this process may give a child a hosts file of its own."""
    return os.geteuid() == 0 and shutil.which("unshare") is not None


class ReplicaPool:
    """The replicas, added one by one; `target` names them all."""

    def __init__(self, folder: Path, **env: str) -> None:
        self.folder = folder
        self.env = env
        self.hosts_file = folder / "hosts"
        self.replicas: list[ServiceProcess] = []
        self.port = 0

    @property
    def target(self) -> str:
        return f"dns:///{NAME}:{self.port}"

    def add(self) -> ServiceProcess:
        address = f"127.0.0.{len(self.replicas) + 2}"
        folder = self.folder / address
        folder.mkdir()
        env = {**self.env, "BIND_HOST": address, "GRPC_PORT": str(self.port)}
        replica = start_master_data(folder, file_limit=None, **env)
        self.port = replica.ports["gRPC"]
        self.replicas.append(replica)
        named = "".join(f"{r.host} {NAME}\n" for r in self.replicas)
        self.hosts_file.write_text(f"127.0.0.1 localhost\n{named}")  # in place: mounts see it
        return replica

    def stop(self) -> None:
        for replica in self.replicas:
            if replica.process.poll() is None:
                replica.stop(signal.SIGKILL)
