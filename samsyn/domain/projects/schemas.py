"""Wire shapes of projects, in the legacy ProjectSerializer field order."""
from __future__ import annotations

from typing import Any

import msgspec

from samsyn.compat.validation import CharField, ReadOnlyField
from samsyn.domain.layers.schemas import LAYER_FIELDS, LayerOut

PROJECT_FIELDS = (
    ReadOnlyField("id"),
    ReadOnlyField("layers", kind="field", child=LAYER_FIELDS),
    CharField("pid", max_length=50, unique_message="project with this pid already exists."),
    CharField("name", max_length=50),
    CharField("description", max_length=255),
    CharField("project_type", max_length=50),
)


class ProjectOut(msgspec.Struct):
    """A project as GET renders it, with its layers (and their sources) nested."""

    id: int
    layers: list[LayerOut]
    pid: str
    name: str
    description: str
    project_type: str


def project_out(row: Any, layers: list[LayerOut]) -> ProjectOut:
    """Map an (id, pid, name, description, project_type) row and its layers."""
    return ProjectOut(row[0], layers, row[1], row[2], row[3], row[4])


def project_echo(project_id: int, values: dict[str, Any], layers: list[Any]) -> dict[str, Any]:
    return {"id": project_id, "layers": layers, "pid": values["pid"], "name": values["name"],
            "description": values["description"], "project_type": values["project_type"]}
