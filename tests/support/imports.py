"""What one import loads, read in a fresh interpreter: the proof that a module stays cheap to import.

The test process has long since imported everything, so only a new `python -c` can tell which
modules an import pulls in.
"""

from __future__ import annotations

import subprocess
import sys


def loaded_modules(import_stmt: str) -> set[str]:
    """The modules a fresh interpreter has in `sys.modules` after running `import_stmt` and not before."""
    code = (
        "import sys; before = set(sys.modules); "
        f"{import_stmt}; "
        "print('\\n'.join(sorted(set(sys.modules) - before)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(out.split())
