"""Stage 1, YAML text -> Spec: what a spec file says, validated, with the line of every
value. No torch.

- source.py: YAML with line numbers and spans, anchors and merge keys marked
- model.py: the Spec records, and the validation that makes them
- expr.py: the arithmetic a spec may write (`16 * 5 * 5`)
- sizes.py: sets of input sizes (`32..64/8`)
"""

from .model import Spec, SpecError, parse_file, parse_text

__all__ = ["Spec", "SpecError", "parse_file", "parse_text"]
