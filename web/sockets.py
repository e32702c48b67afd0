"""The websocket protocol `inbox serve` runs: uvicorn's, plus direct frame writes for fan-out.

One ASGI `send` per socket per event costs tens of microseconds; with hundreds of agents that
is the whole budget. This protocol hands the ASGI app its transport (scope extension
`inbox.frames`), so the fan-out writes one pre-encoded frame to every socket itself.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State

EXTENSION = "inbox.frames"
WRITE_BUFFER_LIMIT = 4 * 1024 * 1024  # a socket this far behind is closed and catches up later


def text_frame(payload: bytes) -> bytes:
    """A server-to-client text frame (unmasked, uncompressed: valid on every connection)."""
    return Frame(Opcode.TEXT, payload).serialize(mask=False)


class FrameWriter:
    """Writes whole frames straight to one connection's transport."""

    def __init__(self, protocol: WebSocketsSansIOProtocol) -> None:
        self._protocol = protocol

    @property
    def open(self) -> bool:
        protocol = self._protocol
        return (
            protocol.conn.state is State.OPEN
            and not protocol.close_sent
            and not protocol.transport.is_closing()
        )

    def write(self, data: bytes) -> bool:
        """Queue frames for sending; False when the socket is gone or hopelessly behind."""
        if not self.open:
            return False
        transport = self._protocol.transport
        if transport.get_write_buffer_size() > WRITE_BUFFER_LIMIT:
            return False
        transport.write(data)
        return True


class FrameWritingProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O websocket protocol, exposing a FrameWriter to the app."""

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None:
            scope["extensions"][EXTENSION] = {"writer": FrameWriter(self)}  # type: ignore[index]
