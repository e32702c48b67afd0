"""The FAQ file format: CSV `question,alternatives,answer,language` (alternatives split by `|`)
or YAML, a list of entries with the same keys (plus optional `answer_rich`, `tags`, `enabled`)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import yaml

from inbox.errors import Invalid

CSV_COLUMNS = ("question", "alternatives", "answer", "language")
OPTIONAL_CSV_COLUMNS = ("answer_rich", "tags", "enabled")


def file_format(path: str | Path) -> str:
    """`csv` or `yaml`, from the file's extension."""
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".yaml", ".yml"):
        return "yaml"
    raise Invalid(f"{path}: use a .csv, .yaml or .yml file")


def read_entries(path: str | Path) -> list[dict[str, Any]]:
    """The entries a file holds, as dicts for `inbox.faq.store.check_entry`."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise Invalid(f"{path}: {exc.strerror or exc}") from exc
    return parse_bytes(data, str(path))


def parse_bytes(data: bytes, filename: str) -> list[dict[str, Any]]:
    """The entries of a file's content (the CLI's file or an uploaded one), by its extension."""
    fmt = file_format(filename)
    try:
        raw = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid(f"{filename}: not UTF-8 text") from exc
    return parse_csv(raw) if fmt == "csv" else parse_yaml(raw)


def parse_csv(raw: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(raw))
    header = tuple(reader.fieldnames or ())
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise Invalid(f"the CSV header must be {','.join(CSV_COLUMNS)} (missing {missing[0]})")
    entries = []
    for row in reader:
        entry: dict[str, Any] = {
            "question": row["question"] or "",
            "alternatives": [a for a in (row["alternatives"] or "").split("|") if a.strip()],
            "answer": row["answer"] or "",
            "language": row["language"] or "",
        }
        if row.get("answer_rich"):
            entry["answer_rich"] = row["answer_rich"]
        if row.get("tags"):
            entry["tags"] = [t for t in row["tags"].split("|") if t.strip()]
        if row.get("enabled"):
            entry["enabled"] = row["enabled"].strip().lower() not in ("false", "0", "no")
        entries.append(entry)
    return entries


def parse_yaml(raw: str) -> list[dict[str, Any]]:
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise Invalid(f"not valid YAML: {exc}") from exc
    if data is None:
        return []
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise Invalid("the YAML file must be a list of entries (question, answer, ...)")
    return [dict(item) for item in data]


def write_entries(path: str | Path, entries: list[dict[str, Any]]) -> None:
    """Write entry objects in the format the extension names."""
    text = render_entries(entries, file_format(path))
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise Invalid(f"{path}: {exc.strerror or exc}") from exc


def render_entries(entries: list[dict[str, Any]], fmt: str) -> str:
    """Entry objects as the text of a `csv` or `yaml` file."""
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for e in entries:
            writer.writerow(
                [e["question"], "|".join(e["alternatives"]), e["answer"], e["language"]]
            )
        text = out.getvalue()
    else:
        keys = ("question", "alternatives", "answer", "answer_rich", "language", "tags", "enabled")
        text = yaml.safe_dump(
            [{k: e[k] for k in keys if e.get(k) is not None} for e in entries],
            allow_unicode=True,
            sort_keys=False,
        )
    return text
