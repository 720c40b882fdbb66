"""The `fft` op family, the Array API standard's fft extension (2023.12) as `md.fft`:
`fft ifft fftn ifftn rfft irfft rfftn irfftn hfft ihfft fftfreq rfftfreq fftshift ifftshift`,
with the standard's keywords `n`, `axis`, `s`, `axes` and `norm` ("backward", "ortho",
"forward"), and NumPy's results and dtypes (float32 in, complex64 out).

Gradients follow docs/gradient-conventions.md: for a real loss L of z = x + iy, `z.grad` is
dL/dx + i dL/dy. Each transform is linear, y = A x; in that convention the gradient of a
linear map is A^H g (L = Re<g, A x> = Re<A^H g, x>), and for a real x the engine keeps its
real part. So every rule is an adjoint, written with the transforms themselves (second
order comes out of the same table), `Op(complex=True)`:

- `fft`/`ifft`/`fftn`/`ifftn`: A = c F P, with P the zero-padding or truncation to `n`
  (`s`), F the DFT (its inverse) and c the scale `norm` asks for. A^H = c P^T F^H, and
  c F^H is the opposite transform with the dual norm (backward <-> forward, ortho stays):
  an unnormalized inverse DFT is `ifft(norm="forward")`. P^T truncates what P padded and
  pads what P truncated (`_fit`).
- `rfft`/`rfftn` keep bins 0..n//2 of a real input's DFT: A = S c F P, S that selection,
  so the gradient is Re(P^T c F^H S^T g). The real part of an inverse DFT of a half
  spectrum is what `irfft` computes, except that `irfft` counts each bin strictly between
  DC and Nyquist twice (once for its conjugate mirror): halving those bins first gives
  exactly Re(F^H S^T g) (`_HALVE`; PyTorch's `fft_r2c_backward` and JAX's rfft transpose
  compute the same adjoint).
- `irfft`/`irfftn` read a half spectrum z (imaginary parts of DC and Nyquist ignored, as in
  NumPy) and return y_j = c (Re z_0 + 2 sum_k Re(z_k w^jk) + Re z_n/2 (-1)^j); so
  dL/dz_k = c (F g)_k for DC and Nyquist and 2 c (F g)_k between them: an `rfft` of g with
  those bins doubled (`_DOUBLE`), fitted back to z's length.
- `hfft`/`ihfft` are NumPy's definitions in terms of those: `irfft(conj(x))` and
  `conj(rfft(x))` with the opposite norm, differentiated through them.
- `fftshift`/`ifftshift` roll; each one's gradient is the other shift.
- `fftfreq`/`rfftfreq` make sample frequencies (creation ops, no gradient).

The transforms refuse repeated axes (NumPy applies the transform twice; the standard leaves
it unspecified), and `rfft`/`rfftn` refuse complex input, as NumPy does. A backend provides
the transforms as `xp.fft` (NumPy's names and signatures); one without raises a TypeError.
"""

from __future__ import annotations

import operator
from typing import Any, Callable, Sequence

import numpy as np

import minidiff as md
from minidiff.batching.rules import logical_ndim
from minidiff.extend import Op, Tolerance, hookimpl, sample

__all__ = ["OPS"]

_NORMS = ("backward", "ortho", "forward")
#: the norm of the adjoint transform: c F^H with c = 1, 1/n, 1/sqrt(n) is the inverse
#: transform scaled 1 ("forward" leaves the inverse unscaled), 1/n, 1/sqrt(n)
_DUAL = {"backward": "forward", "forward": "backward", "ortho": "ortho"}

# ---------------------------------------------------------------------------- arguments


def _check_norm(norm: Any, name: str) -> str:
    if norm not in _NORMS:
        raise ValueError(f"norm must be 'backward', 'ortho' or 'forward', got {norm!r}")
    return norm


def _axis(axis: Any, ndim: int, name: str) -> int:
    """One axis as a negative index (the same axis of a batch under `md.vmap`)."""
    axis = operator.index(axis)
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(axis, ndim)
    return axis % ndim - ndim


def _size(n: int, name: str, what: str) -> int:
    if n < 1:
        raise ValueError(f"{what}={n} points; a transform needs at least 1")
    return n


def _one(shape: Sequence[int], n: Any, axis: Any, norm: Any, name: str, inverse_real: bool = False) -> tuple:
    """(n, axis, norm) of a 1-D transform, checked: `n` the transform's length (the output
    length of `irfft`, whose default is 2 (m - 1) for m input bins)."""
    axis = _axis(axis, len(shape), name)
    if n is None:
        n = 2 * (shape[axis] - 1) if inverse_real else shape[axis]
    return _size(operator.index(n), name, "n"), axis, _check_norm(norm, name)


def _many(shape: Sequence[int], s: Any, axes: Any, norm: Any, name: str, inverse_real: bool = False) -> tuple:
    """(s, axes, norm) of an n-D transform, checked, with the standard's defaults: every axis
    when neither is given, the last len(s) axes when only `s` is; `s[i] = -1` (or no `s`)
    keeps axis i's length (2 (m - 1) for the last axis of `irfftn`)."""
    ndim = len(shape)
    if axes is None:
        if s is not None and len(s) > ndim:
            raise ValueError(f"s={tuple(s)} has more entries than the input's {ndim} axes")
        axes = range(-len(s), 0) if s is not None else range(-ndim, 0)
    given = axes
    axes = tuple(_axis(a, ndim, name) for a in ((axes,) if isinstance(axes, int) else axes))
    if len(set(axes)) != len(axes):
        raise ValueError(f"axes={tuple(given)} names an axis twice")
    if not axes:
        raise ValueError(f"no axes to transform (an input with {ndim} axes, axes={axes})")
    if s is not None and len(s) != len(axes):
        raise ValueError(f"s={tuple(s)} and axes={axes} must have the same length")
    sizes = []
    for i, a in enumerate(axes):
        n = -1 if s is None else operator.index(s[i])
        if n == -1:
            n = 2 * (shape[a] - 1) if inverse_real and i == len(axes) - 1 else shape[a]
        sizes.append(_size(n, name, f"s[{i}]"))
    return tuple(sizes), axes, _check_norm(norm, name)


def _namespace(xp: Any, name: str) -> Any:
    found = getattr(xp, "fft", None)  # the capability: a backend with an fft sub-namespace
    if found is None:
        raise TypeError(f"fft.{name}: this backend's array namespace has no fft functions (xp.fft)")
    return found


def _refuse_complex(x: Any, name: str) -> None:
    # By name: every backend spells its complex dtypes "complex64"/"complex128".
    if "complex" in str(getattr(x, "dtype", "")):
        raise TypeError(f"fft.{name} takes a real input, got {x.dtype} (use fft.fft{name[4:]} for complex input)")


# ---------------------------------------------------------------------------- forwards


def _forward_one(name: str, real_input: bool = False, inverse_real: bool = False) -> Callable[..., Any]:
    def forward(xp: Any, x: Any, n: Any = None, axis: Any = -1, norm: Any = "backward") -> Any:
        if real_input:
            _refuse_complex(x, name)
        n, axis, norm = _one(x.shape, n, axis, norm, name, inverse_real)
        return getattr(_namespace(xp, name), name)(x, n=n, axis=axis, norm=norm)

    forward.__name__ = forward.__qualname__ = name
    return forward


def _forward_many(name: str, real_input: bool = False, inverse_real: bool = False) -> Callable[..., Any]:
    def forward(xp: Any, x: Any, s: Any = None, axes: Any = None, norm: Any = "backward") -> Any:
        if real_input:
            _refuse_complex(x, name)
        s, axes, norm = _many(x.shape, s, axes, norm, name, inverse_real)
        return getattr(_namespace(xp, name), name)(x, s=s, axes=axes, norm=norm)

    forward.__name__ = forward.__qualname__ = name
    return forward


def _shift_axes(shape: Sequence[int], axes: Any, name: str) -> tuple[int, ...]:
    if axes is None:
        return tuple(range(-len(shape), 0))
    return tuple(_axis(a, len(shape), name) for a in ((axes,) if isinstance(axes, int) else axes))


def _forward_shift(name: str, sign: int) -> Callable[..., Any]:
    # NumPy's fftshift is a roll by n // 2 (ifftshift: back); xp.roll keeps the dtype on
    # every backend (MLX's own fftshift turns float64 into float32).
    def forward(xp: Any, x: Any, axes: Any = None) -> Any:
        axes = _shift_axes(x.shape, axes, name)
        if not axes:
            return x
        return xp.roll(x, tuple(sign * (x.shape[a] // 2) for a in axes), axes)

    forward.__name__ = forward.__qualname__ = name
    return forward


def _frequencies(name: str) -> Callable[..., Any]:
    def forward(xp: Any, n: Any, d: Any = 1.0, dtype: Any = None) -> Any:
        n = operator.index(n)
        if n < 1:
            raise ValueError(f"n={n}; there are no frequencies for fewer than 1 sample")
        out = getattr(_namespace(xp, name), name)(n, d)
        return out if dtype is None else xp.astype(out, dtype)

    forward.__name__ = forward.__qualname__ = name
    return forward


# ---------------------------------------------------------------------------- adjoint helpers


def _fit(t: Any, axis: int, m: int) -> Any:
    """`t` truncated or zero-padded to length `m` along (negative) `axis`: P^T of the
    padding or truncation P that took an axis of length m to t's."""
    length = t.shape[axis]
    if length > m:
        return t[(Ellipsis, slice(0, m)) + (slice(None),) * (-axis - 1)]
    if length < m:
        return md.pad(t, pad_width={axis: (0, m - length)})
    return t


def _fit_all(t: Any, axes: Sequence[int], shape: Sequence[int]) -> Any:
    for a in axes:
        t = _fit(t, a, shape[a])
    return t


def _real_dtype(t: Any) -> Any:
    """The real dtype of t's precision: weights in it keep complex64 cotangents complex64."""
    return np.float32 if np.dtype(t.dtype) in (np.dtype(np.complex64), np.dtype(np.float32)) else np.float64


def _bin_weights(t: Any, n: int, axis: int, inner: float) -> Any:
    """Weights along `axis` for the n // 2 + 1 bins of a half spectrum of length-n signals:
    1 for DC (and Nyquist, for an even n), `inner` for the bins between them."""
    bins = n // 2 + 1
    weights = np.full(bins, inner)
    weights[0] = 1.0
    if n % 2 == 0:
        weights[-1] = 1.0
    weights = weights.reshape((bins,) + (1,) * (-axis - 1)).astype(_real_dtype(t))
    return md.tensor(weights, backend=t.backend.name)


def _halve(t: Any, n: int, axis: int) -> Any:
    return t * _bin_weights(t, n, axis, 0.5)


def _double(t: Any, n: int, axis: int) -> Any:
    return t * _bin_weights(t, n, axis, 2.0)


# ---------------------------------------------------------------------------- rules


def _fft_vjp(g: Any, ans: Any, x: Any, n: Any = None, axis: Any = -1, norm: Any = "backward") -> Any:
    n, axis, norm = _one(x.shape, n, axis, norm, "fft")
    return _fit(md.fft.ifft(g, axis=axis, norm=_DUAL[norm]), axis, x.shape[axis])


def _ifft_vjp(g: Any, ans: Any, x: Any, n: Any = None, axis: Any = -1, norm: Any = "backward") -> Any:
    n, axis, norm = _one(x.shape, n, axis, norm, "ifft")
    return _fit(md.fft.fft(g, axis=axis, norm=_DUAL[norm]), axis, x.shape[axis])


def _fftn_vjp(g: Any, ans: Any, x: Any, s: Any = None, axes: Any = None, norm: Any = "backward") -> Any:
    s, axes, norm = _many(x.shape, s, axes, norm, "fftn")
    return _fit_all(md.fft.ifftn(g, axes=axes, norm=_DUAL[norm]), axes, x.shape)


def _ifftn_vjp(g: Any, ans: Any, x: Any, s: Any = None, axes: Any = None, norm: Any = "backward") -> Any:
    s, axes, norm = _many(x.shape, s, axes, norm, "ifftn")
    return _fit_all(md.fft.fftn(g, axes=axes, norm=_DUAL[norm]), axes, x.shape)


def _rfft_vjp(g: Any, ans: Any, x: Any, n: Any = None, axis: Any = -1, norm: Any = "backward") -> Any:
    n, axis, norm = _one(x.shape, n, axis, norm, "rfft")
    return _fit(md.fft.irfft(_halve(g, n, axis), n=n, axis=axis, norm=_DUAL[norm]), axis, x.shape[axis])


def _irfft_vjp(g: Any, ans: Any, z: Any, n: Any = None, axis: Any = -1, norm: Any = "backward") -> Any:
    n, axis, norm = _one(z.shape, n, axis, norm, "irfft", inverse_real=True)
    return _fit(_double(md.fft.rfft(g, axis=axis, norm=_DUAL[norm]), n, axis), axis, z.shape[axis])


def _rfftn_vjp(g: Any, ans: Any, x: Any, s: Any = None, axes: Any = None, norm: Any = "backward") -> Any:
    s, axes, norm = _many(x.shape, s, axes, norm, "rfftn")
    # the halving is along the last axis only; the other axes' inverse DFTs commute with it
    spread = md.fft.irfftn(_halve(g, s[-1], axes[-1]), s=s, axes=axes, norm=_DUAL[norm])
    return _fit_all(spread, axes, x.shape)


def _irfftn_vjp(g: Any, ans: Any, z: Any, s: Any = None, axes: Any = None, norm: Any = "backward") -> Any:
    s, axes, norm = _many(z.shape, s, axes, norm, "irfftn", inverse_real=True)
    return _fit_all(_double(md.fft.rfftn(g, axes=axes, norm=_DUAL[norm]), s[-1], axes[-1]), axes, z.shape)


# ---------------------------------------------------------------------------- composites


def hfft(x: Any, n: Any = None, axis: Any = -1, norm: Any = "backward") -> Any:
    """hfft(x, /, *, n=None, axis=-1, norm='backward'): the (real) DFT of a signal with
    Hermitian symmetry, given by its first half `x`: NumPy's `irfft(conj(x))` with the
    opposite norm.

    >>> import minidiff as md
    >>> md.fft.hfft(md.tensor([1.0, 2.0, 3.0])).shape
    (4,)
    """
    return md.fft.irfft(md.conj(x), n=n, axis=axis, norm=_DUAL[_check_norm(norm, "hfft")])


def ihfft(x: Any, n: Any = None, axis: Any = -1, norm: Any = "backward") -> Any:
    """ihfft(x, /, *, n=None, axis=-1, norm='backward'): the first half of the inverse DFT of
    a real signal, `conj(rfft(x))` with the opposite norm, as in NumPy.

    >>> import minidiff as md
    >>> md.fft.ihfft(md.tensor([1.0, 2.0, 3.0, 4.0])).shape
    (3,)
    """
    return md.conj(md.fft.rfft(x, n=n, axis=axis, norm=_DUAL[_check_norm(norm, "ihfft")]))


def _two_d(name: str) -> Callable[..., Any]:
    """NumPy's 2-D form of an n-D transform: the same, over the last two axes by default."""
    def transform(x: Any, s: Any = None, axes: Any = (-2, -1), norm: Any = None) -> Any:
        return getattr(md.fft, name)(x, s=s, axes=axes, norm="backward" if norm is None else norm)

    transform.__name__ = transform.__qualname__ = name[:-1] + "2"
    transform.__doc__ = (f"{transform.__name__}(x, s=None, axes=(-2, -1), norm=None): NumPy's 2-D {name}, "
                         f"over the last two axes unless `axes` says otherwise.")
    return transform


# ---------------------------------------------------------------------------- batching rules (md.vmap)
# A transform maps over the axes it does not transform: the example's axes, made negative,
# are the same axes of the batch.


def _batch_one(name: str, inverse_real: bool = False) -> Callable[..., Any]:
    def rule(call: Callable[..., Any], args: tuple, batched: tuple, params: dict) -> Any:
        (x,) = args
        example = tuple(x.shape[1:])
        n, axis, norm = _one(example, params.get("n"), params.get("axis", -1), params.get("norm", "backward"), name,
                             inverse_real)
        return call(x, n=n, axis=axis, norm=norm)

    rule.__name__ = f"batch_{name}"
    return rule


def _batch_many(name: str, inverse_real: bool = False) -> Callable[..., Any]:
    def rule(call: Callable[..., Any], args: tuple, batched: tuple, params: dict) -> Any:
        (x,) = args
        example = tuple(x.shape[1:])
        s, axes, norm = _many(example, params.get("s"), params.get("axes"), params.get("norm", "backward"), name,
                              inverse_real)
        return call(x, s=s, axes=axes, norm=norm)

    rule.__name__ = f"batch_{name}"
    return rule


def _batch_shift(name: str) -> Callable[..., Any]:
    def rule(call: Callable[..., Any], args: tuple, batched: tuple, params: dict) -> Any:
        (x,) = args
        return call(x, axes=_shift_axes(tuple(x.shape[1:]), params.get("axes"), name))

    rule.__name__ = f"batch_{name}"
    return rule


# ---------------------------------------------------------------------------- samples
# Odd and even lengths (an even one has a Nyquist bin), padding and truncation through n
# and s, every norm, other axes than the last.

_ONE_D = (
    sample((8,)),
    sample((7,), norm="ortho"),
    sample((3, 6), axis=0, norm="forward"),
    sample((2, 5), n=8),  # zero-padded
    sample((2, 6), n=3, axis=1, norm="ortho"),  # truncated
    sample((4, 3), n=5, axis=-2),
)
_N_D = (
    sample((3, 4)),
    sample((2, 3, 5), axes=(0, 2), norm="ortho"),
    sample((3, 4), s=(5, 3), axes=(0, 1), norm="forward"),  # padded along 0, truncated along 1
    sample((2, 3, 4), s=(4, 6)),  # the last two axes
    sample((3, 5), axes=(1, 0), norm="ortho"),
    sample((2, 4, 3), s=(-1, 2), axes=(1, 2)),
)
# rfft's input is real: no complex variant (NumPy refuses complex input)
_REAL_ONE_D = tuple(sample(*s.args, complex=False, **s.params) for s in _ONE_D) + (
    sample((2, 9), n=6, norm="ortho", complex=False),
)
_REAL_N_D = tuple(sample(*s.args, complex=False, **s.params) for s in _N_D) + (
    sample((3, 5), s=(4, 7), complex=False),  # an odd last axis: no Nyquist bin
)
# irfft reads a half spectrum: of m bins, an even output length 2 (m - 1) by default
_HALF_ONE_D = (
    sample((5,)),
    sample((4,), n=7),  # odd: no Nyquist bin
    sample((3, 4), axis=0, norm="ortho"),
    sample((2, 3), n=10, norm="forward"),  # the spectrum zero-padded
    sample((2, 6), n=5, axis=1),  # the spectrum truncated
    sample((4, 3), n=4, axis=-2, norm="ortho"),
)
_HALF_N_D = (
    sample((3, 4)),
    sample((2, 3, 4), axes=(0, 2), norm="ortho"),
    sample((3, 4), s=(5, 5), axes=(0, 1), norm="forward"),  # odd last axis
    sample((2, 3, 3), s=(4, 6)),
    sample((4, 3), axes=(1, 0)),
)
_SHIFTS = (
    sample((5,)),
    sample((4, 6)),
    sample((3, 4, 5), axes=(0, 2)),
    sample((3, 4), axes=-1),
    sample((3, 5), axes=1),
)


def _reference(name: str) -> Callable[..., Any]:
    """NumPy's function with the standard's defaults resolved (NumPy 2 deprecates `s`
    without `axes`, and reads `-1` in `s` only from 2.0 on)."""
    function = getattr(np.fft, name)
    inverse_real = name in ("irfft", "irfftn")

    def reference(x: Any, s: Any = None, axes: Any = None, norm: Any = "backward") -> Any:
        s, axes, norm = _many(np.shape(x), s, axes, norm, name, inverse_real)
        return function(x, s=s, axes=axes, norm=norm)

    return reference


# ---------------------------------------------------------------------------- the table


def _one_d_op(name: str, vjp: Callable[..., Any], samples: tuple, real_input: bool = False,
              inverse_real: bool = False, doc: str = "") -> Op:
    return Op(name, _forward_one(name, real_input, inverse_real), vjp=(vjp,), namespace="fft",
              params={"n": None, "axis": -1, "norm": "backward"}, samples=samples,
              batch=_batch_one(name, inverse_real), complex=True, doc=doc)


def _n_d_op(name: str, vjp: Callable[..., Any], samples: tuple, real_input: bool = False,
            inverse_real: bool = False, doc: str = "") -> Op:
    return Op(name, _forward_many(name, real_input, inverse_real), vjp=(vjp,), namespace="fft",
              params={"s": None, "axes": None, "norm": "backward"}, samples=samples,
              reference=_reference(name), batch=_batch_many(name, inverse_real), complex=True, doc=doc)


OPS = [
    _one_d_op("fft", _fft_vjp, _ONE_D,
              doc="fft(x, /, *, n=None, axis=-1, norm='backward'): the 1-D DFT along `axis`, the input "
              "zero-padded or truncated to n points. Its gradient is the adjoint, an ifft with the dual norm."),
    _one_d_op("ifft", _ifft_vjp, _ONE_D,
              doc="ifft(x, /, *, n=None, axis=-1, norm='backward'): the 1-D inverse DFT along `axis`."),
    _n_d_op("fftn", _fftn_vjp, _N_D,
            doc="fftn(x, /, *, s=None, axes=None, norm='backward'): the DFT over `axes` (every axis, or the "
            "last len(s)), each zero-padded or truncated to the size in `s` (-1 keeps it)."),
    _n_d_op("ifftn", _ifftn_vjp, _N_D,
            doc="ifftn(x, /, *, s=None, axes=None, norm='backward'): the inverse DFT over `axes`."),
    _one_d_op("rfft", _rfft_vjp, _REAL_ONE_D, real_input=True,
              doc="rfft(x, /, *, n=None, axis=-1, norm='backward'): the n // 2 + 1 non-negative frequency "
              "bins of a real input's DFT. Complex input raises TypeError."),
    _one_d_op("irfft", _irfft_vjp, _HALF_ONE_D, inverse_real=True,
              doc="irfft(x, /, *, n=None, axis=-1, norm='backward'): the real signal of n points (default "
              "2 (m - 1)) whose half spectrum is x; the imaginary parts of DC and Nyquist are ignored."),
    _n_d_op("rfftn", _rfftn_vjp, _REAL_N_D, real_input=True,
            doc="rfftn(x, /, *, s=None, axes=None, norm='backward'): the DFT of a real input over `axes`, "
            "halved along the last of them."),
    _n_d_op("irfftn", _irfftn_vjp, _HALF_N_D, inverse_real=True,
            doc="irfftn(x, /, *, s=None, axes=None, norm='backward'): the inverse of rfftn; the last axis "
            "in `axes` is a half spectrum, of output length s[-1] (default 2 (m - 1))."),
    # NumPy's 2-D names (not the standard's), composites of the n-D transforms
    *(Op(f"{name[:-1]}2", composite=_two_d(name), namespace="fft", doc=_two_d(name).__doc__, complex=not real,
         samples=samples)
      for name, samples, real in (
          ("fftn", (sample((3, 4)), sample((2, 3, 5), s=(4, 4), norm="ortho")), False),
          ("ifftn", (sample((3, 4)), sample((4, 3, 2), axes=(0, 2))), False),
          ("rfftn", (sample((3, 4), complex=False), sample((2, 3, 5), s=(4, 3), complex=False)), True),
          ("irfftn", (sample((3, 4)), sample((2, 3, 4), s=(4, 5), norm="forward")), False),
      )),
    Op("hfft", composite=hfft, namespace="fft", doc=hfft.__doc__, complex=True, samples=_HALF_ONE_D),
    Op("ihfft", composite=ihfft, namespace="fft", doc=ihfft.__doc__, complex=True, samples=_REAL_ONE_D),
    Op("fftshift", _forward_shift("fftshift", 1), vjp=(lambda g, ans, x, axes=None: md.fft.ifftshift(g, axes=axes),),
       namespace="fft", params={"axes": None}, samples=_SHIFTS, batch=_batch_shift("fftshift"), complex=True,
       doc="fftshift(x, /, *, axes=None): the zero-frequency bin moved to the middle of each axis in `axes` "
       "(every axis by default)."),
    Op("ifftshift", _forward_shift("ifftshift", -1),
       vjp=(lambda g, ans, x, axes=None: md.fft.fftshift(g, axes=axes),), namespace="fft", params={"axes": None},
       samples=_SHIFTS, batch=_batch_shift("ifftshift"), complex=True,
       doc="ifftshift(x, /, *, axes=None): the inverse of fftshift (they differ for odd lengths)."),
    Op("fftfreq", _frequencies("fftfreq"), namespace="fft", creation=True, nargs=0,
       samples=(sample(8), sample(7, d=0.25), sample(4, d=2.0, dtype=np.float32)),
       reference=lambda n, d=1.0, dtype=None: np.fft.fftfreq(n, d).astype(dtype or np.float64),
       doc="fftfreq(n, /, *, d=1.0, device=None): the DFT's sample frequencies for n samples spaced d apart, "
       "[0, 1, ..., -1] / (d n)."),
    Op("rfftfreq", _frequencies("rfftfreq"), namespace="fft", creation=True, nargs=0,
       samples=(sample(8), sample(7, d=0.25), sample(4, d=2.0, dtype=np.float32)),
       reference=lambda n, d=1.0, dtype=None: np.fft.rfftfreq(n, d).astype(dtype or np.float64),
       doc="rfftfreq(n, /, *, d=1.0, device=None): the non-negative sample frequencies, those of rfft's bins."),
]


@hookimpl
def minidiff_register_ops(registry) -> None:
    for op in OPS:
        registry.add_op(op)
