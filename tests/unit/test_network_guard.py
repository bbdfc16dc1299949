import socket

import pytest

from tests.conftest import NonLoopbackConnection


def test_public_address_refused() -> None:
    with socket.socket() as s, pytest.raises(NonLoopbackConnection):
        s.connect(("93.184.216.34", 80))


def test_dns_lookup_refused() -> None:
    with pytest.raises(NonLoopbackConnection):
        socket.getaddrinfo("export.arxiv.org", 443)


def test_loopback_allowed() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.socket() as client:
            client.connect(server.getsockname())
