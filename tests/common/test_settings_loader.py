"""Settings from the environment: a typo of one of our variables is warned about with the name
meant; the other service's variables (one shell under `just up`) and other programs' are not;
a refusal names what is accepted."""

from __future__ import annotations

import pytest

from services.cart.settings import CartSettings
from services.common.settings_loader import PROJECT_VARIABLES, load_settings, misspelled
from services.master_data.settings import MasterDataSettings

BOTH = {n.upper() for n in CartSettings.model_fields} | {
    n.upper() for n in MasterDataSettings.model_fields
}
OTHER_PROGRAMS = ["PATH", "HOME", "SSL_CERT_FILE", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
                  "OTEL_SERVICE_NAME", "PYTHONPATH", "LANG", "TZ", "CI"]  # fmt: skip


def test_the_project_variables_are_exactly_both_services_settings() -> None:
    assert set(PROJECT_VARIABLES) == BOTH


@pytest.mark.parametrize(
    ("given", "meant"),
    [
        ("USE_GRCP", "USE_GRPC"),
        ("CART_BD", "CART_DB"),
        ("GRPC_TIMEOTU", "GRPC_TIMEOUT"),
        ("MASTER_DATA_GRPC_ULR", "MASTER_DATA_GRPC_URL"),
        ("use_grpcc", "USE_GRPC"),
    ],
)
def test_a_typo_is_named_with_the_variable_meant(given: str, meant: str) -> None:
    assert misspelled(CartSettings.model_fields, {given: "x"}, PROJECT_VARIABLES) == [
        (given, meant)
    ]


@pytest.mark.parametrize("settings", [CartSettings, MasterDataSettings], ids=["cart", "md"])
def test_neither_the_other_service_nor_other_programs_are_taken_for_typos(
    settings: type[CartSettings] | type[MasterDataSettings],
) -> None:
    environ = {name: "x" for name in [*BOTH, *OTHER_PROGRAMS]}
    assert misspelled(settings.model_fields, environ, PROJECT_VARIABLES) == []


def test_a_typo_is_a_warning_and_the_service_starts(capsys: pytest.CaptureFixture[str]) -> None:
    load_settings(CartSettings, "cart", {"USE_GRCP": "true"})
    assert capsys.readouterr().err == (
        "cart: warning: USE_GRCP is not a variable of cart (ignored): did you mean USE_GRPC?\n"
    )


def test_a_refusal_names_the_values_accepted(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("USE_GRPC", "yes-please")
    with pytest.raises(SystemExit) as exited:
        load_settings(CartSettings, "cart", {})
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "USE_GRPC" in err
    assert "accepted: true, false, 1, 0, yes, no, on, off" in err
