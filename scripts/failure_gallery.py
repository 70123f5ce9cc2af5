"""Write docs/failures.md from the real output of `pytest examples/broken`.

Run from the repository root: python scripts/failure_gallery.py
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SECTIONS = {
    "wrong_flatten_crashes": (
        "A Linear that does not fit the flatten",
        "The tutorial Net with `fc1 = nn.Linear(16 * 6 * 6, 120)`: the forward pass crashes. Where "
        "torch says only that two matrices cannot be multiplied, cnncheck names the Linear, what "
        "reached it, the flattened shape and its product, and what `in_features` should be."),
    "tutorial_net_miscounted": (
        "Hand-computed numbers",
        "A forgotten bias, a conv thought to keep its size, a flatten computed for another input "
        "size, a total that is off: every mismatch of the spec in one failure, each with its "
        "arithmetic and the spec's own line. The layer table marks the layers concerned."),
    "tutorial_net_layer_names": (
        "Layer names",
        "A layer called twice needs one entry per call; a name the model does not have gets the "
        "closest ones."),
    "design_rules": (
        "Design rules and rounding",
        "A 4x4 pooling window, a stride that does not divide its input, and a `ceil_mode` pool "
        "whose rounding surprised its author."),
    "channel_mismatch": ("Channels that do not match",
                         "A conv written for 8 input channels after one that makes 6."),
    "tutorial_net_sizes": (
        "Sizes a model does not take",
        "`expect.accepts` states the input sizes that run. The sizes that fail against it are "
        "grouped by where they break, each group explained at its first size."),
    "tutorial_net_swept[B=1-H=34]": (
        "A shape stated for every size",
        "With a `sweep`, each size is an item, and a wrong dimension is shown with the values "
        "of the names it uses."),
    "<file>": ("A file that is not YAML",
               "One failed item for the file, with the line PyYAML names; the session goes on."),
    "typo_in_key": ("A misspelt key", "Unknown keys are errors, with a suggestion."),
    "bad_expression": ("An expression that is not arithmetic",
                       "Nothing in a spec is evaluated as Python."),
    "model_not_found": ("A model that is not there", ""),
    "kwargs_rejected": ("Arguments the model does not take",
                        "kwargs are checked against the model's signature before anything is built."),
}


def main() -> None:
    run = subprocess.run([sys.executable, "-m", "pytest", "examples/broken", "-q", "--color=no",
                          "-p", "no:cacheprovider"], capture_output=True, text=True, check=False)
    failures = run.stdout.split("= FAILURES =", 1)[1].split("short test summary info", 1)[0]
    parts = re.split(r"^_{3,} cnncheck: (.+?) _{3,}$", failures, flags=re.M)
    found = {parts[i]: parts[i + 1].strip("\n= ") for i in range(1, len(parts), 2)}
    out = [
        "# Failure messages", "",
        "The real output of `pytest examples/broken`, written by `scripts/failure_gallery.py`.",
        "The models are in `examples/broken/models/`, the specs in `examples/broken/`. Every",
        "failure starts at the `file:line` of the spec key that failed and shows that line;",
        "the explanation follows the expected and actual values.", "",
    ]
    for name, (title, blurb) in SECTIONS.items():
        out += [f"## {title}", ""] + ([blurb, ""] if blurb else [])
        out += ["```", found[name], "```", ""]
    Path("docs/failures.md").write_text("\n".join(out))


if __name__ == "__main__":
    main()
