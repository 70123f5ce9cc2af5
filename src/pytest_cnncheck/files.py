"""Writing a file the user keeps, in one step: a temporary file beside it, then a rename
over it, so that a crash or a full disk leaves the old file or the new one, never half of
one. The spec update, `cnncheck fix`, `init -o` and the reports all write through here."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["write_atomically"]


def write_atomically(path: Path | str, data: bytes, *, exclusive: bool = False, unless_changed_from: bytes | None = None
                     ) -> bool:
    """Write `data` over `path` in one step, keeping a file's permission bits. `exclusive`:
    fail with FileExistsError rather than replace a file that exists. `unless_changed_from`:
    write only if the file still holds these bytes (False, and nothing written, where it
    does not: another writer got there first)."""
    path = Path(path)
    if unless_changed_from is not None and path.read_bytes() != unless_changed_from:
        return False
    if exclusive and path.exists():
        raise FileExistsError(f"{path} exists")
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".cnncheck-tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        if path.exists():
            os.chmod(temporary, os.stat(path).st_mode & 0o7777)
        else:  # mkstemp makes it 0600: a new file gets the umask's bits, as open() would give it
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return True
