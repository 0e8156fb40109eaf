"""One door per library: a third-party library's private names (`_name`) are used only in the
seam module named for it (`*_seams.py`), so an upgrade that moves one fails in one place, by
name, not somewhere at run time.

What counts, read from the code and the libraries' own sources:
- importing a private name from a library;
- in a class of ours that subclasses a library's class, reading, setting or overriding a
  private name that class (or a library class above it) has;
- reading a private attribute of another object whose name is private in a library the module
  imports and is not a name of ours.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ROOT / "services"
NAMEDTUPLE_API = frozenset({"_replace", "_asdict", "_make", "_fields"})  # public, by convention
# The libraries whose classes the services extend or whose objects they reach into.
LIBRARIES = frozenset({"grpclib", "h2", "hpack", "hyperframe", "hypercorn", "uvicorn",
                       "httptools", "betterproto2", "starlette", "aiohttp", "asyncpg", "pydantic",
                       "connectrpc"})  # fmt: skip


def third_party(module: str) -> bool:
    return module.split(".", maxsplit=1)[0] in LIBRARIES


def _named_in(tree: ast.AST) -> set[str]:
    """Every attribute a tree reads or sets and every function it defines."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
    return names


def _private(names: set[str]) -> frozenset[str]:
    return frozenset(n for n in names if n.startswith("_") and not n.startswith("__"))


@cache
def private_names_of_library(top: str) -> frozenset[str]:
    """Every `_name` a library's own code defines or reads on an object."""
    root = Path(importlib.import_module(top).__file__ or "").parent
    names: set[str] = set()
    for path in root.rglob("*.py"):
        try:
            names |= _named_in(ast.parse(path.read_text(encoding="utf-8")))
        except (SyntaxError, UnicodeDecodeError):
            continue
    return _private(names)


@cache
def private_names_of_class(cls: type) -> frozenset[str]:
    """The private names a library class (and the library classes above it) define or use."""
    names: set[str] = set()
    for klass in cls.__mro__:
        if not third_party(klass.__module__) or klass is object:
            continue
        try:
            names |= _named_in(ast.parse(inspect.getsource(klass).lstrip()))  # nested: indented
        except (OSError, TypeError, SyntaxError):
            names |= private_names_of_library(klass.__module__.split(".")[0])
            continue
        names |= set(vars(klass))
    return _private(names)


@cache
def names_of_ours() -> frozenset[str]:
    """Private names our own code defines: attributes set on self, slots, methods, fields."""
    names: set[str] = set()
    for path in SERVICES.rglob("*.py"):
        if path.name.endswith("_seams.py"):  # what a seam names is the library's
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)
                            and target.value.id in ("self", "cls")):  # fmt: skip
                        names.add(target.attr)
                    elif isinstance(target, ast.Name):
                        names.add(target.id)
                    if isinstance(target, ast.Name) and target.id == "__slots__":
                        names |= {c.value for c in ast.walk(node) if isinstance(c, ast.Constant)
                                  and isinstance(c.value, str)}  # fmt: skip
    return frozenset(n for n in names if n.startswith("_"))


def uses_in(path: Path) -> list[str]:
    """Where one module of ours uses a library's private names."""
    module_name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    tree = ast.parse(path.read_text())
    libraries = set()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if third_party(node.module):
                libraries.add(node.module.split(".")[0])
                found += [f"imports {a.name} from {node.module}" for a in node.names
                          if a.name.startswith("_")]  # fmt: skip
        elif isinstance(node, ast.Import):
            libraries |= {a.name.split(".")[0] for a in node.names if third_party(a.name)}
    module = importlib.import_module(module_name)
    for node in ast.walk(tree):
        if not isinstance(node, ast.ClassDef):
            continue
        cls = getattr(module, node.name, None)
        if not isinstance(cls, type) or not any(third_party(k.__module__) for k in cls.__mro__[1:]
                                                if k is not object):  # fmt: skip
            continue
        theirs = private_names_of_class(cls)
        for inner in ast.walk(node):
            own = isinstance(inner, ast.Attribute) and (
                (isinstance(inner.value, ast.Name) and inner.value.id in ("self", "cls"))
                or (isinstance(inner.value, ast.Call) and ast.unparse(inner.value) == "super()")
            )
            if own and inner.attr in theirs:  # type: ignore[union-attr]
                found.append(f"{node.name}: {ast.unparse(inner)} (line {inner.lineno})")
            if isinstance(inner, ast.FunctionDef | ast.AsyncFunctionDef) and inner.name in theirs:
                found.append(f"{node.name}: overrides {inner.name} (line {inner.lineno})")
    theirs_any = frozenset().union(*(private_names_of_library(lib) for lib in libraries))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in theirs_any
            and node.attr not in names_of_ours()
            and node.attr not in NAMEDTUPLE_API
            and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
        ):
            found.append(f"{ast.unparse(node)} (line {node.lineno})")
    return found


def test_private_names_of_libraries_stay_behind_their_seams() -> None:
    outside = {}
    for path in sorted(SERVICES.rglob("*.py")):
        where = str(path.relative_to(ROOT))
        if path.name.endswith("_seams.py"):
            continue
        if uses := uses_in(path):
            outside[where] = uses
    assert not outside, f"private names of a library outside its seam module: {outside}"


def test_each_seam_module_holds_private_names() -> None:
    """The check sees them where they are (a seam that no longer needs any should go)."""
    seams = sorted(p.name for p in SERVICES.rglob("*_seams.py"))
    assert seams == [
        "betterproto2_seams.py", "grpclib_seams.py", "hypercorn_seams.py", "uvicorn_seams.py"
    ]  # fmt: skip
    for path in SERVICES.rglob("*_seams.py"):
        assert uses_in(path), path
