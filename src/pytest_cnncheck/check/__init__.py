"""Stage 4, Spec x Trace -> findings (findings.py): every mismatch and broken rule.

- compare.py: the checks themselves
- macs.py, memory.py: the totals a spec may state (mult-adds, bytes)
"""
