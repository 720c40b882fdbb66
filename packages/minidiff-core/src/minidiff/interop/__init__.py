"""NumPy interop: NumPy's own functions, given minidiff Tensors, return differentiable Tensors.

>>> import numpy as np
>>> import minidiff as md
>>> x = md.Tensor([0.5, 1.0], allow_grad=True)
>>> y = np.sum(np.sin(x) * x)           # NumPy's functions, minidiff's Tensors
>>> y.backward()
>>> x.grad                              # sin(x) + x cos(x)
minidiff.Tensor([0.91821682, 1.38177329])

So a function written against `numpy` alone can be differentiated by passing it Tensors.
`Tensor.__array_ufunc__` and `Tensor.__array_function__` (NumPy's NEP 13 and NEP 18
protocols) send every NumPy call with a Tensor argument here, which maps it onto a
minidiff op by name, straight from the op registry: `numpy.sin` is `md.sin`,
`numpy.linalg.solve` is `md.linalg.solve` when an op pack registers it, and an op that a
plugin adds under a NumPy name is reachable from NumPy at once. A few functions whose
NumPy signature differs from the op's (`sum` with `where=` and `initial=`, `reshape`,
`clip`, `where` with one argument, ...) go through a small adapter.

- Ufuncs take `out=` (a Tensor or a NumPy array), `where=` and `dtype=` as NumPy does;
  `.reduce`, `.accumulate` and `.outer` work for the ufuncs where they have an op.
  Writing into a Tensor with `out=` makes that Tensor the result of the op in the graph,
  so gradients stay right; writing a result that needs a gradient into a NumPy array is
  an error (it would silently drop the gradient).
- With `where=`, the ufunc is computed only where the mask is true (gathered, computed,
  scattered back), so masked-out elements can neither change the result nor put NaN into
  the gradient. Elsewhere the result keeps `out`'s old values, or zeros without `out=`
  (NumPy leaves those uninitialized). Reductions (`sum`, `mean`, `prod`, `max`, `min`,
  `var`, `std`, `all`, `any`) take `where=` with the right gradients too.
- Every other NumPy function is answered by NumPy itself, on the values (host arrays),
  and returns what NumPy returns (NumPy arrays, not Tensors), when no gradient is lost:
  when no argument allows grad, or inside `md.no_grad()` (`np.histogram(t)`,
  `np.save(path, t)`, `np.unique(t)`), and when the answer holds no floating-point value
  (indices, counts, masks, shapes, text: `np.argsort(x)`, `np.isclose(x, y)`,
  `np.count_nonzero(x)`), whatever the arguments. Only a floating-point answer that would
  need a gradient minidiff cannot give raises a `TypeError` naming the function: minidiff
  never silently drops a gradient. A function that writes into an argument
  (`np.copyto(t, a)`, `np.fill_diagonal(t, 0)`) changes a Tensor through `t[...] = ...`,
  so the in-place check still guards recorded graphs.

>>> x = md.Tensor([3.0, 1.0, 2.0], allow_grad=True)
>>> np.argsort(x)                      # indices: no gradient to lose
array([1, 2, 0])
>>> np.histogram(x.detach(), bins=2)[0]
array([1, 2])

`python -m minidiff.interop --markdown` prints the list of supported NumPy functions,
generated from the registry (docs/numpy-interop.md in the repository);
`python -m minidiff.interop --coverage` counts NumPy's public functions by what minidiff
does with them.
"""

from __future__ import annotations

# The modules, one concern each, in the order they build on each other:
#   names        NumPy names -> minidiff ops; NotDifferentiableError
#   out          arguments as Tensors; results written into out=
#   passthrough  NumPy on the values, when no gradient is lost
#   adapters     NumPy signatures -> op signatures (the `_HANDLERS` table)
#   ufuncs       ufunc calls with out=/where=/dtype=, .reduce and .accumulate
#   protocol     the __array_ufunc__ / __array_function__ entry points
#   report       the generated list, the coverage count, `python -m minidiff.interop`
from minidiff.interop.names import ALIASES, DOCS_URL, QUERIES, NotDifferentiableError
from minidiff.interop.protocol import array_function, array_ufunc
from minidiff.interop.report import COVERAGE_KINDS, coverage, coverage_markdown, main, markdown, supported

__all__ = ["NotDifferentiableError", "array_function", "array_ufunc", "coverage", "markdown", "supported"]
