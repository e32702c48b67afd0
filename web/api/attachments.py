"""Attachment downloads: agent auth, never rendered as a page."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from inbox import queries
from inbox.access import Viewer
from inbox.models import Attachment
from web.runtime import Runtime

# Only raster images may display inline; HTML, SVG and everything else is a download.
INLINE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}


class AttachmentsController(Controller):
    path = "/api/v1/attachments"
    tags = ["attachments"]

    @get("/{attachment_id:int}", media_type="application/octet-stream")
    async def download(
        self,
        runtime: NamedDependency[Runtime],
        viewer: NamedDependency[Viewer],
        attachment_id: FromPath[int],
    ) -> Response[Any]:
        async with runtime.db.read() as session:
            attachment = await queries.visible_attachment(session, viewer, attachment_id)
        return attachment_response(attachment)


def attachment_response(attachment: Attachment) -> Response[Any]:
    """The file as a download (inline only for raster images), never sniffed as a page."""
    content_type = attachment.content_type.split(";")[0].strip().lower()
    inline = content_type in INLINE_TYPES
    disposition = "inline" if inline else "attachment"
    filename = quote(attachment.filename)
    return Response(
        attachment.data,
        media_type=content_type if inline else "application/octet-stream",
        headers={
            "Content-Disposition": f"{disposition}; filename*=UTF-8''{filename}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )
