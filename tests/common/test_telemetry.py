"""OpenTelemetry only when the standard variables ask for it, and a clear refusal of what this
build cannot do. (What it traces is tests/integration/test_tracing.py, across real processes.)"""

from __future__ import annotations

import pytest

from services.common.setup_errors import SetupError
from services.common.telemetry import configure_telemetry


@pytest.mark.parametrize(
    "environ",
    [
        pytest.param({}, id="nothing set"),
        pytest.param({"OTEL_SERVICE_NAME": "cart"}, id="a name alone"),
        pytest.param({"OTEL_TRACES_EXPORTER": "none"}, id="exporter none"),
        pytest.param({"OTEL_METRICS_EXPORTER": "console"}, id="metrics without traces"),
    ],
)
def test_nothing_is_installed_unless_traces_are_asked_for(environ: dict[str, str]) -> None:
    assert configure_telemetry("cart", environ) is None


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        pytest.param({"OTEL_TRACES_EXPORTER": "jaeger"}, "OTEL_TRACES_EXPORTER", id="an exporter"),
        pytest.param({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
                     "OTEL_EXPORTER_OTLP_PROTOCOL", id="OTLP over gRPC"),
        pytest.param({"OTEL_METRICS_EXPORTER": "prometheus"}, "OTEL_METRICS_EXPORTER",
                     id="a metrics exporter"),
    ],
)  # fmt: skip
def test_what_cannot_be_done_is_a_setup_error(environ: dict[str, str], named: str) -> None:
    with pytest.raises(SetupError, match=named):
        configure_telemetry("cart", environ)
