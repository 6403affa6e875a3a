"""Reading an Experiment manifest, and the one message format for what is wrong with it.

Called by ``kosmos run`` / ``kosmos render`` (through :mod:`kosmos.execution.local_run`) and by
the operator's planning: both report a bad field the same way, naming the field, the value and
what was expected.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from kosmos.api.errors import ManifestError
from kosmos.api.spec import Experiment

__all__ = ["load_manifest", "manifest_error_from"]


def _describe_expected(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "invalid value"))
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message[0].lower() + message[1:] if message else message


def _path(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text


def manifest_error_from(error: ValidationError, *, prefix: tuple[Any, ...] = ()) -> ManifestError:
    """One readable ManifestError naming every bad field, its value and what was expected."""
    lines = []
    first_field = None
    for item in error.errors():
        loc = tuple(p for p in (*prefix, *item["loc"]) if not str(p).startswith(("function-", "literal[")))
        field = _path(loc) or "manifest"
        first_field = first_field or field
        value = item.get("input")
        shown = repr(value) if not isinstance(value, dict) else "{...}"
        if item.get("type") == "missing":
            lines.append(f"{field}: required field is missing")
        else:
            lines.append(f"{field}: got {shown[:80]}; {_describe_expected(item)}")
    return ManifestError("invalid Experiment manifest:\n  " + "\n  ".join(lines), field=first_field)


def load_manifest(source: str | Path | dict[str, Any]) -> Experiment:
    """Parse and validate an Experiment manifest from a path, YAML text or a dict."""
    if isinstance(source, dict):
        data: Any = source
    else:
        text = Path(source).read_text(encoding="utf-8") if isinstance(source, Path) else source
        try:
            documents = [d for d in yaml.safe_load_all(text) if d is not None]
        except yaml.YAMLError as exc:
            raise ManifestError(f"manifest is not valid YAML: {exc}", field="manifest") from exc
        if len(documents) != 1:
            raise ManifestError(
                f"manifest: expected exactly one Experiment document, found {len(documents)}",
                field="manifest",
            )
        data = documents[0]
    if not isinstance(data, dict):
        raise ManifestError(f"manifest: expected a mapping, got {type(data).__name__}", field="manifest")
    try:
        return Experiment.model_validate(data)
    except ValidationError as exc:
        raise manifest_error_from(exc) from exc
