"""Everything DRF-specific lives here: rendering, parsing, validation, pagination, errors,
dispatch."""
