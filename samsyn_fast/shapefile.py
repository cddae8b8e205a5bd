"""Shapefile reader (kernels layer): .shp/.shx/.dbf/.prj/.cpg (also zipped) into ragged buffers.

Format decisions (ESRI Shapefile Technical Description, July 1998; dBase III/IV, FoxPro DBF):

* Records are located through the .shx when present; each .shx entry must agree with the
  record header it points at (content length), else KernelError BAD_INDEX. Without a .shx the
  .shp is walked sequentially from byte 100 to the end of the file. The file length declared in
  the main header is ignored (real writers get it wrong; GDAL ignores it too).
* Deleted DBF records (deletion flag ``*``) are skipped together with their shapes, as GDAL
  (pyogrio) does; ``Shapefile.record_numbers`` keeps the 1-based record number of every row.
* Polygon rings are grouped exactly as pyshp 3 ``organize_polygon_rings`` does: clockwise =
  exterior, anything else a hole. With one exterior every hole is its; with several, a hole
  goes to the exterior whose bbox strictly contains it (then the one containing a sample point
  of the hole, then the smallest); a hole inside none, and every ring of a shape without
  exteriors, becomes a polygon of its own, after the others. GDAL agrees on every real file
  and every well-formed generated one; it differs only for a hole lying outside the only
  exterior (GDAL splits it off when it follows the exterior, not when it precedes it).
  Vertex order is kept as stored (GDAL keeps it; pyshp's GeoJSON view reverses rings).
* Record numbers inside the .shp record headers are not checked (writers disagree on them);
  the position of the record (its .shx entry) is what pairs it with its DBF record.
* Z is kept (``GeometryBuffers.z``), M is dropped. MultiPatch becomes a MultiPolygon with Z:
  one closed triangle per triangle-strip/fan step (GDAL makes the same triangles, as a TIN),
  and a polygon per outer/first ring with the inner/plain rings that follow it (GDAL's rule);
  polygons follow the part order.
* Empty geometries (a multipoint without points, a polyline/polygon without parts or points, an
  empty part) and NaN/inf coordinates raise KernelError naming the file and record.
* Encodings: ``encoding=`` argument, else the .cpg, else the DBF language driver id (byte 29,
  GDAL's table), else UTF-8 when every text value of the file is valid UTF-8, otherwise
  ISO-8859-1 (GDAL's shapefile default). Text that does not decode with an encoding taken from
  the argument, the .cpg or the LDID raises KernelError naming the file, record and field.
* DBF values: C is trimmed on the right only (blanks and NULs; leading blanks are data, as
  pyshp keeps them, GDAL drops them) and a blank C is null. N/F follow pyshp: blank or all
  '*' is null, an integer field (decimals 0, width <= 18) is int64, others float64; text that
  is not a number, or a D that is not a valid YYYYMMDD, raises KernelError (pyshp returns None
  or the raw text there, GDAL 0 or an exception). L: TtYy1 / FfNn0, anything else null.
"""
from __future__ import annotations

import codecs
import os
import shutil
import struct
import tempfile
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from samsyn_fast import _dbf, _shapefile
from samsyn_fast.buffers import GeometryBuffers
from samsyn_fast.columns import StringColumn
from samsyn_fast.errors import KernelError, Status

__all__ = [
    "DbfField",
    "DbfTable",
    "Shapefile",
    "StringColumn",
    "iter_shapefile",
    "read_dbf",
    "read_shapefile",
]

_GEOMETRY_TYPES = {0: "Point", 1: "Point", 8: "MultiPoint", 3: "MultiLineString", 5: "MultiPolygon",
                   31: "MultiPolygon"}

# DBF language driver id (byte 29) -> code page, GDAL's table (ogr/ogrsf_frmts/shape).
_LDID = {
    1: "cp437", 2: "cp850", 3: "cp1252", 4: "mac_roman", 8: "cp865", 10: "cp850", 11: "cp437",
    13: "cp437", 14: "cp850", 15: "cp437", 16: "cp850", 17: "cp437", 18: "cp850", 19: "cp932",
    20: "cp850", 21: "cp437", 22: "cp850", 23: "cp865", 24: "cp437", 25: "cp437", 26: "cp850",
    27: "cp437", 28: "cp863", 29: "cp850", 31: "cp852", 34: "cp852", 35: "cp852", 36: "cp860",
    37: "cp850", 38: "cp866", 55: "cp850", 64: "cp852", 77: "cp936", 78: "cp949", 79: "cp950",
    80: "cp874", 87: "iso8859-1", 88: "cp1252", 89: "cp1252", 100: "cp852", 101: "cp866",
    102: "cp865", 103: "cp861", 106: "cp737", 107: "cp857", 108: "cp863", 120: "cp950",
    121: "cp949", 122: "cp936", 123: "cp932", 124: "cp874", 134: "cp737", 135: "cp852",
    136: "cp857", 150: "mac_cyrillic", 151: "mac_latin2", 200: "cp1250", 201: "cp1251",
    202: "cp1254", 203: "cp1253", 204: "cp1257",
}
_DBF_VERSIONS = {0x02, 0x03, 0x04, 0x05, 0x30, 0x31, 0x32, 0x43, 0x63, 0x83, 0x8B, 0x8E,
                 0xCB, 0xF5, 0xFB}


@dataclass(frozen=True, slots=True)
class DbfField:
    """One DBF field descriptor."""

    name: str
    type: str
    size: int
    decimals: int


@dataclass(frozen=True)
class DbfTable:
    """Decoded DBF records.

    Attributes:
        columns: one entry per field, in field order: int64/float64 (N, F; nulls are 0 / NaN),
            datetime64[D] (D; NaT), bool (L) or StringColumn (C, M and unknown types).
        nulls: (n,) bool per field, True where the value is blank/null.
        fields: the field descriptors.
        encoding: the codec used for text (Python codec name).
        record_numbers: (n,) int64 1-based DBF record number of each row (deleted ones skipped).
    """

    columns: dict[str, Any]
    nulls: dict[str, np.ndarray]
    fields: list[DbfField]
    encoding: str
    record_numbers: np.ndarray

    def __len__(self) -> int:
        return int(self.record_numbers.shape[0])


class _Crs:
    """The .prj text, parsed by pyproj once on first use (pyproj costs ~10 ms per parse)."""

    def __init__(self, text: str | None, name: str) -> None:
        self.text = text
        self.name = name
        self._done = False
        self._crs: Any = None

    def get(self) -> Any:
        if not self._done:
            self._done = True
            if self.text:
                try:
                    from pyproj import CRS

                    self._crs = CRS.from_wkt(self.text)
                except Exception as exc:  # noqa: BLE001 - any pyproj failure: keep the data
                    warnings.warn(f"{self.name}: unreadable CRS ({exc}); crs=None",
                                  stacklevel=3)
        return self._crs


@dataclass(frozen=True)
class Shapefile:
    """A shapefile (or one chunk of it) as ragged geometry buffers + one array per DBF field.

    Attributes:
        geometry: the shapes (row i of the columns is geometry i).
        columns, nulls, fields, encoding, record_numbers: as in DbfTable.
        shape_type: the shape type code of the .shp header (e.g. 5, 15, 25).
        prj: the .prj text, or None.
        crs: (property) pyproj.CRS from the .prj, or None; parsed on first access.
    """

    geometry: GeometryBuffers
    columns: dict[str, Any]
    nulls: dict[str, np.ndarray]
    fields: list[DbfField]
    encoding: str
    record_numbers: np.ndarray
    shape_type: int
    _crs: _Crs = field(repr=False, compare=False)

    @property
    def prj(self) -> str | None:
        return self._crs.text

    @property
    def crs(self) -> Any:
        return self._crs.get()

    def __len__(self) -> int:
        return int(self.record_numbers.shape[0])


# ---------------------------------------------------------------- file access


class _Blob:
    """One member file: bytes from a zip, or an open file read with pread.

    Whole reads take a private snapshot of the file (`snapshot()`) and parse only that: the
    kernels check the records in one pass and copy them in a second, so the bytes they walk
    must not change in between (a file still being uploaded, a shared folder). A shared or
    private mmap does not give that: it shows later writes to pages not yet copied, and a
    truncated file turns the access into SIGBUS.
    """

    def __init__(self, name: str, path: str | None = None, data: bytes | None = None,
                 temporary: bool = False) -> None:
        self.name = name
        self.path = path
        self.data: Any = data
        self.temporary = temporary
        self._fd: int | None = None
        if path is not None:
            self._fd = os.open(path, os.O_RDONLY)
            self.size = os.fstat(self._fd).st_size
        else:
            assert data is not None
            self.size = len(data)

    def snapshot(self) -> None:
        """Read the whole file into private memory; later reads see only these bytes."""
        if self.data is None and self._fd is not None:
            self.data = _read_private(self._fd, self.size)
            self.size = len(self.data)

    def release(self) -> None:
        """Drop a snapshot that is not needed any more (its file is still open)."""
        if self._fd is not None and self.data is not None:
            self.data = None
            self.size = 0       # nothing may be read from it any more

    def read(self, offset: int, n: int) -> Any:
        """Bytes [offset, offset + n) (shorter at the end of the file, or when it shrank)."""
        n = max(0, min(n, self.size - offset))
        if self.data is not None:
            return memoryview(self.data)[offset:offset + n]
        assert self._fd is not None
        return os.pread(self._fd, n, offset)

    def read_exact(self, offset: int, n: int) -> Any:
        """Bytes [offset, offset + n), or KernelError when the file is shorter than that."""
        buf = self.read(offset, n)
        if len(buf) != n:
            raise _kerr(Status.TRUNCATED, self.name,
                        f"file shorter than expected ({offset + len(buf)} of {offset + n} "
                        f"bytes; changed while being read?)")
        return buf

    def text(self) -> bytes:
        return bytes(self.read(0, self.size))

    def close(self) -> None:
        self.data = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self.temporary and self.path is not None:
            try:
                os.unlink(self.path)
            except OSError:
                pass
            self.temporary = False


def _read_private(fd: int, size: int) -> np.ndarray:
    """The first `size` bytes of the file (fewer if it is shorter now) in a private buffer."""
    buf = np.empty(size, dtype=np.uint8)
    view = memoryview(buf)
    got = 0
    while got < size:
        n = os.preadv(fd, [view[got:]], got) if hasattr(os, "preadv") else _pread_into(
            fd, view[got:], got)
        if n <= 0:
            break
        got += n
    return buf[:got] if got < size else buf


def _pread_into(fd: int, view: memoryview, offset: int) -> int:
    data = os.pread(fd, min(len(view), 1 << 30), offset)
    view[:len(data)] = data
    return len(data)


def _find_sidecars(path: str, layer: str | None) -> dict[str, _Blob]:
    """Map extension ('.shp', '.dbf', ...) to a _Blob for a .shp/.dbf path or a .zip."""
    if path.lower().endswith(".zip"):
        return _zip_members(path, layer)
    directory, base = os.path.split(path)
    stem, ext = os.path.splitext(base)
    if ext.lower() not in (".shp", ".dbf", ""):
        raise ValueError(f"{path}: expected a .shp, .dbf or .zip path")
    if ext == "":
        stem = base
    names = os.listdir(directory or ".")
    found: dict[str, str] = {}
    for exact in (True, False):
        for name in names:
            s, e = os.path.splitext(name)
            if (s == stem if exact else s.lower() == stem.lower()) and e.lower() not in found:
                found[e.lower()] = name
    blobs = {}
    for e in (".shp", ".shx", ".dbf", ".prj", ".cpg", ".dbt", ".fpt"):
        if e in found:
            full = os.path.join(directory, found[e])
            blobs[e] = _Blob(full, path=full)
    return blobs


# Zip members up to this size are read into memory; bigger ones go to a temporary file that
# is mapped like a plain file and removed on close (bounded memory for big zipped shapefiles).
_ZIP_IN_MEMORY = 64 << 20


def _zip_members(path: str, layer: str | None) -> dict[str, _Blob]:
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise ValueError(f"{path}: not a readable zip file ({exc})") from exc
    with zf:
        names = [n for n in zf.namelist() if not n.endswith("/")]
        shps = [n for n in names if n.lower().endswith(".shp")]
        if layer is not None:
            want = layer.lower()
            shps = [n for n in shps
                    if n.lower() in (want, want + ".shp")
                    or os.path.splitext(os.path.basename(n))[0].lower() == want]
            if not shps:
                raise ValueError(f"{path}: no shapefile named {layer!r} in the zip")
        if not shps:
            raise ValueError(f"{path}: the zip contains no shapefile (.shp)")
        if len(shps) > 1:
            raise ValueError(f"{path}: the zip contains several shapefiles, pick one with "
                             f"layer=: {', '.join(sorted(shps))}")
        stem = os.path.splitext(shps[0])[0].lower()
        blobs = {}
        try:
            for n in names:
                s, e = os.path.splitext(n)
                if s.lower() != stem or e.lower() in blobs:
                    continue
                info = zf.getinfo(n)
                if info.file_size <= _ZIP_IN_MEMORY:
                    blobs[e.lower()] = _Blob(f"{path}::{n}", data=zf.read(n))
                else:
                    fd, tmp = tempfile.mkstemp(suffix=e.lower(), prefix="samsyn-shp-")
                    with os.fdopen(fd, "wb") as out, zf.open(n) as src:
                        shutil.copyfileobj(src, out, 1 << 20)
                    blobs[e.lower()] = _Blob(f"{path}::{n}", path=tmp, temporary=True)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
            for b in blobs.values():
                b.close()
            raise ValueError(f"{path}: cannot read the zip member ({exc})") from exc
        return blobs


# ---------------------------------------------------------------- encodings


def _normalize_encoding(name: str) -> str | None:
    """Python codec name for a .cpg / user value ('UTF-8', '88591', 'ANSI 1252', '1251'...)."""
    v = name.strip().strip("\x00").strip()
    if not v:
        return None
    u = v.upper().replace(" ", "")
    u = u.removeprefix("ANSI")
    if u.isdigit():
        if u == "65001":
            u = "utf-8"
        elif u.startswith("8859") and len(u) > 4:
            u = f"iso8859-{u[4:]}"
        else:
            u = f"cp{u}"
    else:
        u = v
    try:
        return codecs.lookup(u).name
    except LookupError:
        return None


def _code_page_table(encoding: str) -> np.ndarray | None:
    """(256, 4) byte -> UTF-8 table of a single-byte code page, None for multi-byte codecs."""
    table = np.zeros((256, 4), dtype=np.uint8)
    for b in range(256):
        dec = codecs.getincrementaldecoder(encoding)("strict")
        try:
            ch = dec.decode(bytes([b]), final=False)
        except UnicodeDecodeError:
            continue  # undefined in this code page: 0 length marks it
        if ch == "":
            return None  # a lead byte: multi-byte codec
        u = ch.encode("utf-8")
        if len(u) > 3:
            return None
        table[b, 0] = len(u)
        table[b, 1:1 + len(u)] = np.frombuffer(u, dtype=np.uint8)
    return table


# ---------------------------------------------------------------- DBF header


@dataclass
class _DbfHeader:
    version: int
    n: int
    header_len: int
    reclen: int
    ldid: int
    fields: list[DbfField]
    offsets: list[int]          # byte offset of each field inside a record (after the flag)
    raw_names: list[bytes] = field(default_factory=list)


def _kerr(code: int, where: str, message: str | None = None) -> KernelError:
    return KernelError(code, message, where)


def _parse_dbf_header(blob: _Blob) -> _DbfHeader:
    head = bytes(blob.read(0, 32))
    if len(head) < 32:
        raise _kerr(Status.TRUNCATED, blob.name, "DBF header shorter than 32 bytes")
    if head[0] not in _DBF_VERSIONS:
        raise _kerr(Status.BAD_MAGIC, blob.name, f"not a DBF file (version byte 0x{head[0]:02x})")
    n, header_len, reclen = struct.unpack("<IHH", head[4:12])
    ldid = head[29]
    if header_len < 33 or reclen < 1:
        raise _kerr(Status.BAD_LENGTH, blob.name,
                    f"invalid DBF header length {header_len} / record length {reclen}")
    desc = bytes(blob.read(32, header_len - 32))
    if len(desc) < header_len - 32:
        raise _kerr(Status.TRUNCATED, blob.name, "DBF header truncated")
    fields: list[DbfField] = []
    offsets: list[int] = []
    raw: list[bytes] = []
    pos, off = 0, 1
    while pos + 32 <= len(desc) and desc[pos] != 0x0D:
        d = desc[pos:pos + 32]
        name = d[:11].split(b"\x00", 1)[0]
        ftype = chr(d[11])
        size, dec = d[16], d[17]
        if ftype == "C":
            # Clipper/FoxPro store C widths > 255 in the decimals byte (shapelib does the same)
            size, dec = size + 256 * dec, 0
        if ftype != "0":  # VFP _NullFlags system field: skipped but its bytes are counted
            fields.append(DbfField("", ftype, size, dec))
            offsets.append(off)
            raw.append(name)
        off += size
        pos += 32
    # no 0x0D terminator is tolerated only when the descriptors fill the header exactly
    if pos + 32 > len(desc) and pos < len(desc) and desc[pos] != 0x0D:
        raise _kerr(Status.BAD_LENGTH, blob.name, "DBF field descriptors overrun the header")
    if off > reclen:
        raise _kerr(Status.BAD_LENGTH, blob.name,
                    f"DBF fields take {off} bytes but records are {reclen} bytes")
    if header_len + n * reclen > blob.size:
        avail = (blob.size - header_len) // reclen if blob.size > header_len else 0
        raise _kerr(Status.TRUNCATED, blob.name,
                    f"DBF declares {n} records but the file holds {max(avail, 0)}")
    return _DbfHeader(head[0], n, header_len, reclen, ldid, fields, offsets, raw)


def version_is_foxpro(version: int) -> bool:
    return version in (0x30, 0x31, 0x32, 0xF5, 0xFB)


# ---------------------------------------------------------------- the reader


class _Reader:
    def __init__(self, path: str | os.PathLike[str], *, encoding: str | None,
                 layer: str | None, stream: bool, need_shp: bool = True,
                 chunk_records: int = 1 << 62) -> None:
        self.path = os.fspath(path)
        self.stream = stream
        self.chunk_records = chunk_records
        self.blobs = _find_sidecars(self.path, layer)
        try:
            self._open(encoding, need_shp)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        for b in self.blobs.values():
            b.close()

    def _open(self, encoding: str | None, need_shp: bool) -> None:
        b = self.blobs
        self.shp = b.get(".shp") if need_shp else None
        if need_shp and self.shp is None:
            raise FileNotFoundError(f"{self.path}: no .shp found")
        self.shx = b.get(".shx") if need_shp else None
        self.dbf = b.get(".dbf")
        if not need_shp and self.dbf is None:
            raise FileNotFoundError(f"{self.path}: no .dbf found")
        if not self.stream:
            for blob in (self.shp, self.shx, self.dbf):
                if blob is not None:
                    blob.snapshot()
        self.dbh = _parse_dbf_header(self.dbf) if self.dbf is not None else None
        # .shp header and record index
        self.n_shapes: int | None = 0
        self.shape_type = 0
        self._offsets = self._lengths = None
        self._sequential = False        # stream without .shx: index built chunk by chunk
        self._scan_pos, self._scan_next = 100, 0
        if self.shp is not None:
            st, self.shape_type, _, _ = _shapefile.read_header(
                np.frombuffer(bytes(self.shp.read(0, 100)), dtype=np.uint8))
            if st:
                raise _kerr(st, self.shp.name)
            if self.shape_type not in _shapefile.SHAPE_TYPES:
                raise _kerr(Status.BAD_SHAPE_TYPE, self.shp.name,
                            f"unknown shape type {self.shape_type}")
            if self.shx is not None:
                st, _, _, _ = _shapefile.read_header(
                    np.frombuffer(bytes(self.shx.read(0, 100)), dtype=np.uint8))
                if st:
                    raise _kerr(st, self.shx.name)
                if (self.shx.size - 100) % 8:
                    raise _kerr(Status.BAD_LENGTH, self.shx.name,
                                f".shx size {self.shx.size} is not 100 + 8 * records")
                self.n_shapes = (self.shx.size - 100) // 8
            elif self.stream and self.dbh is not None:
                # No .shx, streaming: walk each chunk's record headers as it is read; the
                # shape count is checked against the DBF as the walk goes.
                self._sequential = True
                self.n_shapes = None
            else:
                # No .shx: walk the record headers once (16 bytes per record kept).
                self._offsets, self._lengths = self._scan_all()
                self.n_shapes = len(self._offsets)
        if (self.dbh is not None and self.shp is not None and self.n_shapes is not None
                and self.dbh.n != self.n_shapes):
            raise _kerr(Status.BAD_RECORD, self.path,
                        f".shp has {self.n_shapes} shapes but .dbf has {self.dbh.n} records")
        self.n = self.dbh.n if self.dbh is not None else int(self.n_shapes or 0)
        # encoding
        self.encoding, self.strict_text = self._choose_encoding(encoding)
        self.table = None
        self.single_byte = True
        if self.encoding != "utf-8":
            self.table = _code_page_table(self.encoding)
            self.single_byte = self.table is not None
        if self.dbh is not None:
            names: list[str] = []
            seen: set[str] = set()
            for i, raw in enumerate(self.dbh.raw_names):
                try:
                    name = raw.decode(self.encoding).strip()
                except UnicodeDecodeError:
                    name = raw.decode("latin-1").strip()
                # columns is a dict: unnamed and repeated names get GDAL-style names
                name = name or f"FIELD_{i + 1}"
                if name in seen:
                    k = 1
                    while f"{name}_{k}" in seen:
                        k += 1
                    name = f"{name}_{k}"
                seen.add(name)
                names.append(name)
            self.fields = [DbfField(nm, f.type, f.size, f.decimals)
                           for nm, f in zip(names, self.dbh.fields)]
        else:
            self.fields = []
        self.memo = self.blobs.get(".fpt") or self.blobs.get(".dbt")
        self.crs = self._crs()

    def _choose_encoding(self, encoding: str | None) -> tuple[str, bool]:
        if encoding is not None:
            enc = _normalize_encoding(encoding)
            if enc is None:
                raise ValueError(f"unknown encoding {encoding!r}")
            return enc, True
        cpg = self.blobs.get(".cpg")
        if cpg is not None:
            raw = cpg.text().decode("ascii", "replace")
            enc = _normalize_encoding(raw)
            if enc is not None:
                return enc, True
            warnings.warn(f"{cpg.name}: unknown code page {raw.strip()!r}, ignored", stacklevel=3)
        if self.dbh is not None and self.dbh.ldid in _LDID:
            return codecs.lookup(_LDID[self.dbh.ldid]).name, True
        # Fallback: UTF-8 if the whole file's text is valid UTF-8, else ISO-8859-1 (GDAL).
        # A whole read finds out while decoding (and decodes again on failure); a stream must
        # decide before its first chunk, so it checks the whole file first.
        h = self.dbh
        if self.stream and h is not None and h.n:
            idx = [i for i, f in enumerate(h.fields) if f.type == "C"]
            offs = np.array([h.offsets[i] for i in idx], dtype=np.int64)
            sizes = np.array([h.fields[i].size for i in idx], dtype=np.int64)
            # read like the stream will: chunk by chunk (at most 8 MB), never the whole file
            step = max(1, min(self.chunk_records, (8 << 20) // h.reclen))
            for start in range(0, h.n if idx else 0, step):
                m = min(step, h.n - start)
                chunk = self.dbf.read_exact(h.header_len + start * h.reclen, m * h.reclen)
                if not _dbf.all_utf8(np.frombuffer(chunk, dtype=np.uint8), h.reclen, m,
                                     offs, sizes):
                    return "iso8859-1", False
        return "utf-8", False

    def _crs(self) -> _Crs:
        prj = self.blobs.get(".prj")
        if prj is None:
            return _Crs(None, self.path)
        text = prj.text().decode("utf-8", "replace").strip()
        return _Crs(text or None, prj.name)

    # -------------------------------------------------------------- one range of records

    def _index(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        if self._offsets is not None:
            return self._offsets[start:stop], self._lengths[start:stop]
        if self._sequential:
            return self._index_walk(start, stop)
        assert self.shx is not None and self.shp is not None
        entries = self.shx.read_exact(100 + 8 * start, 8 * (stop - start))
        st, bad, offs, lens = _shapefile.index_from_shx(
            np.frombuffer(entries, dtype=np.uint8), self.shp.size)
        del entries
        if st:
            raise _kerr(st, f"{self.shx.name}, record {start + bad + 1}",
                        "index entry points outside the .shp" if st == Status.BAD_INDEX else None)
        return offs, lens

    def _scan_all(self) -> tuple[np.ndarray, np.ndarray]:
        """Index of every record of a .shp without .shx: the snapshot of a whole read, or
        pread blocks of a stream (its .shp is never held whole)."""
        shp = self.shp
        assert shp is not None
        if shp.data is not None:
            st, bad, offs, lens, _ = _shapefile.index_by_scan(
                np.frombuffer(shp.read(0, shp.size), dtype=np.uint8))
            if st:
                raise _kerr(st, f"{shp.name}, record {bad + 1}",
                            "while scanning the .shp without a .shx")
            return offs, lens
        if shp.size < 100:
            raise _kerr(Status.TRUNCATED, shp.name)
        pos, size, block = 100, shp.size, 8 << 20
        parts_o: list[np.ndarray] = []
        parts_l: list[np.ndarray] = []
        count = 0
        while pos < size:
            want = min(block, size - pos)
            chunk = shp.read(pos, want)
            eof = len(chunk) < want or pos + len(chunk) >= size
            st, bad, offs, lens, end = _shapefile.index_by_scan(
                np.frombuffer(chunk, dtype=np.uint8), pos, pos, -1, not eof)
            del chunk
            if st:
                raise _kerr(st, f"{shp.name}, record {count + bad + 1}",
                            "while scanning the .shp without a .shx")
            if len(offs):
                parts_o.append(offs)
                parts_l.append(lens)
                count += len(offs)
            if eof:
                break
            if end == pos:
                block *= 2          # one record larger than the block
            pos = end
        if not parts_o:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        return np.concatenate(parts_o), np.concatenate(parts_l)

    def _index_walk(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """Index of records [start, stop) of a .shp without .shx, read right after the previous
        chunk's: a block sized from the mean record size, doubled until the records fit."""
        shp = self.shp
        assert shp is not None and start == self._scan_next
        want, pos, size = stop - start, self._scan_pos, shp.size
        where = f"{shp.name}, record"
        offs = lens = np.empty(0, dtype=np.int64)
        end = pos
        block = max(1 << 16, want * max(12, (size - 100) // max(self.n, 1)) + 64)
        while want:
            ask = min(block, size - pos)
            chunk = shp.read(pos, ask)
            eof = len(chunk) < ask or pos + len(chunk) >= size     # short: the file shrank
            st, bad, offs, lens, end = _shapefile.index_by_scan(
                np.frombuffer(chunk, dtype=np.uint8), pos, pos, want, not eof)
            del chunk
            if st:
                raise _kerr(st, f"{where} {start + bad + 1}",
                            "while scanning the .shp without a .shx")
            if len(offs) == want or eof:
                break
            block *= 2
        if len(offs) < want:
            raise _kerr(Status.BAD_RECORD, self.path, f".shp has {start + len(offs)} shapes but "
                        f".dbf has {self.n} records")
        self._scan_pos, self._scan_next = end, stop
        if stop == self.n and end < size:
            # bytes after the last record the DBF knows: a cut record header, or more shapes
            tail = shp.read(end, min(size - end, 1 << 20))
            st, bad, _, _, _ = _shapefile.index_by_scan(
                np.frombuffer(tail, dtype=np.uint8), end, end, 1, end + len(tail) < size)
            if st:
                raise _kerr(st, f"{where} {stop + 1}", "while scanning the .shp without a .shx")
            raise _kerr(Status.BAD_RECORD, self.path,
                        f".shp has more shapes than the {self.n} records of the .dbf")
        return offs, lens

    def read(self, start: int, stop: int) -> Shapefile | DbfTable:
        """Records [start, stop): the DBF chunk is decoded and dropped before the .shp chunk
        is read, so at most one input chunk is alive next to the outputs."""
        keep: np.ndarray | None = None
        columns: dict[str, Any] = {}
        nulls: dict[str, np.ndarray] = {}
        if self.dbh is not None:
            h = self.dbh
            dbuf = self.dbf.read_exact(h.header_len + start * h.reclen,
                                       (stop - start) * h.reclen)
            darr = np.frombuffer(dbuf, dtype=np.uint8)
            deleted = _dbf.deleted_flags(darr, h.reclen, stop - start)
            if deleted.any():
                keep = np.flatnonzero(~deleted).astype(np.int64)
            del deleted
            record_numbers = (keep if keep is not None
                              else np.arange(stop - start, dtype=np.int64)) + (start + 1)
            self._read_columns(darr, keep, stop - start, record_numbers, columns, nulls)
            del darr, dbuf
            if not self.stream:
                self.dbf.release()      # decoded: free the snapshot before the shapes
        else:
            record_numbers = np.arange(start + 1, stop + 1, dtype=np.int64)
        if self.shp is None:
            return DbfTable(columns, nulls, list(self.fields), self.encoding, record_numbers)
        geometry = self._read_shapes(start, stop, keep, record_numbers)
        return Shapefile(geometry, columns, nulls, list(self.fields), self.encoding,
                         record_numbers, self.shape_type, self.crs)

    def _read_shapes(self, start: int, stop: int, keep: np.ndarray | None,
                     record_numbers: np.ndarray) -> GeometryBuffers:
        assert self.shp is not None
        offs, lens = self._index(start, stop)
        if keep is not None:
            offs, lens = offs[keep], lens[keep]
        if not self.stream or self.shp.data is not None:
            lo, hi = 0, self.shp.size           # zero-copy view of the whole file
        elif len(offs):
            lo = int(offs.min())                # a chunk reads just its own byte range
            hi = int((offs + 8 + lens).max())
        else:
            lo = hi = 100
        if hi > self.shp.size:
            raise _kerr(Status.TRUNCATED, self.shp.name)
        buf = self.shp.read_exact(lo, hi - lo)
        st, bad, res = _shapefile.parse_shapes(np.frombuffer(buf, dtype=np.uint8), lo,
                                               np.ascontiguousarray(offs),
                                               np.ascontiguousarray(lens), self.shape_type)
        del buf
        if st:
            rec = int(record_numbers[bad]) if bad >= 0 else None
            where = f"{self.shp.name}, record {rec}" if rec else self.shp.name
            raise _kerr(st, where)
        coords, z, geom, ring, poly, null = res
        base = self.shape_type % 10 if self.shape_type not in (0, 31) else self.shape_type
        return GeometryBuffers(_GEOMETRY_TYPES[base], coords, z, geom, ring, poly, null)

    def _read_columns(self, darr: np.ndarray, keep: np.ndarray | None, nrec: int,
                      record_numbers: np.ndarray, columns: dict[str, Any],
                      nulls: dict[str, np.ndarray]) -> None:
        h = self.dbh
        assert h is not None

        def rows() -> np.ndarray:   # record index of each output row (only built when needed)
            return keep if keep is not None else np.arange(nrec, dtype=np.int64)

        kinds = np.zeros(len(self.fields), dtype=np.int32)
        for k, f in enumerate(self.fields):
            if f.type in "NF":
                kinds[k] = 1 if f.decimals == 0 and f.size <= 18 else 2
            elif f.type == "D":
                kinds[k] = 3
            elif f.type == "L":
                kinds[k] = 4
            elif f.type != "M" and self.single_byte:
                kinds[k] = 5        # C and unknown types: text, as GDAL reads them
        offsets = np.asarray(h.offsets, dtype=np.int64)
        sizes = np.asarray([f.size for f in self.fields], dtype=np.int64)
        st, bad, badf, outs = _dbf.decode_fields(darr, h.reclen, keep, kinds, offsets, sizes,
                                                 self.table, nrec)
        if st == Status.BAD_TEXT and not self.strict_text and self.encoding == "utf-8":
            # no declared encoding and not UTF-8: ISO-8859-1, as GDAL assumes
            self.encoding, self.table = "iso8859-1", _code_page_table("iso8859-1")
            st, bad, badf, outs = _dbf.decode_fields(darr, h.reclen, keep, kinds, offsets,
                                                     sizes, self.table, nrec)
        if st:
            f = self.fields[badf]
            rec = int(record_numbers[bad])
            msg = None
            if st == Status.BAD_TEXT:
                msg = f"text does not decode as {self.encoding}"
            elif st == Status.BAD_NUMBER:
                at = int(rows()[bad]) * h.reclen + h.offsets[badf]
                msg = f"invalid {f.type} value {bytes(darr[at:at + f.size])!r}"
            raise _kerr(st, f"{self.dbf.name}, record {rec}, field {f.name!r}", msg)
        for k, f in enumerate(self.fields):
            out = outs[k]
            if out is not None and len(out) == 3:
                col: Any = StringColumn(*out)
                columns[f.name], nulls[f.name] = col, out[2]
            elif out is not None:
                columns[f.name], nulls[f.name] = out
            elif f.type == "M":
                col = self._read_memo(darr, rows(), record_numbers, h.offsets[k], f)
                columns[f.name], nulls[f.name] = col, col.null
            else:
                st, bad, col = self._read_text(darr, rows(), record_numbers, h.offsets[k], f)
                if st:
                    raise _kerr(st, f"{self.dbf.name}, record {int(record_numbers[bad])}, "
                                f"field {f.name!r}", f"text does not decode as {self.encoding}")
                columns[f.name], nulls[f.name] = col, col.null

    def _read_text(self, darr: np.ndarray, rows: np.ndarray, record_numbers: np.ndarray,
                   off: int, f: DbfField) -> tuple[int, int, Any]:
        h = self.dbh
        assert h is not None
        # Multi-byte code pages (cp932, cp936, ...): one Python decode per value (slow path).
        values: list[str | None] = []
        for i, r in enumerate(rows.tolist()):
            raw = bytes(darr[r * h.reclen + off: r * h.reclen + off + f.size]).rstrip(b" \x00")
            try:
                values.append(raw.decode(self.encoding) if raw else None)
            except UnicodeDecodeError:
                return Status.BAD_TEXT, i, None
        return 0, -1, StringColumn.from_list(values)

    def _read_memo(self, darr: np.ndarray, rows: np.ndarray, record_numbers: np.ndarray,
                   off: int, f: DbfField) -> StringColumn:
        """M fields: block numbers into the .fpt (FoxPro) or .dbt (dBase); Python per value."""
        h = self.dbh
        assert h is not None
        values: list[str | None] = []
        memo = self.memo
        mem = bytes(memo.read(0, memo.size)) if memo is not None else b""
        fpt = memo is not None and memo.name.lower().endswith(".fpt")
        if fpt:
            block = struct.unpack(">H", mem[6:8])[0] if len(mem) >= 8 else 0
        elif memo is not None and h.version == 0x8B and len(mem) >= 22:
            block = struct.unpack("<H", mem[20:22])[0] or 512
        else:
            block = 512
        for i, r in enumerate(rows.tolist()):
            raw = bytes(darr[r * h.reclen + off: r * h.reclen + off + f.size])
            where = f"{self.dbf.name}, record {int(record_numbers[i])}, field {f.name!r}"
            if f.size == 4 and version_is_foxpro(h.version):
                num = struct.unpack("<i", raw)[0]
            else:
                txt = raw.strip(b" \x00")
                if not txt:
                    num = 0
                elif not txt.isdigit():
                    raise _kerr(Status.BAD_RECORD, where, f"invalid memo block number {raw!r}")
                else:
                    num = int(txt)
            if num <= 0 or memo is None:
                values.append(None)
                continue
            pos = num * block
            if block <= 0 or pos >= len(mem):
                raise _kerr(Status.BAD_RECORD, where, f"memo block {num} outside {memo.name}")
            if fpt:
                if pos + 8 > len(mem):
                    raise _kerr(Status.TRUNCATED, where)
                _, length = struct.unpack(">II", mem[pos:pos + 8])
                body = mem[pos + 8:pos + 8 + length]
                if len(body) != length:
                    raise _kerr(Status.TRUNCATED, where, f"memo block {num} truncated")
            elif mem[pos:pos + 4] == b"\xff\xff\x08\x00":   # dBase IV block header
                length = struct.unpack("<I", mem[pos + 4:pos + 8])[0]
                body = mem[pos + 8:pos + length]
            else:                                            # dBase III: ends at 0x1A
                end = mem.find(b"\x1a", pos)
                body = mem[pos:end if end >= 0 else len(mem)]
            body = body.split(b"\x00", 1)[0]     # as C-string readers do (and text cannot hold NUL)
            try:
                values.append(body.decode(self.encoding))
            except UnicodeDecodeError:
                raise _kerr(Status.BAD_TEXT, where, f"memo text does not decode as {self.encoding}")
        return StringColumn.from_list(values)


def _check_path(path: Any) -> None:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be str or os.PathLike, not {type(path).__name__}")


def read_shapefile(path: str | os.PathLike[str], *, encoding: str | None = None,
                   layer: str | None = None) -> Shapefile:
    """Read a whole shapefile (.shp path, or a .zip holding one) into buffers and columns.

    Args:
        path: the .shp (sidecars .shx/.dbf/.prj/.cpg/.dbt/.fpt are found case-insensitively)
            or a .zip containing the shapefile.
        encoding: codec for DBF text; overrides the .cpg / language driver id.
        layer: which shapefile of a zip holding several (stem or member name).

    Returns:
        A Shapefile; deleted DBF records and their shapes are skipped.

    Raises:
        KernelError: corrupt or unsupported content, naming the file and 1-based record.
        ValueError: a zip without exactly one matching shapefile, an unknown encoding.
        FileNotFoundError: no .shp.
    """
    _check_path(path)
    reader = _Reader(path, encoding=encoding, layer=layer, stream=False)
    try:
        out = reader.read(0, reader.n)
        assert isinstance(out, Shapefile)
        return out
    finally:
        reader.close()


def iter_shapefile(path: str | os.PathLike[str], *, chunk_records: int = 100_000,
                   encoding: str | None = None, layer: str | None = None) -> Iterator[Shapefile]:
    """Stream a shapefile in chunks of `chunk_records` DBF records (deleted ones skipped).

    Each chunk reads only its own bytes of the .shx, .shp and .dbf (pread), so peak memory
    stays within about twice the chunk's output. Without a .shx the .shp is walked chunk by
    chunk (without a .dbf either, the whole .shp is walked once first: 16 bytes per record).
    Zip members up to 64 MB are held in memory, larger ones are extracted to a temporary
    file first (removed when the iterator finishes or is closed).

    Args:
        path: as read_shapefile.
        chunk_records: records per chunk (>= 1).
        encoding: as read_shapefile.
        layer: as read_shapefile.

    Yields:
        Shapefile chunks; ``record_numbers`` keep the position in the whole file.
    """
    _check_path(path)
    if int(chunk_records) < 1:
        raise ValueError("chunk_records must be >= 1")
    chunk_records = int(chunk_records)
    reader = _Reader(path, encoding=encoding, layer=layer, stream=True,
                     chunk_records=chunk_records)
    try:
        for start in range(0, max(reader.n, 1), chunk_records):
            # yield without keeping a reference here: the previous chunk must be freeable
            # while the next one is read
            yield reader.read(start, min(start + chunk_records, reader.n))  # type: ignore[misc]
    finally:
        reader.close()


def read_dbf(path: str | os.PathLike[str], *, encoding: str | None = None) -> DbfTable:
    """Read a standalone .dbf (memo from a sibling .dbt/.fpt): the attribute part of a shapefile."""
    _check_path(path)
    reader = _Reader(path, encoding=encoding, layer=None, stream=False, need_shp=False)
    try:
        out = reader.read(0, reader.n)
        assert isinstance(out, DbfTable)
        return out
    finally:
        reader.close()
