"""Writing key material: atomically, and a private key readable by its owner only from its
first byte (created with mode 0600, never written and then ``chmod``-ed).

Only the development PKIs write keys (``ECO_DEV_PKI=true``, the sandbox's TLS and customs
keys); a deployment's own keys are read, never written.
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_MODE = 0o600
PUBLIC_MODE = 0o644


def write_key_file(path: Path, data: bytes, *, private: bool = False) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory, so a reader
    never sees half a file; ``private`` files are created with mode 0600."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, flags, PRIVATE_MODE if private else PUBLIC_MODE)
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
