"""`make lint` fails on an import loop inside an app, and passes on the tree as it is.

The contracts live in pyproject.toml (import-linter): apps import only from apps above them,
and the modules of an app import each other without a loop. Here the source tree is copied
to a temporary folder, one loop is added to the copy, and import-linter is run on it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of src/ and pyproject.toml, which import-linter reads as the project."""
    shutil.copytree(
        ROOT / "src",
        tmp_path / "src",
        ignore=shutil.ignore_patterns("__pycache__", "locale", "static", "templates"),
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def add_import(module: Path, line: str) -> None:
    module.write_text(module.read_text() + f"\n{line}\n")


def test_the_untouched_tree_keeps_every_contract(tree: Path):
    result = lint_imports(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_loop_between_two_modules_of_an_app_breaks_the_build(tree: Path):
    # identity's mandates import its models; now the models import the mandates too.
    add_import(tree / "src/joinedup/identity/models.py", "from . import mandates  # noqa")

    result = lint_imports(tree)

    assert result.returncode != 0
    assert "No import loop among the modules of an app" in result.stdout
    assert "No cycles are allowed in joinedup.identity." in result.stdout
    assert ".models -> .mandates" in result.stdout or ".mandates -> .models" in result.stdout


def test_a_loop_through_a_function_level_import_is_caught_too(tree: Path):
    # Hiding the import inside a function does not hide the loop.
    add_import(
        tree / "src/joinedup/sharing/models.py",
        "def _later():\n    from . import consent  # noqa\n\n    return consent",
    )

    result = lint_imports(tree)

    assert result.returncode != 0
    assert "No cycles are allowed in joinedup.sharing." in result.stdout
    assert ".models -> .consent" in result.stdout or ".consent -> .models" in result.stdout
