"""Wire shapes of layers, in the legacy LayerSerializer field order."""
from __future__ import annotations

from typing import Any

import msgspec

from samsyn.compat.validation import CharField, JSONField, NestedField, ReadOnlyField
from samsyn.compat.wire import raw_jsonb
from samsyn.domain.sources.schemas import SOURCE_FIELDS, SourceOut, source_echo, source_out

LAYER_FIELDS = (
    ReadOnlyField("id"),
    NestedField("source", SOURCE_FIELDS),
    CharField("lid", max_length=50, unique_message="layer with this lid already exists."),
    CharField("name", max_length=50),
    JSONField("attributes"),
    JSONField("style"),
)


class LayerOut(msgspec.Struct):
    """A layer as GET renders it, with its source nested."""

    id: int
    source: SourceOut
    lid: str
    name: str
    attributes: msgspec.Raw
    style: msgspec.Raw


# Row layout of queries.LAYER_COLUMNS: layer id, lid, name, attributes::text, style::text,
# then the six source columns.
def layer_out(row: Any) -> LayerOut:
    return LayerOut(row[0], source_out(row[5:11]), row[1], row[2], raw_jsonb(row[3]),
                    raw_jsonb(row[4]))


def layer_echo(layer_id: int, values: dict[str, Any], source: dict[str, Any]) -> dict[str, Any]:
    """A write response: validated values echoed as DRF does, the source as saved."""
    return {"id": layer_id, "source": source, "lid": values["lid"], "name": values["name"],
            "attributes": values["attributes"], "style": values["style"]}


__all__ = ["LAYER_FIELDS", "LayerOut", "layer_echo", "layer_out", "source_echo"]
