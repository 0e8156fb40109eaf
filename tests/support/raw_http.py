"""Raw HTTP/1.1 over a socket, for requests no tidy client sends."""

from __future__ import annotations

import json
import socket
from typing import Any


def exchange(port: int, request: bytes, timeout: float = 5.0) -> bytes:
    """Send the bytes, read until the server closes or the first reply is complete."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        return read_reply(sock)


def read_reply(sock: socket.socket) -> bytes:
    data = b""
    while True:
        head, found, body = data.partition(b"\r\n\r\n")
        if found:
            length = next(
                (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                 if line.lower().startswith(b"content-length:")),
                None,
            )  # fmt: skip
            if length is not None and len(body) >= length:
                return data
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def status_and_json(reply: bytes) -> tuple[int, Any]:
    head, _, body = reply.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body.decode(errors="replace")


def post(path: str, body: bytes, headers: dict[str, str] | list[tuple[str, str]]) -> bytes:
    """A POST request's bytes; header values are sent as latin-1, as HTTP/1.1 allows."""
    pairs = headers.items() if isinstance(headers, dict) else headers
    lines = [f"POST {path} HTTP/1.1", "host: 127.0.0.1", f"content-length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in pairs]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
