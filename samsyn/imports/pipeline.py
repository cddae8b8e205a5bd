"""run_import: one file into core_geometry in one transaction (source, COPY, stats, caller's
before_commit), or nothing at all."""
from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import psycopg

from samsyn.errors import ImportFailed
from samsyn.imports import csv as csv_pipeline
from samsyn.imports import geojson as geojson_pipeline
from samsyn.imports import shapefile as shapefile_pipeline
from samsyn.imports.copy import Rows, copy_chunks, pgcopy_chunk
from samsyn.imports.options import FORMATS, ImportOptions, ImportResult
from samsyn.imports.source import get_or_create
from samsyn.imports.stats import update_source_stats
from samsyn_fast import KernelError

Progress = Callable[[int, "int | None"], None]


def _failure(exc: BaseException, path: str) -> ImportFailed:
    """A reader error as ImportFailed naming the file (the kernels' texts name the record)."""
    text = str(exc) or type(exc).__name__
    if isinstance(exc, FileNotFoundError) and exc.filename:
        text = f"no such file: {exc.filename}"
    if path not in text:
        text = f"{path}: {text}"
    return ImportFailed(text)


def _guarded(it: Iterator[Rows | None], path: str) -> Iterator[Rows | None]:
    try:
        yield from it
    except ImportFailed:
        raise
    except (KernelError, ValueError, OSError, UnicodeError, LookupError) as exc:
        raise _failure(exc, path) from None


def run_import(conn: psycopg.Connection, options: ImportOptions, *,
               progress: Progress | None = None,
               before_commit: Callable[[psycopg.Connection, ImportResult], None] | None = None,
               ) -> ImportResult:
    """Load options.path into core_geometry (see samsyn.imports and docs/architecture.md).

    One transaction holds the source get-or-create, every COPY chunk, the statistics and
    before_commit(conn, result); any exception rolls all of it back. progress(done, total) is
    called after each chunk (done = rows read so far, loaded or skipped; total None when the
    format does not say up front).

    Raises:
        ImportFailed: unreadable / corrupt file (the message names the file and the record),
            a bad row with strict=True, bad options.
    """
    if options.format not in FORMATS:
        raise ImportFailed(f"{options.path}: unknown format {options.format!r}")
    started = time.perf_counter()
    total: int | None = None
    if options.format == "shapefile":
        total = shapefile_pipeline.check_files(options.path)
        make = shapefile_pipeline.chunks
    elif options.format == "csv":
        make = csv_pipeline.chunks
    else:
        make = geojson_pipeline.chunks
    with conn.transaction():
        source_pk, sid, name, created = get_or_create(conn, options)
        result = ImportResult(source_pk=source_pk, sid=sid, source_name=name,
                              created_source=created)

        def encode(rows: Rows | None) -> Any:
            return None if rows is None else pgcopy_chunk(rows, source_pk)

        def written(n: int) -> None:
            result.loaded += n
            if progress is not None:
                progress(result.loaded + result.skipped,
                         total if total is not None else
                         (result.total if options.format == "geojson" else None))

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # an unreadable .prj / .cpg: reported as 4326/auto
            copy_chunks(conn, _guarded(make(options, result), options.path), encode, written)
        if options.fill_stats:
            update_source_stats(conn, source_pk)
        result.seconds = time.perf_counter() - started
        if before_commit is not None:
            before_commit(conn, result)
    result.seconds = time.perf_counter() - started
    return result
