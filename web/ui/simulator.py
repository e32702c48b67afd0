"""`/simulator`: an admin plays a customer on any channel, through the channel's real webhook."""

from __future__ import annotations

from typing import Any

import httpx
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template

from inbox.access import Viewer
from inbox.errors import Invalid, NotFound
from inbox.inboxes import channel_inboxes
from web.runtime import Runtime
from web.simulator import CHANNELS, Customer, ProviderSink, SimulatedRequest, build_request
from web.ui.pages import Form

KINDS = {kind for kind, _, _ in CHANNELS.values()}


def _enabled(runtime: Runtime) -> None:
    # Off in production unless INBOX_SIMULATOR=1: it signs requests with every inbox's secret.
    if not runtime.settings.simulator:
        raise NotFound("the simulator is turned off (INBOX_SIMULATOR=1 turns it on)")


def _admin(runtime: Runtime, viewer: Viewer) -> None:
    _enabled(runtime)
    if not viewer.is_admin:
        raise NotFound("the simulator is for admins")


def provider_sink(request: Request[Any, Any, Any]) -> ProviderSink:
    """The app's one sink (created on first use)."""
    state = request.app.state
    if "provider_sink" not in state:
        state["provider_sink"] = ProviderSink()
    sink: ProviderSink = state["provider_sink"]
    return sink


async def _deliver(request: Request[Any, Any, Any], simulated: SimulatedRequest) -> httpx.Response:
    # Through the whole app (routing, body limits, verify, parse, ingest), as a provider would.
    # Litestar's __call__ takes its own scope and event TypedDicts, narrower than httpx's plain
    # ASGI signature, so the two do not line up for mypy though the app is plain ASGI.
    transport = httpx.ASGITransport(app=request.app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://simulator.local") as client:
        return await client.post(simulated.path, content=simulated.body, headers=simulated.headers)


class SimulatorController(Controller):
    path = "/simulator"
    include_in_schema = False

    @get("/")
    async def page(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        ui_viewer: NamedDependency[Viewer],
    ) -> Template:
        _admin(runtime, ui_viewer)
        return await self._render(request, runtime, ui_viewer, {})

    @post("/", status_code=200)
    async def send(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        ui_viewer: NamedDependency[Viewer],
        data: Form,
    ) -> Template:
        """Build, sign and post the provider's webhook; show what the app answered."""
        _admin(runtime, ui_viewer)
        channel = data.get("channel", "")
        raw_id = data.get("inbox_id", "")
        if channel not in CHANNELS or not raw_id.isdigit():
            raise Invalid("choose a channel and an inbox")
        inbox = await runtime.inbox(int(raw_id), CHANNELS[channel][0])
        customer = Customer(
            sender=data.get("sender", "")[:200],
            name=data.get("name", "").strip()[:200],
            text=data.get("text", ""),
            subject=data.get("subject", "").strip()[:200],
        )
        simulated = build_request(inbox, channel, customer, runtime.settings.public_url)
        answer = await _deliver(request, simulated)
        result = {"status": answer.status_code, "body": answer.text[:2000], "path": simulated.path}
        form = {k: data.get(k, "") for k in ("channel", "inbox_id", "sender", "name", "subject")}
        return await self._render(request, runtime, ui_viewer, {"result": result, "form": form})

    @get("/devices")
    async def devices(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        ui_viewer: NamedDependency[Viewer],
    ) -> Template:
        """The customer's devices alone, for the page to refresh live."""
        _admin(runtime, ui_viewer)
        return Template("_sim_sent.html", context={"sent": list(provider_sink(request).sent)})

    @get("/webchat/{inbox_id:int}")
    async def webchat(
        self,
        runtime: NamedDependency[Runtime],
        ui_viewer: NamedDependency[Viewer],
        inbox_id: FromPath[int],
    ) -> Template:
        """A stand-in shop page embedding the inbox's chat widget: chat as a website visitor."""
        _admin(runtime, ui_viewer)
        inbox = await runtime.inbox(inbox_id, "webchat")
        return Template("simulator_webchat.html", context={"viewer": ui_viewer, "inbox": inbox})

    @post("/provider/{kind:str}/{rest:path}", opt={"exclude_from_csrf": True}, status_code=200)
    async def provider(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        kind: FromPath[str],
        rest: FromPath[str],
    ) -> Response[Any]:
        """Stand-in provider API for demo inboxes: records the reply, answers like the real one."""
        _enabled(runtime)
        body = await request.body()
        status, answer = provider_sink(request).accept(
            kind, rest, request.headers.get("content-type", ""), body
        )
        return Response(answer, status_code=status)

    async def _render(
        self,
        request: Request[Any, Any, Any],
        runtime: Runtime,
        viewer: Viewer,
        extra: dict[str, Any],
    ) -> Template:
        async with runtime.db.read() as session:
            inboxes = await channel_inboxes(session, viewer, KINDS | {"webchat"})
        context = {
            "viewer": viewer,
            "channels": CHANNELS,
            "inboxes": [i for i in inboxes if i.kind != "webchat"],
            "webchats": [i for i in inboxes if i.kind == "webchat"],
            "sent": list(provider_sink(request).sent),
            "form": {},
            "result": None,
            **extra,
        }
        return Template("simulator.html", context=context)
