"""The data folder and the secrets in it, readable by the user Legato runs as and nobody else.

Imported by the settings, so no Django here.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def create_private_file(path: Path, text: str) -> bool:
    """Write ``text`` to a new file ``path`` that is 0600 from its first byte.

    False (and nothing written) when ``path`` exists: of two processes starting at once,
    one writes and the other reads what it wrote, never a half-written file.
    """
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w") as handle:  # mkstemp: 0600 already
            handle.write(text)
        os.link(temporary, path)
    except FileExistsError:
        return False
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
    return True
