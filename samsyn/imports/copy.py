"""Binary COPY into core_geometry: row framing (numpy + samsyn_fast) and a reader thread that
prepares the next chunk's PGCOPY bytes while the connection sends the current one."""
from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import psycopg

from samsyn.imports.geometry import TYPE_NAMES, type_index
from samsyn_fast import GeometryBuffers, encode_ewkb, pgcopy_binary, pgcopy_fields

COPY_SQL = ("COPY core_geometry (geom, metadata, geometry_type, source_id) "
            "FROM STDIN (FORMAT binary)")
_HEADER = 19        # PGCOPY signature + flags + extension length
_TRAILER = b"\xff\xff"


def framed_constant(value: bytes, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The same field value `n` times, framed for PGCOPY (int32 length + bytes)."""
    pattern = np.frombuffer(len(value).to_bytes(4, "big") + value, dtype=np.uint8)
    return np.tile(pattern, n), np.arange(n + 1, dtype=np.int64) * pattern.shape[0]


def framed_choice(values: list[bytes], index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row i is values[index[i]], framed for PGCOPY; built without a Python loop over rows."""
    width = max(len(v) for v in values) + 4
    table = np.zeros((len(values), width), dtype=np.uint8)
    lengths = np.zeros(len(values), dtype=np.int64)
    for k, v in enumerate(values):
        f = len(v).to_bytes(4, "big") + v
        table[k, :len(f)] = np.frombuffer(f, dtype=np.uint8)
        lengths[k] = len(f)
    idx = np.asarray(index, dtype=np.intp)
    rows = table[idx]
    data = rows[np.arange(width) < lengths[idx][:, None]]
    offsets = np.zeros(idx.shape[0] + 1, dtype=np.int64)
    np.cumsum(lengths[idx], out=offsets[1:])
    return data, offsets


@dataclass
class Rows:
    """One chunk ready for COPY: geometries + jsonb metadata (0x01 + JSON text per row) +
    geometry_type, or prebuilt EWKB (`ewkb`, with `types`) for the GeoJSON path."""

    geometry: GeometryBuffers | None
    metadata: tuple[np.ndarray, np.ndarray]         # (offsets (n+1,), data), jsonb framed bytes
    types: np.ndarray | None = None                 # (n,) index into TYPE_NAMES; None: derive
    ewkb: tuple[np.ndarray, np.ndarray] | None = None


def pgcopy_chunk(rows: Rows, source_pk: int) -> tuple[np.ndarray, int]:
    """The PGCOPY stream of one chunk (header and trailer included) and its row count."""
    if rows.ewkb is not None:
        data, offsets = rows.ewkb
        types = rows.types
    else:
        assert rows.geometry is not None
        data, offsets = encode_ewkb(rows.geometry, srid=4326, single=True)
        types = rows.types if rows.types is not None else type_index(rows.geometry)
    n = int(offsets.shape[0] - 1)
    moff, mdata = rows.metadata
    columns = [
        pgcopy_fields(data, offsets),
        pgcopy_fields(mdata, moff),
        framed_choice(TYPE_NAMES, types),
        framed_constant(int(source_pk).to_bytes(8, "big", signed=True), n),
    ]
    return pgcopy_binary(columns, n), n


_END = object()


def copy_chunks(conn: psycopg.Connection, chunks: Iterator[Any],
                encode: Callable[[Any], tuple[np.ndarray, int] | None],
                on_written: Callable[[int], None], depth: int = 2) -> int:
    """COPY every chunk: `chunks` is read and `encode`d (to PGCOPY bytes, or None for nothing
    to write) on a thread, at most `depth` chunks ahead, while this thread sends. The kernels
    release the GIL, so reading the next chunk overlaps with the network write. Returns rows.

    An exception on either side stops both and is raised here (the caller's transaction then
    rolls the COPY back)."""
    q: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for chunk in chunks:
                if stop.is_set():
                    return
                if not put(("chunk", encode(chunk))):
                    return
            put(_END)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            put(("error", exc))
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name="samsyn-import-reader", daemon=True)
    total = 0
    first = True
    with conn.cursor() as cur:
        worker.start()
        try:
            with cur.copy(COPY_SQL) as copy:
                while True:
                    item = q.get()
                    if item is _END:
                        break
                    tag, value = item
                    if tag == "error":
                        raise value
                    if value is None:
                        on_written(0)
                        continue
                    stream, n = value
                    # one stream: the first chunk's header, no trailer until the end
                    body = memoryview(stream)[(0 if first else _HEADER):len(stream) - 2]
                    if first and n == 0:
                        body = memoryview(stream)[:_HEADER]
                    copy.write(body)
                    first = False
                    total += n
                    on_written(n)
                if first:
                    copy.write(pgcopy_binary([], 0)[:_HEADER].tobytes())
                copy.write(_TRAILER)
        finally:
            stop.set()
            worker.join()
    return total
