"""The schema and documentation endpoints: /api/schema/, /api/swagger/, /api/redoc/, and the
Django admin / DRF login pages the legacy also served (drf-spectacular 0.26.2 semantics)."""
