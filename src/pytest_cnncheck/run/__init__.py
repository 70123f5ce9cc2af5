"""Stage 2, Spec -> Trace: find the model, build it on its device, run the dummy input and
record what every layer did.

- resolve.py: the model a spec names (`models/net.py:Net`)
- record.py: the recorded forward pass (calls, shapes, the crash and its clash)
- layers.py: one Layer record per module, and where each was made
- flow.py: receptive fields; provenance.py: where each tensor came from
- fastmeta.py: shapes by formula where torch's meta kernels are slow; counting.py: MACs
- frames.py: the line of the user's code that ran

The orchestration (meta first, the CPU where meta can't) is probe.py, a level up: it asks
the diagnosis (explain/) whether the shapes explain a failure on meta.
"""
