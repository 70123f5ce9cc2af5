"""Print the README's quickstart commands, one a line, as written: CI runs them verbatim.

    python3 scripts/quickstart.py            # the commands
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def commands(text: str) -> list[str]:
    """The command lines of the first ```bash block under the `## Quickstart` heading."""
    section = text.split("\n## Quickstart", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    if block is None:
        raise SystemExit("README.md: the Quickstart section has no ```bash block")
    return [line for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")]


if __name__ == "__main__":
    sys.stdout.write("".join(f"{command}\n" for command in commands(README.read_text(encoding="utf-8"))))
