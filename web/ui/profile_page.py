"""`/profile`: the signed-in agent's own account — the picture the chat widget shows beside
their replies, and their password."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from inbox.access import Viewer
from inbox.avatars import set_avatar
from inbox.errors import Invalid
from inbox.profile import WrongPassword, change_own_password, own_profile
from web.runtime import Runtime
from web.ui.language import language_of, translate, translate_error
from web.ui.pages import Form
from web.ui.session import start_session
from web.ui.throttle import LoginThrottle

SAVED = {"avatar": "Your picture is saved.", "password": "Your password is changed."}


class ProfilePageController(Controller):
    path = "/profile"
    include_in_schema = False

    @get("/")
    async def profile_page(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        ui_viewer: NamedDependency[Viewer],
        saved: FromQuery[str] = "",
    ) -> Template:
        """The agent's picture and password forms."""
        notice = translate(language_of(request), SAVED[saved]) if saved in SAVED else None
        return await _page(runtime, ui_viewer, notice=notice)

    @post("/avatar", status_code=303)
    async def avatar(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        ui_viewer: NamedDependency[Viewer],
        data: Form,
    ) -> Template | Redirect:
        """Set the picture's URL, or clear it (an empty field) to show initials."""
        try:
            await set_avatar(runtime.db, ui_viewer.agent_id, data.get("avatar_url") or None)
        except Invalid as exc:
            error = translate_error(request, exc)
            return await _page(runtime, ui_viewer, avatar_error=error, status=400)
        return Redirect("/profile?saved=avatar", status_code=303)

    @post("/password", status_code=303)
    async def password(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        ui_viewer: NamedDependency[Viewer],
        data: Form,
    ) -> Template | Redirect:
        """Change the password; this browser stays signed in, every other session ends."""
        language = language_of(request)
        throttle: LoginThrottle = request.app.state.login_throttle
        address = request.client.host if request.client else "unknown"
        key = f"agent:{ui_viewer.agent_id}"  # a stolen session must not guess the password
        wait = await throttle.retry_after(key, address)
        if wait is not None:
            message = "Too many failed attempts; try again in %(seconds)s s."
            error = translate(language, message) % {"seconds": wait}
            return await _page(runtime, ui_viewer, password_error=error, status=429)
        try:
            agent = await change_own_password(
                runtime.db,
                ui_viewer.agent_id,
                data.get("current_password", ""),
                data.get("new_password", ""),
                data.get("repeat_password", ""),
            )
        except Invalid as exc:
            if isinstance(exc, WrongPassword):
                await throttle.failed(key, address)
            error = translate_error(request, exc)
            return await _page(runtime, ui_viewer, password_error=error, status=400)
        start_session(request, agent)
        return Redirect("/profile?saved=password", status_code=303)


async def _page(runtime: Runtime, viewer: Viewer, *, status: int = 200, **context: Any) -> Template:
    async with runtime.db.read() as session:
        profile = await own_profile(session, viewer.agent_id)
    context = {"viewer": viewer, "profile": profile, **context}
    return Template("profile.html", context=context, status_code=status)
