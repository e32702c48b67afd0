"""The calling agent's own profile: the avatar the chat widget shows beside their replies."""

from __future__ import annotations

import msgspec
from litestar import Controller, put
from litestar.di import NamedDependency
from litestar.params import JSONBody

from inbox.access import Viewer
from inbox.avatars import set_avatar
from web.runtime import Runtime


class AvatarBody(msgspec.Struct, forbid_unknown_fields=True):
    avatar_url: str | None = None


class ProfileController(Controller):
    path = "/api/v1/agents/me"
    tags = ["agents"]

    @put("/avatar", status_code=200)
    async def avatar(
        self,
        runtime: NamedDependency[Runtime],
        viewer: NamedDependency[Viewer],
        data: JSONBody[AvatarBody],
    ) -> dict[str, str | None]:
        """Set `avatar_url` (an http(s) image URL), or clear it with null: initials then."""
        stored = await set_avatar(runtime.db, viewer.agent_id, data.avatar_url)
        return {"avatar_url": stored}
