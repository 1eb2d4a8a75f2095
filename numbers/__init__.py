"""The phone-numbers app.

The project layout names this package `numbers`, which is also the standard library's
module of numeric ABCs (`decimal`, `fractions` and many libraries import it). Whenever
this directory comes first on `sys.path` (manage.py, gunicorn, `python -m pytest`), this
package *is* `numbers` for the whole process, so it must also be the standard one: it
loads the standard module and re-exports its ABCs. The opposite order, the standard
module imported first, is handled in `portal/__init__.py`.
"""

import importlib.util
import sysconfig
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "numbers", Path(sysconfig.get_path("stdlib")) / "numbers.py"
)
_stdlib_numbers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_stdlib_numbers)

__all__ = _stdlib_numbers.__all__
globals().update({name: getattr(_stdlib_numbers, name) for name in __all__})
