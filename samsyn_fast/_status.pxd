# Status codes shared by every kernel: nogil loops return one of these, and
# samsyn_fast.errors.raise_for_status turns it into a KernelError with the GIL held.
# A cpdef enum, compiled in samsyn_fast/_status.pyx, so Python reads these very numbers as
# samsyn_fast._status.Status (an IntEnum): this is the only place they are written.
cpdef enum Status:
    OK = 0
    BAD_OFFSETS = 1      # offsets not monotonic / out of bounds
    TRUNCATED = 2        # input ends inside a record
    BAD_MAGIC = 3        # wrong file code / signature
    BAD_LENGTH = 4       # a declared length is absurd or inconsistent
    BAD_SHAPE_TYPE = 5   # unknown or mixed shape type
    BAD_NUMBER = 6       # text that should be a number is not
    NAN_COORD = 7        # NaN or infinite coordinate
    EMPTY_GEOMETRY = 8   # geometry without coordinates where one is required
    BAD_TEXT = 9         # undecodable text
    BAD_RECORD = 10      # structurally invalid record
    NO_MEMORY = 11       # allocation failed
    BAD_INPUT = 12       # any other invalid argument
    BAD_INDEX = 13       # .shx inconsistent with .shp
    OUT_OF_RANGE = 14    # value outside the domain of the operation
