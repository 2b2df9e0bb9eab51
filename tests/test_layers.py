"""The package layering of docs/ARCHITECTURE.md, checked on the source: a lower layer
never imports a higher one."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "inspector"

# package -> what it may import besides itself (docs/ARCHITECTURE.md, "Packages and what each may import")
ALLOWED: dict[str, set[str]] = {
    "model": {"http2.frames"},
    "flows": set(),
    "errors": set(),
    "tls": {"errors"},
    "findings": {"model", "http2.frames", "errors"},
    "http2": {"model", "flows", "tls", "errors", "findings"},
    "capture": {"model", "flows", "errors", "tls", "http2", "findings", "proxy.spool"},  # a pipe's payloads, kept
    "rpc": {"model", "http2", "errors", "findings"},
    "views": {"model", "http2", "rpc", "errors", "findings", "tutorial.phrases"},
    "proxy": {"model", "flows", "http2", "errors", "findings", "views"},
    "tui": {"model", "http2", "rpc", "capture", "views", "errors", "findings", "proxy.recorder"},  # its pcapng writer
    "demo": set(),
}
# Session.calls and Session.findings_engine: imported on first use (see model.py)
LAZY = {("model", "rpc.calls"), ("model", "findings.engine")}


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(inspector module imported, at top level) for every import of inspector in a file."""
    tree = ast.parse(path.read_text())
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("inspector."):
            found.append((node.module.removeprefix("inspector."), id(node) in top))
        elif isinstance(node, ast.Import):
            found += [(a.name.removeprefix("inspector."), id(node) in top) for a in node.names
                      if a.name.startswith("inspector.")]
    return found


def _allowed(layer: str, target: str) -> bool:
    if target.split(".")[0] == layer:
        return True
    return any(target == a or target.startswith(a + ".") for a in ALLOWED[layer])


def test_no_package_imports_a_layer_above_it():
    broken = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        layer = rel.parts[0].removesuffix(".py")
        if layer not in ALLOWED:
            continue
        for target, _ in _imports(path):
            if not _allowed(layer, target) and (layer, target) not in LAZY:
                broken.append(f"{rel} imports inspector.{target}")
    assert not broken, broken
    assert any(layer == "model" for layer, _ in LAZY)  # the one exception is still the one written down


def test_the_lazy_imports_of_the_model_are_not_at_top_level():
    for target in ("rpc.calls", "findings.engine"):
        assert (target, False) in _imports(PACKAGE / "model.py")
        assert (target, True) not in _imports(PACKAGE / "model.py")
