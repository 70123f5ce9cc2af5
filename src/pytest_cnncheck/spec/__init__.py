"""Stage 1, YAML text -> Spec: what a spec file says, validated, with the line of every
value. No torch.

- source.py: YAML with line numbers and spans, anchors and merge keys marked
- parse.py: a file's text -> its specs, or the error of each
- validate.py: one spec's YAML -> a Spec, every problem with its line
- inputs.py: its dummy input: input_size (shapes or argument trees), dtype, forward_kwargs
- words.py: how a problem is worded: what a value is, the nearest known word
- model.py: the Spec records
- expr.py: the arithmetic a spec may write (`16 * 5 * 5`)
- sizes.py: sets of input sizes (`32..64/8`)
"""

from .model import Spec, SpecError
from .parse import parse_file, parse_text

__all__ = ["Spec", "SpecError", "parse_file", "parse_text"]
