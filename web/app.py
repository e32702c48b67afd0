"""`create_app(settings)`: the composition root of the web process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Litestar, MediaType, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.openapi import OpenAPIConfig
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from inbox.errors import NotFound
from inbox.models import MAX_ID
from inbox.settings import Settings
from web.api.attachments import AttachmentsController
from web.api.canned import CannedRepliesController
from web.api.conversations import ConversationsController
from web.api.customers import CustomersController
from web.api.faq import FaqController, FaqSuggestionsController, ReportsController
from web.api.labels import LabelsController
from web.api.messages import MessagesController
from web.api.profile import ProfileController
from web.api.sms import SmsController
from web.api.stream import SearchController
from web.auth import provide_viewer
from web.browser_rules import same_site_sockets, security_headers
from web.errors import HANDLERS
from web.live import Fanout, agent_socket
from web.runtime import Runtime
from web.ui import language, local_time
from web.ui.admin_agents import AdminAgentsController
from web.ui.admin_faq import AdminFaqController
from web.ui.admin_inboxes import AdminInboxesController
from web.ui.canned import CannedPagesController
from web.ui.conversation_faq import ConversationFaqController
from web.ui.conversation_page import ConversationPageController
from web.ui.label_forms import LabelFormsController
from web.ui.list_page import ListController
from web.ui.pages import LoginRequired, PagesController, login_redirect, provide_ui_viewer
from web.ui.profile_page import ProfilePageController
from web.ui.search_page import SearchPageController
from web.ui.session import csrf_config, session_config
from web.ui.simulator import SimulatorController
from web.ui.throttle import LoginThrottle
from web.webhooks import ApiChannelController, WebhookController
from web.widget import AgentTypingController, WidgetController, widget_socket
from web.widget_live import WidgetRelay
from web.widget_throttle import WidgetThrottle

UI = Path(__file__).parent / "ui"


@get("/health", media_type=MediaType.JSON, tags=["health"])
async def health(runtime: NamedDependency[Runtime]) -> dict[str, str]:
    """Answers once the database answers (for load balancers)."""
    await runtime.db.ping()
    return {"status": "ok"}


def server_options() -> dict[str, Any]:
    """uvicorn settings the app is built for: frame-writing websockets, no per-socket deflate."""
    from web.sockets import FrameWritingProtocol

    return {"ws": FrameWritingProtocol, "ws_per_message_deflate": False, "log_level": "warning"}


def create_app(settings: Settings | None = None, *, dispatch: bool = True) -> Litestar:
    """Build the app; tests pass their own settings."""
    settings = settings or Settings.from_env()
    settings.check()
    runtime = Runtime(settings, dispatch=dispatch)
    fanout = Fanout()
    widget_relay = WidgetRelay(runtime, runtime.connectors["webchat"].hub)  # type: ignore[attr-defined]
    fanout.observers.append(widget_relay.observe)

    async def start() -> None:
        await runtime.start()
        runtime.start_task(fanout.run(runtime))
        runtime.start_task(widget_relay.run())
        runtime.start_task(fanout.watch_revocations(runtime, runtime.stopping))

    async def stop() -> None:
        await runtime.stop()

    def provide_runtime() -> Runtime:
        return runtime

    app = Litestar(
        route_handlers=[
            health,
            ApiChannelController,
            WebhookController,
            ConversationsController,
            CustomersController,
            MessagesController,
            FaqController,
            FaqSuggestionsController,
            ReportsController,
            AttachmentsController,
            ProfileController,
            SearchController,
            SmsController,
            agent_socket,
            WidgetController,
            AgentTypingController,
            widget_socket,
            PagesController,
            ListController,
            ProfilePageController,
            LabelFormsController,
            SearchPageController,
            LabelsController,
            AdminFaqController,
            ConversationFaqController,
            ConversationPageController,
            SimulatorController,
            AdminInboxesController,
            AdminAgentsController,
            CannedRepliesController,
            CannedPagesController,
            create_static_files_router(path="/static", directories=[UI / "static"]),
        ],
        dependencies={
            "runtime": Provide(provide_runtime, sync_to_thread=False),
            "viewer": Provide(provide_viewer),
            "ui_viewer": Provide(provide_ui_viewer),
        },
        exception_handlers={**HANDLERS, LoginRequired: login_redirect},
        before_request=_refuse_huge_ids,
        middleware=[same_site_sockets, session_config(settings).middleware],
        csrf_config=csrf_config(settings),
        template_config=TemplateConfig(engine=JinjaTemplateEngine.from_environment(_templates())),
        on_startup=[start],
        on_shutdown=[stop],
        request_max_body_size=settings.limits.json_body,
        openapi_config=OpenAPIConfig(title="Omnichannel inbox API", version="1", path="/schema"),
        state=State(
            {
                "runtime": runtime,
                "fanout": fanout,
                "login_throttle": LoginThrottle(settings.redis_url),
                "widget_throttle": WidgetThrottle(settings.redis_url),
            }
        ),
        debug=False,
    )
    # Outermost, so the router's own 404s and 405s carry the headers too.
    app.asgi_handler = security_headers(app.asgi_handler)
    return app


async def _refuse_huge_ids(request: Any) -> None:
    """An id past 64 bits cannot exist; say 404 before a database overflows on it."""
    for value in request.path_params.values():
        if isinstance(value, int) and not 0 < value <= MAX_ID:
            raise NotFound("not found")
    return None


def _templates() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(UI / "templates"), autoescape=select_autoescape(default=True)
    )
    language.install(environment)
    local_time.install(environment)
    return environment
