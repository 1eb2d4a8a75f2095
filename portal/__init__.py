from pathlib import Path

import numbers

# The `numbers` app shares its name with the standard library's module of numeric ABCs,
# which `decimal`, `fractions` and many libraries import. The app folder has no
# `__init__.py`, so `import numbers` always finds the standard module, whatever the start-up
# order; this line lets that one module also hold the app's modules (`numbers.models`, ...).
# Everything reaches the app through `portal` (its settings, its URLs) first.
numbers.__path__ = [str(Path(__file__).resolve().parent.parent / "numbers")]
