"""HTTP routes of /api/v1/layers/ (the legacy LayerList / LayerDetail views)."""
from __future__ import annotations

from samsyn.api.resource import Resource, detail_route, list_route
from samsyn.api.views import View
from samsyn.compat.validation import metadata
from samsyn.domain.layers import schemas, service

LAYER_LIST = View(
    name="Layer List",
    description="API endpoint for listing and creating Layers.\n\nGET: List all layers with "
                "pagination\nPOST: Create a new layer",
    allow=("GET", "POST", "HEAD", "OPTIONS"),
    actions={"POST": metadata(schemas.LAYER_FIELDS)},
    cached_list=True,
)
LAYER_DETAIL = View(
    name="Layer Detail",
    description="API endpoint for retrieving, updating, and deleting a Layer.\n\nGET: Retrieve "
                "a layer\nPUT/PATCH: Update a layer\nDELETE: Delete a layer",
    allow=("GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"),
    actions={"PUT": metadata(schemas.LAYER_FIELDS)},
    actions_need_object=True,
)

LAYERS = Resource(
    list_view=LAYER_LIST,
    detail_view=LAYER_DETAIL,
    page=service.list_layers,
    retrieve=service.get_layer,
    create=service.create_layer,
    update=lambda db, pk, read, partial: service.update_layer(db, pk, read, partial=partial),
    delete=service.delete_layer,
    exists=service.layer_exists,
)

layer_list = list_route("/api/v1/layers/", LAYERS)
layer_detail = detail_route("/api/v1/layers/", LAYERS)
