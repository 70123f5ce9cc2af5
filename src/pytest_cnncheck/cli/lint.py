"""`cnncheck lint`: spec files read with the plugin's own validator, no torch."""
from __future__ import annotations

import sys
from pathlib import Path

from ..spec.model import SpecError


def lint_command(files: list[str]) -> int:
    """Each file's problems as `file:line: sentence`, as a failing pytest item says them."""
    from ..spec.parse import parse_file

    problems = 0
    for name in files:
        parsed = parse_file(Path(name))
        errors = [parsed.error] if parsed.error is not None else [
            entry for _, _, entry in parsed.entries if isinstance(entry, SpecError)]
        for error in errors:
            for line, message in error.problems:
                print(f"{name}:{line}: {message}")
                problems += 1
    if problems:
        print(f"cnncheck lint: {problems} problem{'s' if problems != 1 else ''} in "
              f"{len(files)} file{'s' if len(files) != 1 else ''}", file=sys.stderr)
    return 1 if problems else 0
