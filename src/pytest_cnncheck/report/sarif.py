"""`--cnncheck-report X.sarif`: the results as SARIF 2.1.0, for GitHub code scanning.

A writer over the spec results (results.py's data): one rule per finding kind (kinds.py,
stable ids with help), one result per finding, located first at the line that made the
layer it names (the line to edit) where it names one, then for a crash at the line that
ran, and at the spec's line; a verified fix (applied and run again on the model) is a
SARIF fix, located first at its edits. Paths are relative to the repository root (`%SRCROOT%`:
GITHUB_WORKSPACE, else the rootdir).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..kinds import KINDS, SPEC_ERROR
from .github import finding_message, repository_path
from .hints import applied_by

__all__ = ["sarif_report"]

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
DOCS = "https://github.com/pytest-cnncheck/pytest-cnncheck/blob/main/docs/findings.md"


def sarif_report(rows: list[dict[str, Any]], rootdir: Path, version: str) -> str:
    root = Path(os.environ.get("GITHUB_WORKSPACE") or rootdir)
    index = {kind.id: i for i, kind in enumerate(KINDS)}
    rules = [{"id": kind.id, "name": kind.name,
              "shortDescription": {"text": kind.help},
              "helpUri": f"{DOCS}#{kind.anchor}",
              "help": {"text": f"{kind.help} See {DOCS}#{kind.anchor}"},
              "defaultConfiguration": {"level": "error"}} for kind in KINDS]
    results = []
    for row in rows:
        spec_file = repository_path(Path(rootdir, row["file"]), root)
        for problem in row.get("error") or ():
            results.append(_result(SPEC_ERROR.id, index, f"{row['name']}: {problem['message']}",
                                   [(spec_file, problem["line"])]))
        for finding in row.get("findings", ()):
            if finding.get("follows"):
                continue  # folded under its root cause
            edits = [edit for fixed in finding.get("fixes", ()) for edit in fixed["edits"]]
            places = [(repository_path(Path(edit["file"]), root), edit["line"]) for edit in edits]
            places += [(repository_path(Path(layer["file"]), root), layer["line"])
                       for layer in finding.get("layers", ()) if layer.get("file")]
            ran = finding.get("ran")
            if ran:  # a crash: the line of the user's code that was running when it raised
                places.append((repository_path(Path(ran["file"]), root), ran["line"]))
            places.append((spec_file, finding["line"]))
            result = _result(finding["kind"], index, _message(row["name"], finding), places)
            fixes = [_fix(fixed, root) for fixed in finding.get("fixes", ()) if fixed["edits"]]
            if fixes:
                result["fixes"] = fixes
            results.append(result)
    log = {"$schema": SCHEMA, "version": "2.1.0",
           "runs": [{"tool": {"driver": {"name": "pytest-cnncheck", "version": version,
                                         "informationUri": "https://github.com/pytest-cnncheck/pytest-cnncheck",
                                         "rules": rules}},
                     "originalUriBaseIds": {"%SRCROOT%": {"uri": root.resolve().as_uri() + "/"}},
                     "results": results}]}
    return json.dumps(log, indent=2) + "\n"


def _result(rule: str, index: dict[str, int], text: str, places: list[tuple[str, int]]) -> dict[str, Any]:
    return {"ruleId": rule, "ruleIndex": index[rule], "level": "error", "message": {"text": text},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": file, "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": max(1, int(line))}}} for file, line in dict.fromkeys(places)]}


def _fix(fixed: dict[str, Any], root: Path) -> dict[str, Any]:
    """A verified fix as a SARIF fix: each file's replacements (1-based lines and columns,
    the end exclusive, as the JSON report's edits give them)."""
    by_file: dict[str, list[dict[str, Any]]] = {}
    for edit in fixed["edits"]:
        by_file.setdefault(repository_path(Path(edit["file"]), root), []).append(
            {"deletedRegion": {"startLine": edit["line"], "startColumn": edit["column"],
                               "endLine": edit["end_line"], "endColumn": edit["end_column"]},
             "insertedContent": {"text": edit["new"]}})
    return {"description": {"text": f"{fixed['change']} (verified on the model; "
                                    f"{applied_by(fixed.get('applicability', 'safe'), fixed.get('unsafe'))})"},
            "artifactChanges": [{"artifactLocation": {"uri": file, "uriBaseId": "%SRCROOT%"},
                                 "replacements": replacements} for file, replacements in by_file.items()]}


def _message(name: str, finding: dict[str, Any]) -> str:
    return f"{name}: {finding['key']}: {finding_message(finding)}"
