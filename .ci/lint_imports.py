"""`lint-imports` with the project's `numbers` in place of the standard module's name.

import-linter finds packages with importlib, and in its process `numbers` is the standard
library's module ("'numbers' is a module, not a package"). Importing `portal` first gives
that module the app's folder as its `__path__` (portal/__init__.py); its spec is then made
to say the same, which is what import-linter reads.
"""

import importlib.machinery
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numbers  # noqa: E402
import portal  # noqa: E402, F401 - gives `numbers` the app's folder

spec = importlib.machinery.ModuleSpec(
    "numbers", None, origin=str(ROOT / "numbers" / "__init__.py"), is_package=True
)
spec.submodule_search_locations = list(numbers.__path__)
numbers.__spec__ = spec
numbers.__file__ = spec.origin

from importlinter.cli import lint_imports_command  # noqa: E402

sys.exit(lint_imports_command())
