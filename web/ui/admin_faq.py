"""Admin pages for the FAQ: list and search, create, edit, delete, CSV/YAML import and export."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.exceptions import PermissionDeniedException
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Template

from inbox.access import Viewer
from inbox.errors import Invalid
from inbox.faq import store, transfer
from inbox.faq.models import entry_object
from web.runtime import Runtime
from web.ui.language import translate_error

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
Upload = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)]
LANGUAGES = ("en", "ko")
MAX_IMPORT = 5 * 1024 * 1024
EMPTY: dict[str, Any] = {"question": "", "alternatives": [], "answer": "", "answer_rich": None,
         "language": "en", "tags": [], "enabled": True}  # fmt: skip


async def provide_admin(ui_viewer: NamedDependency[Viewer]) -> Viewer:
    """The signed-in agent, if an admin (agents get 403)."""
    if not ui_viewer.is_admin:
        raise PermissionDeniedException("admins only")
    return ui_viewer


def entry_fields(data: dict[str, str]) -> dict[str, Any]:
    """The entry form as `store.check_entry` takes it: one alternative per line, tags by comma."""
    return {
        "question": data.get("question", ""),
        "alternatives": data.get("alternatives", "").splitlines(),
        "answer": data.get("answer", ""),
        "answer_rich": data.get("answer_rich", "").strip() or None,
        "language": data.get("language", ""),
        "tags": data.get("tags", "").split(","),
        "enabled": data.get("enabled") == "on",
    }


def form_page(entry: dict[str, Any], admin: Viewer, error: str | None = None) -> Template:
    languages = sorted({*LANGUAGES, entry["language"]})
    context = {"entry": entry, "error": error, "languages": languages, "viewer": admin}
    return Template("admin/faq_form.html", context=context, status_code=400 if error else 200)


async def list_page(
    runtime: Runtime,
    admin: Viewer,
    filters: dict[str, str],
    imported: dict[str, int] | None = None,
    import_error: str | None = None,
) -> Template:
    """The list page (a 400 when it reports a refused import)."""
    enabled = filters.get("enabled")
    async with runtime.db.read() as session:
        entries = await store.find_entries(
            session,
            filters.get("q", ""),
            filters.get("language") or None,
            None if not enabled else enabled == "yes",
        )
    context = {
        "entries": [entry_object(e) for e in entries],
        "filters": filters,
        "languages": LANGUAGES,
        "imported": imported,
        "import_error": import_error,
        "viewer": admin,
    }
    return Template(
        "admin/faq_list.html", context=context, status_code=400 if import_error else 200
    )


class AdminFaqController(Controller):
    path = "/admin/faq"
    include_in_schema = False
    dependencies = {"admin": Provide(provide_admin)}

    @get("/")
    async def entries_page(
        self,
        runtime: NamedDependency[Runtime],
        admin: NamedDependency[Viewer],
        q: FromQuery[str] = "",
        language: FromQuery[str] = "",
        enabled: FromQuery[str] = "",
        created: FromQuery[int | None] = None,
        updated: FromQuery[int | None] = None,
    ) -> Template:
        """Every entry, searched and filtered by language and enabled state."""
        if enabled not in ("", "yes", "no") or len(q) > 200 or len(language) > 16:
            raise Invalid("unknown filter")
        imported = None if created is None else {"created": created, "updated": updated or 0}
        filters = {"q": q, "language": language, "enabled": enabled}
        return await list_page(runtime, admin, filters, imported=imported)

    @get("/new")
    async def new_page(self, admin: NamedDependency[Viewer]) -> Template:
        return form_page(EMPTY, admin)

    @post("/new", status_code=303)
    async def create(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        admin: NamedDependency[Viewer],
        data: Form,
    ) -> Template | Redirect:
        fields = entry_fields(data)
        try:
            await store.create_entry(runtime.db, fields)
        except Invalid as exc:
            return form_page({**EMPTY, **fields}, admin, translate_error(request, exc))
        return Redirect("/admin/faq", status_code=303)

    @get("/{entry_id:int}")
    async def edit_page(
        self,
        runtime: NamedDependency[Runtime],
        admin: NamedDependency[Viewer],
        entry_id: FromPath[int],
    ) -> Template:
        async with runtime.db.read() as session:
            entry = entry_object(await store.get_entry(session, entry_id))
        return form_page(entry, admin)

    @post("/{entry_id:int}", status_code=303)
    async def update(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        admin: NamedDependency[Viewer],
        entry_id: FromPath[int],
        data: Form,
    ) -> Template | Redirect:
        fields = entry_fields(data)
        try:
            await store.update_entry(runtime.db, entry_id, fields)
        except Invalid as exc:
            error = translate_error(request, exc)
            return form_page({**EMPTY, **fields, "id": entry_id}, admin, error)
        return Redirect("/admin/faq", status_code=303)

    @get("/{entry_id:int}/delete")
    async def delete_page(
        self,
        runtime: NamedDependency[Runtime],
        admin: NamedDependency[Viewer],
        entry_id: FromPath[int],
    ) -> Template:
        """Asks before deleting."""
        async with runtime.db.read() as session:
            entry = entry_object(await store.get_entry(session, entry_id))
        return Template("admin/faq_delete.html", context={"entry": entry, "viewer": admin})

    @post("/{entry_id:int}/delete", status_code=303)
    async def delete(
        self,
        runtime: NamedDependency[Runtime],
        admin: NamedDependency[Viewer],
        entry_id: FromPath[int],
    ) -> Redirect:
        await store.delete_entry(runtime.db, entry_id)
        return Redirect("/admin/faq", status_code=303)

    @get("/export")
    async def export(
        self,
        runtime: NamedDependency[Runtime],
        admin: NamedDependency[Viewer],
        format: FromQuery[str] = "yaml",
    ) -> Response[str]:
        """Every entry as the file `inbox faq export` writes."""
        if format not in ("csv", "yaml"):
            raise Invalid("format must be csv or yaml")
        async with runtime.db.read() as session:
            entries = [entry_object(e) for e in await store.list_entries(session)]
        media = "text/csv" if format == "csv" else "application/yaml"
        return Response(
            transfer.render_entries(entries, format),
            media_type=f"{media}; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="faq.{format}"'},
        )

    @post("/import", status_code=303, request_max_body_size=MAX_IMPORT + 64 * 1024)
    async def import_file(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        admin: NamedDependency[Viewer],
        data: Upload,
    ) -> Template | Redirect:
        """Add or update entries from a CSV or YAML file, as `inbox faq import` does."""
        upload = data.get("file")
        try:
            if not isinstance(upload, UploadFile) or not upload.filename:
                raise Invalid("choose a .csv or .yaml file to import")
            content = await upload.read(MAX_IMPORT + 1)
            if len(content) > MAX_IMPORT:
                raise Invalid("the file is larger than 5 MiB")
            items = transfer.parse_bytes(content, upload.filename)
            created, updated = await store.import_entries(runtime.db, items)
        except Invalid as exc:
            error = translate_error(request, exc)
            return await list_page(runtime, admin, {}, import_error=error)
        return Redirect(f"/admin/faq?created={created}&updated={updated}", status_code=303)
