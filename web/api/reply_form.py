"""An agent's reply as the REST API and the reply box send it: JSON, or a form with files."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Request
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType

from inbox.channel import OutboundAttachment
from inbox.errors import Invalid, TooLarge
from inbox.settings import Limits

# The largest reply body a route reads: the raw MIME limit's default (files of one email).
# The configured limits are checked again on what was read.
MAX_REPLY_BODY = Limits.mime_body + 1024 * 1024
FILE_FIELD = "files"


class NewMessage(msgspec.Struct, forbid_unknown_fields=True):
    text: str
    private: bool = False
    inbox_id: int | None = None


@dataclass(frozen=True)
class ReplyForm:
    text: str
    private: bool
    inbox_id: int | None
    files: tuple[OutboundAttachment, ...]


async def read_json_reply(request: Request[Any, Any, Any], limits: Limits) -> ReplyForm:
    """`{"text", "private", "inbox_id"}` as before files existed."""
    body = await request.body()
    if len(body) > limits.json_body:
        raise TooLarge(f"the JSON body is larger than {limits.json_body} bytes")
    try:
        data = msgspec.json.decode(body, type=NewMessage)
    except msgspec.ValidationError as exc:
        raise Invalid(f"invalid message: {exc}") from None
    except msgspec.DecodeError:
        raise Invalid("the body must be a JSON object") from None
    return ReplyForm(data.text, data.private, data.inbox_id, ())


async def read_form_reply(request: Request[Any, Any, Any], limits: Limits) -> ReplyForm:
    """A url-encoded or multipart form: text, private, inbox_id and any number of files."""
    form = await request.form()
    uploads = [item for item in form.getall(FILE_FIELD, []) if isinstance(item, UploadFile)]
    try:
        # A file input left empty still sends a part with no filename and no bytes.
        files = tuple([await _file(item) for item in uploads if item.filename])
    finally:
        for item in uploads:
            await item.close()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    return ReplyForm(
        # HTML forms send a textarea's line breaks as CRLF; store them as typed.
        fields.get("text", "").replace("\r\n", "\n"),
        fields.get("private", "").lower() in ("on", "true", "1", "yes"),
        chosen_inbox(fields.get("inbox_id", "")),
        files,
    )


async def read_reply(request: Request[Any, Any, Any], limits: Limits) -> ReplyForm:
    """A form when the Content-Type says so; JSON otherwise, as before files existed."""
    content_type, _ = request.content_type
    if content_type in (RequestEncodingType.MULTI_PART, RequestEncodingType.URL_ENCODED):
        return await read_form_reply(request, limits)
    return await read_json_reply(request, limits)


def chosen_inbox(raw: str) -> int | None:
    """Empty means "the channel the customer last used"; anything else must be an inbox id."""
    raw = raw.strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise Invalid("inbox_id must be an inbox id")
    return int(raw)


async def _file(item: UploadFile) -> OutboundAttachment:
    return OutboundAttachment(item.filename, item.content_type or "", await item.read())
