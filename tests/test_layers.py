"""Dependencies point one way: domain ← service core ← interface (web, api, cli, workers).

An AST walk over every module (function-local imports included, so a cycle cannot hide
inside a function) and a fresh interpreter that imports the domain and the core and
looks at what got loaded.  docs/decisions.md ("Layers") says which module is in which layer.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("service", "workers")
# The interface layer: what turns a request, a command line or a job into a call of the core.
INTERFACE = (
    "service.app",
    "service.errors",
    "service.access",
    "service.security",
    "service.request_db",
    "service.web",
    "service.api",
    "service.cli",
    "service.wsgi",
    "workers",
)
WEB_FRAMEWORK = ("flask", "flask_login", "flask_wtf", "apiflask")
# Alembic's scripts (core: they import the models): Alembic runs them from their files; they are not
# importable modules (env.py needs Alembic's context, revision files start with a digit).
SCRIPTS = ("service.migrations",)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))}


@cache
def _imports(name: str, path: Path) -> frozenset[str]:
    """Every module NAME imports, anywhere in the file, as absolute dotted names."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)  # `from . import access`
    return frozenset(found - {"__future__"})


def _within(module: str, prefixes) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _layer(module: str) -> str:
    if _within(module, ("service.domain",)):
        return "domain"
    if _within(module, INTERFACE):
        return "interface"
    return "core"


MODULES = _modules()
PROJECT = set(MODULES)


def _project_imports(name: str) -> set[str]:
    """The project's own modules NAME imports (`from .x import f` names module x, not f)."""
    return {m for m in _imports(name, MODULES[name]) if m in PROJECT}


def test_the_walk_sees_every_layer():
    layers = {_layer(name) for name in MODULES}
    assert layers == {"domain", "core", "interface"}
    assert _project_imports("service.app") >= {"service.web", "service.api", "service.access"}
    assert "service.domain.periods" in _project_imports("service.domain.status")


@pytest.mark.parametrize("name", sorted(n for n in MODULES if _layer(n) == "domain"))
def test_the_domain_imports_only_itself_and_the_standard_library(name):
    outside = sorted(
        m
        for m in _imports(name, MODULES[name])
        if not _within(m, ("service.domain",)) and m.split(".")[0] not in sys.stdlib_module_names
    )
    assert outside == [], f"{name} imports {outside}"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if _layer(n) == "core"))
def test_the_core_never_imports_the_interface_or_the_web_framework(name):
    imported = _imports(name, MODULES[name])
    wrong = sorted(m for m in imported if (m in PROJECT and _layer(m) == "interface") or _within(m, WEB_FRAMEWORK))
    assert wrong == [], f"{name} imports {wrong}"


def test_the_pages_and_the_api_do_not_import_each_other():
    crossings = {
        (name, m)
        for name in MODULES
        for m in _project_imports(name)
        if (_within(name, ("service.web",)) and _within(m, ("service.api",)))
        or (_within(name, ("service.api",)) and _within(m, ("service.web",)))
    }
    assert crossings == set(), sorted(crossings)


def test_service_package_is_only_a_docstring():
    tree = ast.parse((ROOT / "service" / "__init__.py").read_text(encoding="utf-8"))
    assert len(tree.body) == 1 and isinstance(tree.body[0], ast.Expr) and isinstance(tree.body[0].value, ast.Constant)


@pytest.mark.processes  # a fresh interpreter
def test_importing_the_domain_and_the_core_loads_no_web_framework():
    core = sorted(n for n in MODULES if _layer(n) != "interface" and not _within(n, SCRIPTS))
    script = (
        "import importlib, sys\n"
        f"for name in {core!r}:\n    importlib.import_module(name)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {WEB_FRAMEWORK!r}))"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.processes  # a fresh interpreter
def test_a_web_worker_or_job_process_loads_no_office_reader_until_a_file_comes_in():
    """Every process (each gunicorn and RQ worker, each command) imports the app, the jobs and the CLI;
    openpyxl and python-docx, 0.3 s of that on a small machine, are loaded only to read an upload."""
    script = (
        "import sys, service.app, service.cli, workers.jobs\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('openpyxl', 'docx')))"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.processes  # a fresh interpreter running the role as `perftrack worker --burst` does
def test_a_worker_process_loads_no_web_stack_and_keeps_the_configured_day(worker_env):
    """RQ workers and the scheduler serve no request: they read their settings without creating the app, so
    they load neither the pages nor the API (half a second and their memory in every such process), and
    configure the clock as the app would.  (apiflask itself comes in with Flask's CLI, as a plugin command.)"""
    script = (
        "import sys\n"
        "from service.cli import main\n"
        "from service.clock import clock\n"
        "main(['worker', '--burst'], standalone_mode=False)\n"
        "web = ('service.web', 'service.api', 'service.app', 'flask_login', 'flask_wtf')\n"
        "print(sorted(m for m in sys.modules if m.startswith(web)))\n"
        "print(clock.today().isoformat())"
    )
    env = {**os.environ, "PERFTRACK_TODAY": "2025-10-05"}
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[-3:] == ["[]", "2025-10-05", ""], result.stdout
