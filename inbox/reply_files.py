"""Files an agent attaches to a reply: checked before anything is written, stored like inbound
attachments, and loaded again for the outbox."""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from inbox.channel import OutboundAttachment
from inbox.db import Tx
from inbox.errors import Invalid, TooLarge, Unsupported
from inbox.ingest import safe_filename
from inbox.models import Attachment
from inbox.objects import attachment_object
from inbox.settings import Limits

MAX_FILES = 10
# Channels whose connector sends files. Twilio (SMS, WhatsApp) and WhatsApp Cloud need a public
# media URL we do not have, and an API callback could not fetch the bytes: those are refused.
FILE_CHANNELS = frozenset({"email", "telegram", "webchat"})
# Programs and scripts: mail providers reject them and customers should never be sent one.
REFUSED_EXTENSIONS = frozenset(
    "apk app bat cmd com cpl dll exe hta jar js jse lnk msi msp ps1 reg scr sh vb vbe vbs ws "
    "wsf wsh".split()
)
REFUSED_TYPES = frozenset(
    {
        "application/x-msdownload",
        "application/x-msdos-program",
        "application/x-dosexec",
        "application/x-executable",
        "application/x-sh",
        "application/javascript",
        "text/javascript",
        "application/java-archive",
        "application/vnd.android.package-archive",
        "application/x-ms-installer",
    }
)
_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")


def checked_files(files: Sequence[OutboundAttachment], limits: Limits) -> list[OutboundAttachment]:
    """The files as they will be stored (sanitised name, plain type); refuses bad ones (4xx)."""
    if len(files) > MAX_FILES:
        raise Invalid("at most %(most)s files can be attached to one reply", most=MAX_FILES)
    total = 0
    kept = []
    for item in files:
        name = safe_filename(item.filename)
        if not item.data:
            raise Invalid("%(name)s is empty", name=name)
        if len(item.data) > limits.attachment:
            raise TooLarge(
                "%(name)s is larger than %(limit)s bytes", name=name, limit=limits.attachment
            )
        total += len(item.data)
        content_type = _content_type(item.content_type, name)
        suffix = PurePosixPath(name.lower()).suffix.lstrip(".")
        if suffix in REFUSED_EXTENSIONS or content_type in REFUSED_TYPES:
            raise Unsupported(
                "%(name)s: programs and scripts cannot be sent to customers", name=name
            )
        kept.append(OutboundAttachment(name, content_type, item.data))
    if total > limits.mime_body:
        raise TooLarge("the files together are larger than %(limit)s bytes", limit=limits.mime_body)
    return kept


def refuse_channel(channel: str) -> None:
    """Refuse a reply with files on a channel that cannot carry them (nothing is stored)."""
    if channel not in FILE_CHANNELS:
        raise Invalid(
            f"{channel} replies cannot carry files here; send the text alone or pick "
            "another of the customer's channels (email, Telegram or the website chat)"
        )


async def store_files(
    tx: Tx, message_id: int, files: Sequence[OutboundAttachment]
) -> list[dict[str, Any]]:
    """Store checked files on a message; their public objects, in order."""
    rows = [
        Attachment(
            message_id=message_id,
            filename=item.filename,
            content_type=item.content_type,
            size=len(item.data),
            data=item.data,
        )
        for item in files
    ]
    tx.session.add_all(rows)
    await tx.session.flush()
    return [attachment_object(row) for row in rows]


async def message_files(
    session: AsyncSession, message_id: int
) -> tuple[list[dict[str, Any]], tuple[OutboundAttachment, ...]]:
    """A message's attachments: their public objects and their contents, in order."""
    rows = (
        await session.exec(
            select(Attachment).where(Attachment.message_id == message_id).order_by(Attachment.id)  # type: ignore[arg-type]
        )
    ).all()
    return (
        [attachment_object(row) for row in rows],
        tuple(OutboundAttachment(row.filename, row.content_type, row.data) for row in rows),
    )


def _content_type(declared: str, name: str) -> str:
    # Only a bare `type/subtype` leaves here: parameters, spaces and line breaks never reach a
    # MIME header. Browsers send octet-stream for what they do not know: guess from the name.
    plain = (declared or "").split(";")[0].strip().lower()
    if not _TYPE.fullmatch(plain) or plain == "application/octet-stream":
        guessed = mimetypes.guess_type(name, strict=False)[0]
        plain = guessed.lower() if guessed and _TYPE.fullmatch(guessed.lower()) else ""
    return plain or "application/octet-stream"
