"""The `cnncheck` command (also `python -m pytest_cnncheck`).

    cnncheck init MODEL --input-size 1,3,32,32 [--kwargs JSON] [--name NAME]
                  [--layers leaf|all|none] [--rules] [-o FILE [--force]]

builds the model exactly as the plugin does, runs the dummy input, and writes a
spec stating what it does today, for a person to review and keep.

    cnncheck sizes MODEL --input-size 1,3,H,W --range H=16..512 [--range W=H]

runs the model at every size of the range (one model, on meta by default) and
prints the sizes it accepts, with why the others fail: what to write under
`expect.accepts`.

    cnncheck schema

prints the JSON Schema of spec files, for editors (see docs/spec-format.md).

    cnncheck lint FILE...

reads and validates spec files with the plugin's own validator, in milliseconds: no
torch, no model built (a pre-commit hook; see docs/ci.md).

    cnncheck fix PATH... [--diff] [--unsafe-fixes]

runs the specs that PATH names (files or folders) and writes into the model's source
each fix that was applied to the model and verified by running the spec again, and is
sound and safe, printing each as a unified diff; `--diff` prints without writing,
`--unsafe-fixes` also writes the fixes of a model that ran (the spec may be wrong there). Exit status 0
when every spec passes afterwards, 1 when findings remain, 2 on errors.
"""

from .main import main

__all__ = ["main"]
