"""Stage 5, findings -> verified fixes: each candidate applied to the model's source and
the spec run again; only a fix that clears its finding and makes no new one is kept.

- sourcecode.py: where a layer's argument is written, and the edit that changes it
- rebuild.py: the model rebuilt from edited source, in memory
- verify.py: the candidates tried, in forward order, one root cause at a time
"""
