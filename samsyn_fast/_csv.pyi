"""Stubs for the compiled CSV tokenizer (private; use samsyn_fast.csv_points)."""
from enum import IntEnum
from typing import Any

import numpy as np

class Detail(IntEnum):
    DETAIL_NONE = 0
    DETAIL_TOO_MANY_FIELDS = 1
    DETAIL_TOO_FEW_FIELDS = 2
    DETAIL_EMPTY_LATITUDE = 3
    DETAIL_UNTERMINATED_QUOTE = 4
    DETAIL_BAD_UTF8 = 5

class Skip(IntEnum):
    SKIP_NO_LONGITUDE = 1
    SKIP_EMPTY_LATITUDE = 2

class Block:
    records: int
    consumed: int
    status: int
    detail: int
    err_record: int
    err_col: int
    err_pos: int
    reached_stop: bool
    skip_bad: bool
    nrows: int
    def __init__(self, kinds: list[int], ntext: int, delim: int, rows_hint: int = ...,
                 bytes_hint: int = ...) -> None: ...
    def parse(self, data: Any, start: int, end: int, final: bool, stop_at: int = ...,
              max_records: int = ..., check_utf8: bool = ...) -> int: ...
    nfallbacks: int
    def fallbacks(self, first: int = ...) -> list[tuple[bytes, int, int]]: ...
    def skipped(self) -> tuple[np.ndarray, np.ndarray]: ...
    def set_coord(self, where: int, v: float) -> None: ...
    def take(self) -> tuple[np.ndarray, np.ndarray, list[tuple[np.ndarray, np.ndarray]]]: ...

def parse_header(data: Any, start: int, end: int, delim: int,
                 final: bool) -> tuple[list[bytes], int] | None: ...
def decode_strings(data: Any, offsets: Any) -> list[str]: ...
def line_after(data: Any, pos: int, end: int) -> int: ...
def json_objects(keys: list[bytes], offsets: list[Any], datas: list[Any], nrows: int,
                 prefix: int = ...) -> tuple[np.ndarray, np.ndarray]: ...
def json_records(keys: list[bytes], kinds: Any, values: list[Any], nulls: list[Any], nrows: int,
                 prefix: int = ...) -> tuple[np.ndarray, np.ndarray]: ...
