"""An HTTP server on loopback that answers with scripted bytes, for the edges of HTTP.

    from tests.adapters.scripted_http import scripted_server

    with scripted_server([(b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok", False)]) as srv:
        ...  # srv.port; srv.requests (raw bytes of each request); srv.connections

A real TCP server (a thread on 127.0.0.1): it reads each request (head, then
``Content-Length`` bytes of body) and answers with the next scripted reply, as is,
then closes the connection when that step says so. A reply given as a list of pieces
is sent piece by piece, 20 ms apart (a reply that arrives in several reads). A step
whose reply is ``b""`` closes the connection without answering (a gateway that drops
it). Without steps left, it closes the connection.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from io import BufferedReader

HOST = "127.0.0.1"

Step = tuple[bytes | list[bytes], bool]  # (reply, close the connection afterwards)


@dataclass
class ScriptedServer:
    """What the server was told to say and what it received."""

    steps: list[Step]
    port: int = 0
    requests: list[bytes] = field(default_factory=list)
    connections: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_step(self, request: bytes) -> Step:
        with self.lock:
            self.requests.append(request)
            return self.steps.pop(0) if self.steps else (b"", True)


def _read_request(reader: BufferedReader) -> bytes | None:
    """One request's raw bytes; None when the client closed the connection."""
    head = b""
    while True:
        line = reader.readline()
        if not line:
            return None
        head += line
        if line in (b"\r\n", b"\n"):
            break
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return head + reader.read(length)


def _serve(server: ScriptedServer, conn: socket.socket) -> None:
    with conn, conn.makefile("rb") as reader:
        try:
            while True:
                request = _read_request(reader)
                if request is None:
                    return
                reply, close = server.next_step(request)
                for number, piece in enumerate([reply] if isinstance(reply, bytes) else reply):
                    if number:
                        time.sleep(0.02)
                    conn.sendall(piece)
                if close or not reply:
                    conn.shutdown(socket.SHUT_RDWR)
                    return
        except OSError:  # the client went away first
            return


@contextmanager
def scripted_server(steps: Sequence[Step]) -> Iterator[ScriptedServer]:
    """Serve ``steps`` on 127.0.0.1 (a free port) for the ``with`` block."""
    server = ScriptedServer(list(steps))
    listener = socket.create_server((HOST, 0))
    listener.settimeout(0.05)
    server.port = listener.getsockname()[1]
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            conn.settimeout(None)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with server.lock:
                server.connections += 1
            threading.Thread(target=_serve, args=(server, conn), daemon=True).start()

    thread = threading.Thread(target=accept, name="scripted-http", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
