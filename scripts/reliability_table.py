"""Print the bad-input table of docs/reliability.md from the cases in tests/test_reliability.py.

Run from the repository root: python scripts/reliability_table.py
A test (test_the_table_in_the_docs_is_this_table) fails when the docs and the cases drift.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from test_reliability import CASES  # noqa: E402


def main() -> None:
    print("| case | bad input | what the user sees |")
    print("| --- | --- | --- |")
    for case in CASES:
        says = case.says.split("\n")[0].replace("|", "\\|")
        print(f"| `{case.id}` | {case.what} | {says} |")


if __name__ == "__main__":
    main()
