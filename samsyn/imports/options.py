"""What an import is asked to do and what it did (stored as the job's args / result)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

FORMATS = ("shapefile", "csv", "geojson")
MAX_REPORTED_SKIPS = 100


@dataclass(frozen=True, kw_only=True)
class ImportOptions:
    """One import. JSON-serialisable (dataclasses.asdict) so a job can store it.

    sid: the Source.sid to load into (legacy --source_id); an existing source is appended to.
    None: a new source whose sid is its id (or "<id>-<n>" when that text is taken).
    srid: the input CRS, overriding the .prj / the GeoJSON crs member. simplify: Douglas-Peucker
    tolerance in degrees (after reprojection to EPSG:4326). stats: fill Source.attributes after
    loading (None: csv False, as the legacy upload_csv_file; shapefile/geojson True).
    """

    format: str
    path: str
    sid: str | None = None
    source_name: str | None = None
    description: str = ""
    source_type: str = ""
    srid: int | None = None
    simplify: float | None = None
    encoding: str | None = None
    lon: str = "Longitude"
    lat: str = "Latitude"
    chunk_size: int = 100_000
    strict: bool = False
    stats: bool | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ImportOptions:
        return cls(**data)

    @property
    def fill_stats(self) -> bool:
        return self.stats if self.stats is not None else self.format != "csv"


@dataclass
class ImportResult:
    """What run_import did. skipped_rows holds the first MAX_REPORTED_SKIPS (row, reason)."""

    source_pk: int
    sid: str
    source_name: str
    created_source: bool
    total: int = 0
    loaded: int = 0
    skipped: int = 0
    skipped_rows: list[tuple[int, str]] = field(default_factory=list)
    seconds: float = 0.0

    def skip(self, rows: Any, reasons: Any) -> None:
        """Count skipped rows; keep the first few (row, reason) pairs for the report."""
        n = len(rows)
        room = MAX_REPORTED_SKIPS - len(self.skipped_rows)
        if room > 0:
            self.skipped_rows.extend((int(r), str(why)) for r, why in
                                     zip(list(rows[:room]), list(reasons[:room])))
        self.skipped += n

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["skipped_rows"] = [list(x) for x in self.skipped_rows]
        return out
