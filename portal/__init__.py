from pathlib import Path

import numbers

# The `numbers` app shares its name with the standard library module (see
# numbers/__init__.py). If the standard module was imported before the project
# directory reached sys.path (a console script such as `pytest`), make it the app's
# package too, so `numbers.models` and friends import from the app directory.
if not hasattr(numbers, "__path__"):
    numbers.__path__ = [str(Path(__file__).resolve().parent.parent / "numbers")]
