"""gRPC target names as gRPC spells them: a name to resolve, or addresses fixed."""

from __future__ import annotations

import socket

import pytest

from services.rpc.grpc_target import GrpcTarget, parse_target


@pytest.mark.parametrize(
    ("text", "host", "port", "fixed"),
    [
        pytest.param("master-data:50051", "master-data", 50051, (), id="host:port"),
        pytest.param("http://master-data:50051", "master-data", 50051, (), id="a URL"),
        pytest.param("dns:///master-data.pos.svc:50051", "master-data.pos.svc", 50051, (),
                     id="dns:///"),
        pytest.param("dns://10.0.0.1:53/master-data:50051", "master-data", 50051, (),
                     id="dns with an authority"),
        pytest.param("dns:master-data:7", "master-data", 7, (), id="dns: without slashes"),
        pytest.param("ipv4:127.0.0.1:1,10.1.2.3:2", "", 0, (("127.0.0.1", 1), ("10.1.2.3", 2)),
                     id="ipv4 list"),
        pytest.param("ipv6:[::1]:1,[fe80::1]:2", "", 0, (("::1", 1), ("fe80::1", 2)),
                     id="ipv6 list"),
    ],
)  # fmt: skip
def test_targets_parse(text: str, host: str, port: int, fixed: tuple[tuple[str, int], ...]) -> None:
    assert parse_target(text) == GrpcTarget(text, host=host, port=port, fixed=fixed)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("master-data", id="no port"),
        pytest.param("dns:///master-data", id="dns without a port"),
        pytest.param("ipv4:localhost:1", id="ipv4 of a name"),
        pytest.param("ipv4:[::1]:1", id="ipv4 of an IPv6 address"),
        pytest.param("ipv6:127.0.0.1:1", id="ipv6 of an IPv4 address"),
        pytest.param("ipv4:127.0.0.1", id="ipv4 without a port"),
        pytest.param("host:port", id="a port that is no number"),
    ],
)
def test_bad_targets_say_what_is_expected(text: str) -> None:
    with pytest.raises(ValueError, match=r"expected|address"):
        parse_target(text)


async def test_a_name_resolves_to_its_addresses_a_list_to_itself() -> None:
    assert await parse_target("localhost:50051").resolve() in (
        [("127.0.0.1", 50051)],
        [("127.0.0.1", 50051), ("::1", 50051)],
        [("::1", 50051), ("127.0.0.1", 50051)],
    )
    fixed = parse_target("ipv4:127.0.0.2:1,127.0.0.1:2")
    assert await fixed.resolve() == [("127.0.0.2", 1), ("127.0.0.1", 2)]
    with pytest.raises(socket.gaierror):
        await parse_target("no-such-host.invalid:1").resolve()
