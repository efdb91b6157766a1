"""Matrix products written into a slice of a result, through SciPy's BLAS ``dgemm``.

``numpy.matmul`` can write a product into ``out`` but not add it to what is there;
BLAS ``dgemm`` computes ``C = alpha A B + beta C`` in place. SciPy's wrapper works in
place when C is Fortran-contiguous: the transpose of a C-contiguous block of rows. So a
product ``rows @ M`` added into rows ``[start:stop]`` of a C-contiguous result is written
transposed: ``result[start:stop].T += M.T @ rows.T``, on views, with no copy.

SciPy ships its own OpenBLAS, with its own threads, beside NumPy's. The two pools'
threads spin for a while after each call and slow the other library down; the large
convolutions therefore make every product of one call here (see ``reference.conv``).
"""

from __future__ import annotations

import functools

import numpy as np

from reference._validate import Array


@functools.cache
def _dgemm():
    # imported on first use: scipy.linalg.blas takes ~0.15 s to import, and only large
    # convolutions come here
    from scipy.linalg.blas import dgemm

    return dgemm


def product_into(c_T: Array, a: Array, b: Array, accumulate: bool, transpose_b: bool = False) -> None:
    """``c_T = a @ B`` or, with ``accumulate``, ``c_T += a @ B``, in place, where B is ``b``,
    or ``b.T`` with ``transpose_b``.

    c_T (M, N), a (M, K) and b (K, N), or (N, K) with ``transpose_b``, should be
    Fortran-contiguous (else SciPy copies them: still right, slower); c_T is typically
    ``result[start:stop].T``.
    """
    beta = 1.0 if accumulate else 0.0
    result = _dgemm()(1.0, a, b, beta=beta, c=c_T, overwrite_c=True, trans_b=int(transpose_b))
    if not np.may_share_memory(result, c_T):  # SciPy worked on a copy of c: write it back
        c_T[...] = result
