"""The C allocator's settings in a process that runs steps (glibc's malloc; elsewhere nothing).

A step allocates and frees arrays of tens to hundreds of MB (a million rows' columns, a file's
bytes, a Parquet page set). glibc serves anything over its mmap threshold (at most 32 MB, however
it adapts) with a fresh mapping, and gives freed memory at the top of its heap back once 128 KB
are free: the next array's pages are new to the process, faulted in and zeroed by the kernel one
by one, and returned again when it is freed. With every allocation under 1 GB from the heap, and
freed memory kept (up to 1 GB) and grown in 64 MB steps, a step reuses what the previous one freed.

Measured on a bench-scale day (2026-12-04, interleaved, /proc of every process of the run):
page faults in process 730k / 806k -> 456k / 442k, kernel time 5.3 / 7.3 s -> 4.8 / 5.0 s; in the
step workers 823k / 867k -> 552k / 555k. Wall time moved within this machine's noise (the same
settings through glibc's environment variables, 2 rounds: in process 30.5 / 31.1 s -> 28.5 /
29.1 s, with the platform's executor 20.6 / 19.4 s -> 17.6 / 18.7 s). Peak step memory is
unchanged (1575 -> 1552 MB): what is kept is what the largest step had anyway, and a step worker
holding more than ``workers.RECYCLE_RSS_GB`` after a step is retired.

Applied by the platform's resource when a step's resources are set up, in process and in step
workers alike (both sides of make bench's ratios), and by the forkserver's preload.
``PLATFORM_MALLOC_TUNING=0`` leaves the allocator as it is.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3  # glibc's malloc.h
SETTINGS = ((M_MMAP_THRESHOLD, 1 << 30), (M_TRIM_THRESHOLD, 1 << 30), (M_TOP_PAD, 64 << 20))
_tuned = False


def tune() -> bool:
    """Apply ``SETTINGS`` once per process; False where disabled or not glibc."""
    global _tuned
    if _tuned:
        return True
    if os.environ.get("PLATFORM_MALLOC_TUNING", "1") == "0":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS): their allocators differ, leave them
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    _tuned = all(mallopt(option, value) == 1 for option, value in SETTINGS)
    return _tuned
