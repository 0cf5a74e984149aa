"""Sealed frames: a loaded frame's numeric arrays made read-only for good (an immutable copy,
or the Arrow file's mapping made read-only with mprotect), and the fingerprint of its parts
that shows whether a question swapped any of them."""

from __future__ import annotations

import os

def _mmap_base(array):
    """The mmap an array's memory belongs to, if any."""
    import mmap

    base = array
    while base is not None and not isinstance(base, mmap.mmap):
        base = getattr(base, "base", None) if not isinstance(base, memoryview) else base.obj
    return base


_protected_maps: dict = {}  # id(mmap) -> mmap (kept alive while protected)


def _protect_mapping(mapped) -> bool:
    """Make an mmap's pages read-only in the kernel (mprotect): a write then crashes."""
    if id(mapped) in _protected_maps:
        return True
    try:
        import ctypes

        length = len(mapped)
        if length == 0:
            return True
        anchor = ctypes.c_char.from_buffer(mapped)
        address = ctypes.addressof(anchor)
        del anchor
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mprotect.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
        page = os.sysconf("SC_PAGE_SIZE")
        start = address - address % page
        if libc.mprotect(start, length + (address - start), 0x1) != 0:  # PROT_READ
            return False
        _protected_maps[id(mapped)] = mapped
        return True
    except Exception:  # noqa: BLE001 - sealing falls back to copies
        return False


def _immutable_copy(values):
    import numpy as np

    frozen = np.frombuffer(values.tobytes(), dtype=values.dtype).reshape(values.shape)
    return frozen


def seal_frame(frame):
    """Make a loaded frame's arrays read-only for good; returns the frame."""
    import numpy as np

    for block in frame._mgr.blocks:
        values = block.values
        if not isinstance(values, np.ndarray):
            continue  # Arrow-backed text and extension arrays are immutable buffers
        if values.dtype == object:
            values.flags.writeable = False  # best effort: object arrays cannot live in bytes
            continue
        mapped = _mmap_base(values)
        if mapped is not None and _protect_mapping(mapped):
            values.flags.writeable = False
            continue
        try:
            block.values = _immutable_copy(values)
        except (AttributeError, TypeError, ValueError):
            values.flags.writeable = False
    index_values = getattr(frame.index, "_data", None)
    if isinstance(index_values, np.ndarray):
        index_values.flags.writeable = False
    return frame


def fingerprint(frame) -> tuple:
    """Identity of a frame's parts: changes when a question swaps any of them."""
    blocks = []
    for block in frame._mgr.blocks:
        values = block.values
        inner = getattr(values, "_pa_array", None)
        if inner is None:
            inner = getattr(values, "_ndarray", None)
        data = getattr(values, "__array_interface__", {}).get("data") if hasattr(values, "dtype") else None
        blocks.append((id(block), id(values), id(inner), data, getattr(values, "shape", None),
                       str(getattr(values, "dtype", ""))))
    return (id(frame._mgr), id(frame.index), id(frame.columns), frame.shape, tuple(blocks),
            tuple(map(str, frame.dtypes)))
