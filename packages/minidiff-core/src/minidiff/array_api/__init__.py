"""The Python Array API standard (2023.12) on minidiff: the namespace is `minidiff` itself.

`x.__array_namespace__()` returns the `minidiff` module, as NumPy 2's arrays return
`numpy`, so code written against the standard (`xp = x.__array_namespace__()`) runs on
Tensors and is differentiable:

>>> import minidiff as md
>>> x = md.Tensor([1.0, 2.0], allow_grad=True)
>>> xp = x.__array_namespace__()
>>> xp.sum(xp.pow(x, 2)).backward()
>>> x.grad
minidiff.Tensor([2., 4.])

- `tensor_protocol`: the Tensor attributes the standard asks for (`device`, `mT`, ...).
- `names`: the standard's names for ops minidiff has under NumPy's names (`acos`, `concat`).
- `functions`: functions the standard has and NumPy's names did not cover (`unique_all`, ...).
- `info`: `md.__array_namespace_info__()`.

docs/array-api.md lists what is supported and where minidiff deviates.
"""

#: the version of the standard minidiff implements
__array_api_version__ = "2023.12"
