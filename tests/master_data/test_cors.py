"""CORS on master-data's HTTP port: off by default; a listed origin's preflight is answered
before auth, its calls carry the headers a browser needs; any other origin gets none."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError
from starlette.testclient import TestClient

from services.master_data.repository import ItemRepository
from services.master_data.server import assemble
from services.master_data.settings import MasterDataSettings

from .conftest import TOKEN

PAGE = "http://127.0.0.1:5173"
LOOKUP = "/kugel.item.v1.ItemService/GetItemDetail"
BODY = {"tenantId": "T0001", "storeCode": "S001", "itemCode": "ITEM0001"}
PREFLIGHT = {
    "access-control-request-method": "POST",
    "access-control-request-headers": "authorization, content-type, connect-protocol-version",
}


@pytest.fixture
def cors_http(repository: ItemRepository, tmp_path: Path) -> Iterator[TestClient]:
    settings = MasterDataSettings(
        master_data_db=str(tmp_path / "master.db"),
        master_data_token=SecretStr(TOKEN),
        cors_allowed_origins=f"{PAGE}, https://till.example.com",
    )
    with TestClient(assemble(repository, settings).http_app) as client:
        yield client


def test_a_listed_origins_preflight_is_answered_without_a_token(cors_http: TestClient) -> None:
    answer = cors_http.options(LOOKUP, headers={"origin": PAGE, **PREFLIGHT})
    assert answer.status_code == 204
    assert answer.headers["access-control-allow-origin"] == PAGE
    assert "access-control-allow-credentials" not in answer.headers  # a bearer token: none
    assert answer.headers["access-control-allow-methods"] == "GET, POST"
    allowed = {h.strip().lower() for h in answer.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "connect-protocol-version", "connect-timeout-ms",
            "grpc-timeout", "x-grpc-web", "x-user-agent"} <= allowed  # fmt: skip
    assert "Origin" in answer.headers["vary"]


def test_a_listed_origins_call_exposes_the_protocol_headers(cors_http: TestClient) -> None:
    answer = cors_http.post(
        LOOKUP, json=BODY, headers={"origin": PAGE, "authorization": f"Bearer {TOKEN}"}
    )
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == PAGE
    exposed = {
        h.strip().lower() for h in answer.headers["access-control-expose-headers"].split(",")
    }
    assert {"grpc-status", "grpc-message", "grpc-status-details-bin"} <= exposed
    refused = cors_http.post(LOOKUP, json=BODY, headers={"origin": PAGE})  # no token: still 401
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == PAGE  # the page can read why


@pytest.mark.parametrize("origin", ["http://evil.example", "http://127.0.0.1:5174", "null"])
def test_another_origin_gets_no_cors_header(cors_http: TestClient, origin: str) -> None:
    preflight = cors_http.options(LOOKUP, headers={"origin": origin, **PREFLIGHT})
    call = cors_http.post(
        LOOKUP, json=BODY, headers={"origin": origin, "authorization": f"Bearer {TOKEN}"}
    )
    for answer in (preflight, call):
        assert not [h for h in answer.headers if h.lower().startswith("access-control-")]
    assert preflight.status_code != 204


def test_cors_is_off_by_default(http: TestClient) -> None:
    answer = http.options(LOOKUP, headers={"origin": PAGE, **PREFLIGHT})
    assert "access-control-allow-origin" not in answer.headers


@pytest.mark.parametrize("value", ["*", "http://*.example.com", "example.com", "http://a/b"])
def test_a_wildcard_or_a_non_origin_is_refused_at_start(value: str) -> None:
    with pytest.raises(ValidationError):
        MasterDataSettings(cors_allowed_origins=value)


def test_metrics_probes_and_the_admin_api_get_no_cors_header(cors_http: TestClient) -> None:
    for path in ("/metrics", "/healthz", "/admin/v1/tenants/T0001"):
        answer = cors_http.get(path, headers={"origin": PAGE})
        assert "access-control-allow-origin" not in answer.headers, path
        preflight = cors_http.options(path, headers={"origin": PAGE, **PREFLIGHT})
        assert "access-control-allow-origin" not in preflight.headers, path


def test_the_admin_api_and_credentials_only_when_a_setting_asks(
    repository: ItemRepository, tmp_path: Path
) -> None:
    settings = MasterDataSettings(
        master_data_db=str(tmp_path / "master.db"),
        master_data_token=SecretStr(TOKEN),
        cors_allowed_origins=PAGE,
        cors_admin_api=True,
        cors_allow_credentials=True,
    )
    with TestClient(assemble(repository, settings).http_app) as client:
        admin = client.options("/admin/v1/tenants/T0001", headers={"origin": PAGE, **PREFLIGHT})
        assert admin.headers["access-control-allow-origin"] == PAGE
        assert admin.headers["access-control-allow-credentials"] == "true"
        metrics = client.get("/metrics", headers={"origin": PAGE})
        assert "access-control-allow-origin" not in metrics.headers
