"""Wire shapes of sources, in the legacy SourceSerializer field order."""
from __future__ import annotations

from typing import Any

import msgspec

from samsyn.compat.validation import CharField, JSONField, ReadOnlyField
from samsyn.compat.wire import raw_jsonb

SOURCE_FIELDS = (
    ReadOnlyField("id"),
    CharField("sid", max_length=50, unique_message="source with this sid already exists."),
    CharField("name", max_length=50),
    CharField("description", max_length=255),
    CharField("source_type", max_length=50),
    JSONField("attributes"),
)


class SourceOut(msgspec.Struct):
    """A source as GET renders it; `attributes` is jsonb already in DRF's text."""

    id: int
    sid: str
    name: str
    description: str
    source_type: str
    attributes: msgspec.Raw


def source_out(row: Any) -> SourceOut:
    """Map a (id, sid, name, description, source_type, attributes::text) row."""
    return SourceOut(row[0], row[1], row[2], row[3], row[4], raw_jsonb(row[5]))


def source_echo(source_id: int, values: dict[str, Any]) -> dict[str, Any]:
    """A write response: DRF echoes the validated Python values (input key order, float repr)."""
    return {
        "id": source_id,
        "sid": values["sid"],
        "name": values["name"],
        "description": values["description"],
        "source_type": values["source_type"],
        "attributes": values["attributes"],
    }
