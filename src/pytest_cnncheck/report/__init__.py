"""Stage 6, findings -> what people and machines read. Writers render; none computes.

- terminal.py: the failure text and the layer table
- results.py: the JSON and Markdown reports
- sarif.py, github.py: code scanning and workflow annotations
- diagram.py: the Mermaid diagram; update.py: spec rewrites; scaffold.py: a new spec
"""
