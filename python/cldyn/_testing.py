"""Test-only helpers of cldyn (not part of the API): what the C++ side sees of an array.

``data_pointer(a, transposed=False)`` returns ``(address, copied, rows, cols)``: the address of
the first element the bindings hand to C++, whether they converted ``a`` into a copy first, and
the shape of the column-major matrix C++ sees (``transposed=True``: the transpose, as for
``layout="Kd"`` weights). See docs/python.md, "Conventions".
"""
from ._cldyn import _testing as _impl

data_pointer = _impl.data_pointer

__all__ = ["data_pointer"]
