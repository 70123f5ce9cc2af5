"""Stage 3, Trace -> why: the arithmetic a person would do by hand, and candidate fixes.

- causes.py: a layer's formula with its numbers, a crash's cause, the flatten size
- candidates.py: changes of one layer's arguments that the same formula says would fit
- clashes.py: two tensors that can't go together, and the paths that made them

Pure functions of the trace: no torch, no text of the spec.
"""
