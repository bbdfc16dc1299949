"""Test-wide guard: no connection may leave the loopback interface."""

from __future__ import annotations

import ipaddress
import os
import socket
from typing import Any

import pytest

os.environ.setdefault("PTB_TIMEDELTA", "true")  # as the entry point does (see bot/cli.py)

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


class NonLoopbackConnection(RuntimeError):
    """A test tried to reach something other than 127.0.0.0/8 or ::1."""


def _check(address: Any) -> None:
    if isinstance(address, tuple) and address:
        host = address[0]
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            raise NonLoopbackConnection(f"connection by name refused in tests: {host!r}") from None
        if not ip.is_loopback:
            raise NonLoopbackConnection(f"non-loopback connection refused in tests: {host!r}")
    # AF_UNIX paths (str / bytes) are local by definition.


def _guarded_connect(self: socket.socket, address: Any) -> None:
    _check(address)
    _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    _check(address)
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if host not in (None, "localhost", b"localhost"):
        try:
            ip = ipaddress.ip_address(host.decode() if isinstance(host, bytes) else host)
        except ValueError:
            raise NonLoopbackConnection(f"DNS lookup refused in tests: {host!r}") from None
        if not ip.is_loopback and not ip.is_unspecified:
            raise NonLoopbackConnection(f"non-loopback address refused in tests: {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
socket.getaddrinfo = _guarded_getaddrinfo


@pytest.fixture(autouse=True)
def _no_internet() -> None:
    """The guard is installed at import; this fixture asserts it is still in place for every test."""
    assert socket.socket.connect is _guarded_connect


pytest_plugins = ["tests.dbs"]  # the `database` / `empty_database` fixtures (SQLite and PostgreSQL)
