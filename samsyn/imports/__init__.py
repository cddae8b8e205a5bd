"""Import pipelines: shapefile, CSV points and GeoJSON files into core_geometry with the
samsyn_fast kernels and binary COPY, one transaction per import. Below the jobs and the CLI
(never imports samsyn.jobs, click, litestar or dramatiq)."""
from samsyn.errors import ImportFailed
from samsyn.imports.options import ImportOptions, ImportResult
from samsyn.imports.pipeline import run_import
from samsyn.imports.stats import StatsResult, create_martin_functions, update_source_stats

__all__ = ["ImportFailed", "ImportOptions", "ImportResult", "StatsResult",
           "create_martin_functions", "run_import", "update_source_stats"]
