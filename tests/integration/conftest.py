from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from tests.support.harness.processes import ServiceProcess, start_master_data

TOKEN = "integration-token"
AUTH = {"authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def master_data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """One real master-data process for a test module, token auth on."""
    service = start_master_data(tmp_path_factory.mktemp("md"), MASTER_DATA_TOKEN=TOKEN)
    yield service
    assert service.stop() == 0, service.log


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("pki")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    files = {"ca": folder / "ca.pem", "cert": folder / "cert.pem", "key": folder / "key.pem"}
    ca.cert_pem.write_to_path(str(files["ca"]))
    cert.cert_chain_pems[0].write_to_path(str(files["cert"]))
    cert.private_key_pem.write_to_path(str(files["key"]))
    return files


def tls_env(pki: dict[str, Path]) -> dict[str, str]:
    return {"TLS_CERT_FILE": str(pki["cert"]), "TLS_KEY_FILE": str(pki["key"])}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).parent.name == "integration":
            item.add_marker(pytest.mark.integration)
