"""`cnncheck report`: several JSON reports (shards of one run) as one report."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from .common import UsageError


def report_command(reports: list[str], output: str, baseline: str | None) -> int:
    """The shards' rows as one report: each spec once (a spec in two shards is said, and the
    first kept), sorted by id as a single run sorts them."""
    from ..files import write_atomically
    from ..report.results import json_report, markdown_report, read_report

    if not output.endswith((".md", ".json")):
        raise UsageError(f"-o {output}: the name must end in .md (Markdown) or .json")

    def read(name: str) -> list[dict[str, Any]]:
        try:
            return read_report(Path(name))
        except ValueError as error:
            raise UsageError(f"{name}: {error}") from None

    rows: dict[str, dict[str, Any]] = {}
    for name in reports:
        for row in read(name):
            if row["id"] in rows:
                print(f"cnncheck report: {row['id']} is in more than one report; the first is kept",
                      file=sys.stderr)
            rows.setdefault(row["id"], row)
    merged = [rows[key] for key in sorted(rows)]
    text = (markdown_report(merged, read(baseline) if baseline else None) if output.endswith(".md")
            else json_report(merged))
    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, text.encode("utf-8"))
    print(f"cnncheck report: wrote {output} ({len(merged)} specs from {len(reports)} reports)", file=sys.stderr)
    return 0
