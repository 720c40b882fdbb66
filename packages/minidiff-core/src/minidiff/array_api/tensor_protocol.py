"""The Tensor attributes the Array API standard asks for, as a mixin `Tensor` inherits.

A Tensor's `device` is the name of its backend (`"numpy"`, `"mlx"`, ...): minidiff's
devices are its installed backends, so `to_device("mlx")` is `to("mlx")` and
`md.zeros(3, device=x.device)` makes a tensor where `x` lives. DLPack goes through the
backend's arrays where they have it (a capability, read from the array, not the backend's name).

>>> import minidiff as md
>>> x = md.Tensor([[1.0, 2.0, 3.0]])
>>> x.__array_namespace__() is md, x.device, x.mT.shape
(True, 'numpy', (3, 1))
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from minidiff._tensor import Tensor

#: the versions of the standard `__array_namespace__` accepts (minidiff implements the last)
SUPPORTED_VERSIONS = ("2021.12", "2022.12", "2023.12")


class ArrayAPIProtocol:
    """The standard's array attributes; a mixin of `minidiff.Tensor` (no state of its own)."""

    __slots__ = ()

    def __array_namespace__(self, *, api_version: str | None = None) -> Any:
        """The namespace of the standard's functions: the `minidiff` module.

        >>> import minidiff as md
        >>> md.Tensor([1.0]).__array_namespace__(api_version="2023.12") is md
        True
        """
        if api_version is not None and api_version not in SUPPORTED_VERSIONS:
            raise ValueError(
                f"minidiff implements the Array API standard {SUPPORTED_VERSIONS[-1]}; "
                f"api_version={api_version!r} is not one of {', '.join(SUPPORTED_VERSIONS)}"
            )
        import minidiff

        return minidiff

    @property
    def device(self: Tensor) -> str:  # type: ignore[misc]
        """Where the tensor lives: the name of its backend (`"numpy"`), what `device=` takes.

        >>> import minidiff as md
        >>> md.Tensor([1.0]).device
        'numpy'
        """
        return self.backend.name

    def to_device(self: Tensor, device: str, /, *, stream: Any = None) -> Tensor:  # type: ignore[misc]
        """The tensor on `device` (a backend name), as `to(device)`: not differentiable
        across backends; the same tensor when it is already there.

        >>> import minidiff as md
        >>> x = md.Tensor([1.0])
        >>> x.to_device("numpy") is x
        True
        """
        if stream is not None:
            raise ValueError("to_device(stream=...): minidiff backends take no stream")
        return self.to(device_name(device))

    @property
    def mT(self: Tensor) -> Tensor:  # type: ignore[misc]
        """The last two axes swapped (a stack of matrices transposed), differentiable.

        >>> import minidiff as md
        >>> md.zeros((4, 2, 3)).mT.shape
        (4, 3, 2)
        """
        if self.ndim < 2:
            raise ValueError(f"mT needs a tensor of at least 2 dimensions, got shape {self.shape}")
        from minidiff.optable import ops

        return ops.swapaxes(self, -1, -2)

    # The shift operators of the standard, which NumPy's arrays have too; `x <<= y`
    # falls back on `x = x << y`.
    def __lshift__(self, other: Any) -> Tensor:
        from minidiff.optable import ops

        return ops.left_shift(self, other)

    def __rlshift__(self, other: Any) -> Tensor:
        from minidiff.optable import ops

        return ops.left_shift(other, self)

    def __rshift__(self, other: Any) -> Tensor:
        from minidiff.optable import ops

        return ops.right_shift(self, other)

    def __rrshift__(self, other: Any) -> Tensor:
        from minidiff.optable import ops

        return ops.right_shift(other, self)

    def __dlpack__(
        self: Tensor,  # type: ignore[misc]
        *,
        stream: Any = None,
        max_version: tuple[int, int] | None = None,
        dl_device: Any = None,
        copy: bool | None = None,
    ) -> Any:
        """The tensor's values as a DLPack capsule, where the backend's arrays export one.
        Leaves the graph: a consumer of the capsule gets values, not gradients."""
        data = _dlpack_source(self)
        kwargs = {
            k: v
            for k, v in (("stream", stream), ("max_version", max_version), ("dl_device", dl_device), ("copy", copy))
            if v is not None
        }
        return data.__dlpack__(**kwargs)

    def __dlpack_device__(self: Tensor) -> tuple[Any, int]:  # type: ignore[misc]
        """The DLPack `(device type, device id)` of the tensor's values."""
        return _dlpack_source(self).__dlpack_device__()


def _dlpack_source(tensor: Tensor) -> Any:
    data = tensor.data
    if not hasattr(data, "__dlpack__"):
        raise BufferError(
            f"the {tensor.backend.name!r} backend's arrays ({type(data).__name__}) do not export DLPack; "
            f"move the tensor first, e.g. t.to('numpy')"
        )
    return data


def device_name(device: Any) -> str:
    """The backend name a `device=` argument stands for: a name, or a Tensor's `device`."""
    if isinstance(device, str):
        return device
    raise TypeError(
        f"device must be a backend name such as 'numpy' (a Tensor's .device), got {type(device).__name__} {device!r}"
    )


def check_device(xp: Any, device: Any, what: str) -> None:
    """Refuse a `device=` that names another backend than the one running (`xp`): functions
    that make their result where their operand is may not move it silently."""
    if device is not None:
        from minidiff.config import get_backend

        if get_backend(device_name(device)).xp is not xp:
            raise ValueError(f"{what}(device={device!r}): the result stays on the operand's backend; "
                             f"move it with .to_device({device!r})")
