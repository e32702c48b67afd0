"""Agent pages: login, the conversation list and one conversation with the customer's timeline."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Template

from inbox import actions, queries
from inbox.access import Viewer
from inbox.agents import authenticate_password, set_locale, set_time_zone
from inbox.errors import Invalid
from inbox.read_markers import mark_read
from inbox.sms import sms_length
from web.api.attachments import attachment_response
from web.api.reply_form import MAX_REPLY_BODY, read_form_reply
from web.runtime import Runtime
from web.ui.conversation_page import conversation_view
from web.ui.language import language_of, translate
from web.ui.local_time import time_zone_names
from web.ui.session import start_session, viewer_from_session
from web.ui.throttle import LoginThrottle

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


class LoginRequired(Exception):
    """The page needs a signed-in agent; answered with a redirect to /login."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def local_path(target: str | None) -> str:
    """Only same-site paths may be redirected to (no `//evil.example`, no schemes)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    parts = urlsplit(target)
    return "/" if parts.scheme or parts.netloc else target


async def provide_ui_viewer(
    request: Request[Any, Any, Any], runtime: NamedDependency[Runtime]
) -> Viewer:
    viewer = await viewer_from_session(runtime, request)
    if viewer is None:
        raise LoginRequired(
            request.url.path + (f"?{request.url.query}" if request.url.query else "")
        )
    request.state.ui_language = viewer.locale
    request.state.ui_time_zone = viewer.time_zone
    return viewer


def login_redirect(_: Request[Any, Any, Any], exc: LoginRequired) -> Redirect:
    return Redirect(f"/login?next={quote(local_path(exc.next_path))}", status_code=303)


class PagesController(Controller):
    include_in_schema = False

    @get("/login")
    async def login_page(self, next: FromQuery[str | None] = None) -> Template:
        return Template("login.html", context={"next": local_path(next), "error": None})

    @post("/login", status_code=303)
    async def login(
        self, request: Request[Any, Any, Any], runtime: NamedDependency[Runtime], data: Form
    ) -> Template | Redirect:
        email, password = data.get("email", ""), data.get("password", "")
        target = local_path(data.get("next"))
        throttle: LoginThrottle = request.app.state.login_throttle
        address = request.client.host if request.client else "unknown"
        wait = await throttle.retry_after(email, address)
        if wait is not None:
            error = translate(
                language_of(request), "Too many failed attempts; try again in %(seconds)s s."
            ) % {"seconds": wait}
            return Template(
                "login.html",
                status_code=429,
                headers={"Retry-After": str(wait)},
                context={"next": target, "error": error},
            )
        async with runtime.db.read() as session:
            agent = await authenticate_password(session, email, password)
        if agent is None:
            await throttle.failed(email, address)
            return Template(
                "login.html",
                status_code=401,
                context={
                    "next": target,
                    "error": translate(language_of(request), "Wrong email or password."),
                },
            )
        start_session(request, agent)
        if not agent.time_zone and data.get("time_zone"):
            # The browser's zone on first login; a zone it sends that we do not know stays unset.
            try:
                await set_time_zone(runtime.db, agent.id or 0, data["time_zone"], only_unset=True)
            except Invalid:
                pass
        return Redirect(target, status_code=303)

    @post("/logout", status_code=303)
    async def logout(self, request: Request[Any, Any, Any]) -> Redirect:
        request.clear_session()
        return Redirect("/login", status_code=303)

    @post("/language", status_code=303)
    async def choose_language(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        ui_viewer: NamedDependency[Viewer],
        data: Form,
    ) -> Redirect:
        """The agent picks the UI language; it sticks to the agent, not the browser."""
        await set_locale(runtime.db, ui_viewer.agent_id, data.get("language", ""))
        return Redirect(local_path(data.get("next")), status_code=303)

    @get("/time-zone")
    async def time_zone_page(
        self, ui_viewer: NamedDependency[Viewer], next: FromQuery[str | None] = None
    ) -> Template:
        """A page to pick the zone times are shown in."""
        context = {"viewer": ui_viewer, "zones": time_zone_names(), "next": local_path(next)}
        return Template("time_zone.html", context=context)

    @post("/time-zone", status_code=303)
    async def choose_time_zone(
        self,
        runtime: NamedDependency[Runtime],
        ui_viewer: NamedDependency[Viewer],
        data: Form,
    ) -> Redirect:
        """The agent picks the zone every time in the UI is shown in."""
        await set_time_zone(runtime.db, ui_viewer.agent_id, data.get("time_zone", ""))
        return Redirect(local_path(data.get("next")), status_code=303)

    @get("/conversations/{conversation_id:int}")
    async def conversation_page(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        ui_viewer: NamedDependency[Viewer],
        conversation_id: FromPath[int],
        partial: FromQuery[bool] = False,
        merge_q: FromQuery[str] = "",
    ) -> Template:
        """One conversation: the customer's timeline from its newest end, reply box, panel."""
        await mark_read(runtime.db, ui_viewer, conversation_id)
        return await conversation_view(
            request, runtime, ui_viewer, conversation_id, partial=partial, merge_q=merge_q
        )

    @post(
        "/conversations/{conversation_id:int}/reply",
        status_code=303,
        request_max_body_size=MAX_REPLY_BODY,
    )
    async def reply(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        ui_viewer: NamedDependency[Viewer],
        conversation_id: FromPath[int],
    ) -> Redirect:
        """The reply box: a url-encoded or multipart form, files under `files`."""
        limits = runtime.settings.limits
        form = await read_form_reply(request, limits)
        await actions.post_message(
            runtime.db,
            ui_viewer,
            conversation_id,
            form.text,
            private=form.private,
            inbox_id=form.inbox_id,
            max_length=limits.message_text,
            files=form.files,
            limits=limits,
        )
        return Redirect(f"/conversations/{conversation_id}", status_code=303)

    @post("/conversations/{conversation_id:int}/suggestions/{suggestion_id:int}", status_code=303)
    async def decide_suggestion(
        self,
        runtime: NamedDependency[Runtime],
        ui_viewer: NamedDependency[Viewer],
        conversation_id: FromPath[int],
        suggestion_id: FromPath[int],
        data: Form,
    ) -> Redirect:
        """Accept (merge) or reject a merge suggestion from the customer panel."""
        decision = data.get("decision")
        if decision not in ("accept", "reject"):
            raise Invalid("decision must be accept or reject")
        await actions.decide_suggestion(
            runtime.db, ui_viewer, suggestion_id, accept=decision == "accept"
        )
        return Redirect(f"/conversations/{conversation_id}", status_code=303)

    @get("/sms-length", media_type="application/json")
    async def reply_sms_length(
        self,
        runtime: NamedDependency[Runtime],
        ui_viewer: NamedDependency[Viewer],
        text: FromQuery[str] = "",
    ) -> dict[str, Any]:
        """The reply box's segment counter (the session twin of POST /api/v1/sms/length)."""
        if len(text) > runtime.settings.limits.message_text:
            raise Invalid("text is too long")
        return sms_length(text).as_dict()

    @get("/attachments/{attachment_id:int}")
    async def attachment(
        self,
        runtime: NamedDependency[Runtime],
        ui_viewer: NamedDependency[Viewer],
        attachment_id: FromPath[int],
    ) -> Response[Any]:
        async with runtime.db.read() as session:
            attachment = await queries.visible_attachment(session, ui_viewer, attachment_id)
        return attachment_response(attachment)
