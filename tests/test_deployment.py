"""The deployment files (Dockerfile, compose.yaml, deploy/k8s) checked as far as this machine
can without a container engine: they parse, every variable they set for a service is one that
service's settings read (and takes the value given), probes hit routes that exist, the image
runs as non-root with a healthcheck."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from services.cart.settings import CartSettings
from services.master_data.settings import MasterDataSettings

ROOT = Path(__file__).resolve().parents[1]
SETTINGS: dict[str, type[BaseSettings]] = {"master-data": MasterDataSettings, "cart": CartSettings}
PROBE_PATHS = {"/healthz", "/readyz"}


def known_variables(settings: type[BaseSettings]) -> set[str]:
    return {name.upper() for name in settings.model_fields}


def k8s_containers() -> list[dict[str, Any]]:
    containers = []
    for path in sorted((ROOT / "deploy" / "k8s").glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document["kind"] == "Deployment":
                containers += document["spec"]["template"]["spec"]["containers"]
    return containers


def test_compose_sets_only_variables_the_services_read() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    for name, settings in SETTINGS.items():
        service = compose["services"][name]
        assert service["command"][0] == name
        env = service["environment"]
        assert set(env) <= known_variables(settings), set(env) - known_variables(settings)
        literal = {k.lower(): v for k, v in env.items() if "${" not in str(v)}
        settings(**literal)  # each value is one the service accepts
    assert (ROOT / "deploy/postgres/init.sql").exists()


@pytest.mark.parametrize("container", k8s_containers(), ids=lambda c: c["name"])
def test_k8s_containers_set_only_variables_the_services_read(container: dict[str, Any]) -> None:
    settings = SETTINGS[container["name"]]
    assert container["args"][0] == container["name"]
    names = {e["name"] for e in container["env"]}
    assert names <= known_variables(settings), names - known_variables(settings)
    settings(**{e["name"].lower(): e["value"] for e in container["env"] if "value" in e})
    for probe in ("readinessProbe", "livenessProbe"):
        check = container[probe]
        assert "grpc" in check or check["httpGet"]["path"] in PROBE_PATHS
    assert container["resources"]["requests"]


def test_k8s_master_data_grpc_service_is_headless() -> None:
    services = [
        d
        for d in yaml.safe_load_all((ROOT / "deploy/k8s/master-data.yaml").read_text())
        if d["kind"] == "Service"
    ]
    grpc = next(s for s in services if s["metadata"]["name"] == "master-data-grpc")
    assert grpc["spec"]["clusterIP"] == "None"
    cart = next(c for c in k8s_containers() if c["name"] == "cart")
    url = next(e["value"] for e in cart["env"] if e["name"] == "MASTER_DATA_GRPC_URL")
    assert url == "dns:///master-data-grpc:50051"  # every replica's address, balanced by the cart
    master = next(c for c in k8s_containers() if c["name"] == "master-data")
    ageing = {e["name"]: e["value"] for e in master["env"] if "value" in e}
    assert float(ageing["MAX_CONNECTION_AGE_SECONDS"]) > 0  # carts spread after a scale-out


def test_dockerfile_runs_as_non_root_with_a_healthcheck() -> None:
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users
    assert users[-1] not in {"root", "0"}
    assert any(line.startswith("HEALTHCHECK") for line in lines)
    assert any("/readyz" in line for line in lines)
