"""Stage 4, Spec x Trace -> findings (findings.py): every mismatch and broken rule.

- compare.py: `check` and `check_scan`, the shapes, layers, flatten sizes and crashes
- setters.py: which layer call set a wrong number, and the changes that would fix it
- budgets.py: parameters, memory and mult-adds against what the spec bounds
- rules.py, receptive.py: the design rules and receptive fields
- edits.py: the spec-side edits `--cnncheck-update` writes
- macs.py, memory.py: the totals, as people read them
"""
