"""Which backend new tensors use.

First match wins:

1. an explicit ``backend=`` argument (or ``t.to(name)``);
2. the innermost ``with md.use_backend(name):`` block;
3. ``md.set_backend(name)`` (process-wide);
4. the ``MINIDIFF_BACKEND`` environment variable;
5. ``backend = ...`` in the nearest ``minidiff.toml``, or ``[tool.minidiff] backend = ...`` in
   the nearest ``pyproject.toml`` that has that table, searching from the working directory
   up (a ``minidiff.toml`` wins over a ``pyproject.toml`` in the same folder);
6. the user config file ``$XDG_CONFIG_HOME/minidiff/config.toml`` (default
   ``~/.config/minidiff/config.toml``): ``backend = ...``;
7. ``"numpy"``.

Layers 4–6 are read once, on first use, and cached; ``md.reload_config()`` reads them again.

A backend's own settings sit in a table named after it, in the same files: ``[tool.minidiff.dask]``
in a ``pyproject.toml``, ``[dask]`` in a ``minidiff.toml`` or the user file. `backend_settings`
reads the nearest one, searching in the same order (the project files upwards, then the user file).

A settings file that cannot be read (invalid TOML, such as an unrelated broken
``pyproject.toml`` in a parent folder, bad encoding, no permission) is skipped with a
`ConfigWarning` naming the file and, where the parser says, the line; the search goes on
as if the file were not there (the next folder up, then the user file, then the default).
So does a working directory that no longer exists: layer 5 is skipped with a warning. A key
minidiff does not know in its own table (``[tool.minidiff]``, ``minidiff.toml``, the user
file) is ignored with a warning naming the known keys. A ``backend`` setting that is not a
non-empty string raises, as an unknown backend name does: it is meant for minidiff and
cannot be honoured.
``minidiff info`` prints the active backend and the layer that chose it. A name that no
installed plugin registers raises ValueError listing the installed backends and how to
install the missing one; a registered backend that cannot run here (CuPy without a GPU)
raises `BackendUnavailable` with the reason. Nothing falls back silently.

Threads and context variables: ``use_backend`` sets a `contextvars.ContextVar`, as
``md.no_grad`` does, so a block affects only the thread (or asyncio task) that entered it.
An asyncio task copies its creator's context when it is created, so it inherits the
block's backend; a new ``threading.Thread`` (and a thread-pool worker) starts from an
empty context on Python < 3.14 GIL builds and does not: run the work through
``contextvars.copy_context().run`` to carry the block over. ``set_backend`` is a plain
process-wide setting that every thread sees.
"""

from __future__ import annotations

import os
import re
import warnings
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from minidiff import plugins

if TYPE_CHECKING:
    from minidiff.backend import Backend

DEFAULT_BACKEND = "numpy"

#: The keys minidiff reads from its settings tables; any other key gets a `ConfigWarning`.
KNOWN_KEYS: tuple[str, ...] = ("backend",)


class ConfigWarning(UserWarning):
    """A settings file (or key) minidiff could not use; the setting falls through to the next layer."""

#: How to install the backends minidiff knows of, for the error that names a missing one.
INSTALL_COMMANDS = {
    "numpy": "pip install minidiff-numpy",
    "cupy": 'pip install "minidiff[cuda]"',
    "mlx": 'pip install "minidiff[mlx]"',
    "dask": 'pip install "minidiff[dask]"',
}

_scoped: ContextVar[str | None] = ContextVar("minidiff_backend", default=None)
_process_wide: str | None = None


def set_backend(name: str | None) -> None:
    """Make `name` the backend of new tensors for the whole process, in every thread
    (`None` clears it). Raises at once for an unknown or unusable backend.

    >>> import minidiff as md
    >>> md.set_backend("numpy"); md.get_backend().name
    'numpy'
    >>> md.set_backend(None)
    """
    global _process_wide
    if name is not None:
        _resolve(name, "md.set_backend()")  # fail now, not at the next tensor
    _process_wide = name


@contextmanager
def use_backend(name: str) -> Iterator[Backend]:
    """Use backend `name` for new tensors inside the block, in this thread or asyncio task
    only (a context variable; see the module docstring for threads).

    >>> import minidiff as md
    >>> with md.use_backend("numpy"):
    ...     md.zeros(2).backend.name
    'numpy'
    """
    backend = _resolve(name, "md.use_backend()")
    token = _scoped.set(name)
    try:
        yield backend
    finally:
        _scoped.reset(token)


def get_backend(name: str | None = None) -> Backend:
    """The backend named `name`, or the one new tensors use now.

    >>> import minidiff as md
    >>> md.get_backend("numpy").name
    'numpy'
    """
    if name:
        return _resolve(name, "")
    active, layer = decide()
    return _resolve(active, layer)


def decide() -> tuple[str, str]:
    """The active backend's name and the configuration layer that chose it."""
    scoped = _scoped.get()
    if scoped is not None:
        return scoped, "md.use_backend()"
    if _process_wide is not None:
        return _process_wide, "md.set_backend()"
    return _from_environment()


def _resolve(name: str, layer: str) -> Backend:
    try:
        return plugins.backend(name)
    except ValueError:
        pass  # an unknown name: explain it here, where the layer that chose it is known
    if not isinstance(name, str):
        raise TypeError(f"a backend is named by a string such as 'numpy', got {type(name).__name__!r}")
    installed = ", ".join(repr(n) for n in plugins.backend_names()) or "none"
    chosen = f" (chosen by {layer})" if layer else ""
    hint = (
        f"install it with: {INSTALL_COMMANDS[name]}"
        if name in INSTALL_COMMANDS
        else f"check the spelling; known backends are {', '.join(repr(n) for n in INSTALL_COMMANDS)}"
    )
    raise ValueError(f"unknown minidiff backend {name!r}{chosen}; installed backends: {installed}; {hint}")


@lru_cache(maxsize=1)
def _from_environment() -> tuple[str, str]:
    env = os.environ.get("MINIDIFF_BACKEND", "").strip()
    if env:
        return env, "MINIDIFF_BACKEND environment variable"
    try:
        start: Path | None = Path.cwd()
    except OSError as exc:  # FileNotFoundError when the working directory has been deleted
        _warn(
            f"the working directory cannot be read ({type(exc).__name__}: {exc}), so no minidiff.toml or "
            f"pyproject.toml is searched for minidiff's settings; the user config file and then the default apply"
        )
        start = None
    found = _project_setting(start) if start is not None else None
    if found:
        return found
    user_file = user_config_path()
    name = _read_toml(user_file, ()) if user_file is not None else None
    if name:
        return name, f"user config file {user_file}"
    return DEFAULT_BACKEND, "default"


def user_config_path() -> Path | None:
    """`$XDG_CONFIG_HOME/minidiff/config.toml`, or `~/.config/minidiff/config.toml`
    (None when there is neither an XDG_CONFIG_HOME nor a home folder)."""
    xdg = os.environ.get("XDG_CONFIG_HOME")
    if not xdg:
        try:
            xdg = str(Path.home() / ".config")
        except RuntimeError:  # no HOME and no password entry: there is no user file to read
            return None
    return Path(xdg) / "minidiff" / "config.toml"


#: Where minidiff's table sits in each project file, nearest first within a folder.
_PROJECT_FILES = (("minidiff.toml", ()), ("pyproject.toml", ("tool", "minidiff")))


def _project_setting(start: Path) -> tuple[str, str] | None:
    for folder in (start, *start.parents):
        for filename, keys in _PROJECT_FILES:
            path = folder / filename
            name = _read_toml(path, keys)
            if name:
                return name, f"{path}"
    return None


@lru_cache(maxsize=None)
def backend_settings(name: str) -> tuple[dict[str, Any], str]:
    """The settings table of backend `name` and the file it came from, or ``({}, "")``.

    The nearest project file with the table wins (``[tool.minidiff.<name>]`` in a
    ``pyproject.toml``, ``[<name>]`` in a ``minidiff.toml``; searched as for ``backend``),
    then ``[<name>]`` in the user config file. The backend checks the keys it reads.
    Cached, as the other settings; ``md.reload_config()`` reads again.

    >>> backend_settings("no-such-backend")
    ({}, '')
    """
    try:
        folders: tuple[Path, ...] = (Path.cwd(), *Path.cwd().parents)
    except OSError:  # a deleted working directory: `_from_environment` warns about it
        folders = ()
    candidates = [(folder / filename, keys) for folder in folders for filename, keys in _PROJECT_FILES]
    user_file = user_config_path()
    if user_file is not None:
        candidates.append((user_file, ()))
    for path, keys in candidates:
        table = _table(path, keys)
        found = table.get(name) if table is not None else None
        if found is None:
            continue
        where = f"[{'.'.join((*keys, name))}] of {path}"
        if not isinstance(found, dict):
            raise ValueError(f"{'.'.join((*keys, name))} in {path} must be a table of {name!r} backend settings, got {found!r}")
        return dict(found), where
    return {}, ""


def _read_toml(path: Path, keys: tuple[str, ...]) -> str | None:
    """The `backend` setting under `keys` in the TOML file `path`; None when it has none or
    cannot be read (with a `ConfigWarning`), so the search goes on."""
    table = _table(path, keys)
    if table is None:
        return None
    where = "[" + ".".join(keys) + "] of " if keys else ""
    for key, value in table.items():
        # a table named after a backend holds that backend's settings (`backend_settings`)
        if key not in KNOWN_KEYS and not (isinstance(value, dict) and key in plugins.backend_names()):
            _warn_unknown_key(path, where, key)
    backend = table.get("backend")
    if backend is None:
        return None
    setting = ".".join((*keys, "backend"))
    if not isinstance(backend, str) or not backend.strip():
        raise ValueError(f"{setting} in {path} must name a backend, such as \"numpy\"; got {backend!r}")
    return backend.strip()


def _table(path: Path, keys: tuple[str, ...]) -> dict[str, Any] | None:
    """minidiff's table (under `keys`) in the TOML file `path`; None when the file has none or
    cannot be read (with a `ConfigWarning`), so the search goes on."""
    try:
        if not path.is_file():
            return None
    except OSError as exc:  # e.g. a parent folder without permission to look inside
        _warn(f"cannot look for minidiff's settings in {path} ({exc}); skipped")
        return None
    import tomllib  # here, not at the top: ~3 ms, spent only when a settings file exists

    try:
        with path.open("rb") as handle:
            table = tomllib.load(handle)
    except (OSError, ValueError) as exc:  # ValueError: TOMLDecodeError, UnicodeDecodeError
        _warn(
            f"cannot read {path}: {type(exc).__name__}: {exc}. The file is skipped, with any minidiff "
            f"settings in it; minidiff looks further (parent folders, the user config file, the default)"
        )
        return None
    for depth, key in enumerate(keys):
        table = table.get(key) if isinstance(table, dict) else None
        if table is None:
            return None
        if not isinstance(table, dict):
            if depth + 1 < len(keys):
                return None  # `tool` that is not a table: not minidiff's business
            raise ValueError(f"{'.'.join(keys)} in {path} must be a table of minidiff settings, got {table!r}")
    return table


def _warn_unknown_key(path: Path, where: str, key: str) -> None:
    import difflib

    close = difflib.get_close_matches(key, KNOWN_KEYS, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    line = _line_of(path, key)
    at = f", line {line}" if line else ""
    known = ", ".join(repr(k) for k in KNOWN_KEYS)
    _warn(f"unknown key {key!r} in {where}{path}{at} is ignored{hint}; known keys: {known}")


def _line_of(path: Path, key: str) -> int | None:
    """The line where `key` is set in `path`, as a best effort for the warning (None: not found)."""
    pattern = re.compile(rf"""^\s*(?:[\w.-]+\.)?["']?{re.escape(key)}["']?\s*=""")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, ValueError):
        return None
    return next((number for number, text in enumerate(lines, 1) if pattern.match(text)), None)


def _warn(message: str) -> None:
    warnings.warn(message, ConfigWarning, stacklevel=3)


def reload_config() -> None:
    """Read the environment variable and the config files again."""
    _from_environment.cache_clear()
    backend_settings.cache_clear()
