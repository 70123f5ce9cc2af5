"""`cnncheck graph`: the shape-flow diagram of a model, in Mermaid."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import UsageError, model_spec


def graph_command(args: argparse.Namespace) -> int:
    """`cnncheck graph`: the Markdown report's picture of one model, printed."""
    spec = model_spec(args, Path.cwd())
    if args.boxes is not None and args.boxes < 1:
        raise UsageError(f"--boxes must be 1 or more, not {args.boxes}")

    from .. import probe  # torch is imported here
    from ..report.diagram import MAX_BOXES, mermaid
    from ..runner import Options, run_spec

    probe.freeze_startup_objects()
    try:
        trace = run_spec(spec, Path.cwd(), Options(fields=True, fixes=False)).trace
    except probe.DeviceUnavailable as reason:
        raise UsageError(str(reason)) from None
    text = mermaid(trace, max_boxes=args.boxes or MAX_BOXES)
    assert text is not None
    sys.stdout.write(f"```mermaid\n{text}```\n" if args.markdown else text)
    if trace.crash is not None:
        print(f"cnncheck graph: the forward pass raised ({trace.crash.exception}); the picture "
              "ends where it did, the layer that raised in red", file=sys.stderr)
        return 1
    return 0
