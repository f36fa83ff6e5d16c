"""The import structure: jobs never depend on the worker, and importing registers nothing."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import billecta_gateway
from billecta_gateway.lime.hooks import ObjectHooks, register_hooks

PACKAGE_DIR = Path(billecta_gateway.__file__).resolve().parent
WORKER = "billecta_gateway.worker"


def module_name(path: Path, root: Path = PACKAGE_DIR.parent) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(path: Path, root: Path = PACKAGE_DIR.parent) -> Iterator[str]:
    """Every module an `import` anywhere in the file names (type-only and lazy ones too)."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def modules_below_the_worker() -> list[Path]:
    """Every module of a subpackage: the domains, tasks/, scheduled/, billecta/, lime/, ..."""
    return sorted(
        path
        for path in PACKAGE_DIR.rglob("*.py")
        if len(path.relative_to(PACKAGE_DIR).parts) > 1 and path.name != "__main__.py"
    )


def test_the_walk_sees_every_kind_of_import(tmp_path: Path) -> None:
    package = tmp_path / "billecta_gateway" / "tasks"
    package.mkdir(parents=True)
    sample = package / "sample.py"
    sample.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from billecta_gateway.worker import WorkerContext\n"
        "def later():\n"
        "    from .. import worker\n"
        "    import billecta_gateway.worker\n"
    )
    assert list(imported_names(sample, root=tmp_path)).count(WORKER) == 3


def test_no_module_below_the_worker_imports_it() -> None:
    modules = modules_below_the_worker()
    assert len(modules) > 100
    offenders = [module_name(path) for path in modules if WORKER in set(imported_names(path))]
    assert offenders == []


def test_importing_every_module_below_the_worker_neither_loads_it_nor_registers_hooks() -> None:
    names = [module_name(path) for path in modules_below_the_worker()]
    script = (
        "import importlib, json, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "import billecta_gateway.main\n"
        "from billecta_gateway.lime.hooks import hooks\n"
        "from billecta_gateway.models import LIMETYPES\n"
        "registered = sum(len(hooks.upsert_hooks(t)) + len(hooks.delete_hooks(t)) "
        "for t in LIMETYPES)\n"
        "print(json.dumps({'worker': 'billecta_gateway.worker' in sys.modules, "
        "'registered': registered}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(result.stdout.splitlines()[-1]) == {"worker": False, "registered": 0}


def _table(registry: ObjectHooks) -> dict[str, list[str]]:
    from billecta_gateway.models import LIMETYPES

    table = {}
    for limetype in sorted(LIMETYPES):
        names = [f"after_upsert:{hook.__name__}" for hook in registry.upsert_hooks(limetype)]
        names += [f"before_delete:{hook.__name__}" for hook in registry.delete_hooks(limetype)]
        if names:
            table[limetype] = names
    return table


def test_register_hooks_names_every_callback_once_however_often_it_runs() -> None:
    registry = register_hooks(ObjectHooks())
    expected = {
        "article": ["after_upsert:upsert_changed_article"],
        "creditorarticle": ["after_upsert:upsert_article_of_relation"],
        "creditordebtor": ["after_upsert:upsert_debtor_of_relation"],
        "debtor": ["after_upsert:upsert_changed_debtor"],
        "order": ["after_upsert:upsert_changed_order"],
        # The guard first: a refused delete must not queue a re-upsert.
        "orderrow": [
            "after_upsert:resync_orders_of_row",
            "before_delete:guard_order_row_delete",
            "before_delete:resync_order_of_deleted_row",
        ],
        "person": ["after_upsert:sync_debtors_of_person"],
        "company": ["after_upsert:upsert_debtors_of_company"],
    }
    assert _table(registry) == expected
    register_hooks(registry)
    assert _table(registry) == expected
