"""GeoJSON FeatureCollections for the API, written from a PostgreSQL binary COPY stream."""
from samsyn_fast._features import SlowPath, jsonb_text_to_drf
from samsyn_fast._features import feature_collection as feature_collection_from_copy

__all__ = ["SlowPath", "feature_collection_from_copy", "jsonb_text_to_drf"]
