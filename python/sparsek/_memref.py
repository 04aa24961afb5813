"""Memref descriptors (``include/sparsek-c/MemRef.h``) for torch tensors:
the tensor's own pointer, sizes and strides, so strided views (a transposed
``[B, N, H, D]`` tensor, a slice of a cache) pass without a copy."""

from __future__ import annotations

import ctypes


def descriptor_type(rank: int):
    """``SparseKMemRef<rank>D``: allocated, aligned, offset, sizes, strides."""
    class Desc(ctypes.Structure):
        _fields_ = [("allocated", ctypes.c_void_p), ("aligned", ctypes.c_void_p),
                    ("offset", ctypes.c_int64), ("sizes", ctypes.c_int64 * rank),
                    ("strides", ctypes.c_int64 * rank)]
    Desc.__name__ = f"SparseKMemRef{rank}D"
    return Desc


_TYPES = {r: descriptor_type(r) for r in range(1, 9)}


def describe(t):
    """A descriptor of tensor ``t`` (any strides; the data pointer already
    includes the storage offset, so the descriptor's offset is 0)."""
    d = _TYPES[t.dim()]()
    ptr = t.data_ptr()
    d.allocated = ptr
    d.aligned = ptr
    d.sizes[:] = t.shape
    d.strides[:] = t.stride()
    return d
