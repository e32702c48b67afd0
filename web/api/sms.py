"""SMS length for the reply box: encoding and segment count before an agent sends."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from inbox.access import Viewer
from inbox.errors import TooLarge
from inbox.sms import sms_length
from web.runtime import Runtime


class SmsText(msgspec.Struct, forbid_unknown_fields=True):
    text: str


class SmsController(Controller):
    path = "/api/v1/sms"
    tags = ["sms"]

    @post("/length", status_code=200)
    async def length(
        self,
        runtime: NamedDependency[Runtime],
        viewer: NamedDependency[Viewer],
        data: JSONBody[SmsText],
    ) -> dict[str, Any]:
        """`{"encoding": "GSM-7"|"UCS-2", "units", "segments", "per_segment"}` of `text`."""
        if len(data.text) > runtime.settings.limits.message_text:
            raise TooLarge(f"text is longer than {runtime.settings.limits.message_text} characters")
        return sms_length(data.text).as_dict()
