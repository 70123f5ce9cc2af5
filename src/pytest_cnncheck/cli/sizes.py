"""`cnncheck sizes`: the input sizes a model runs at, and why the others fail."""
from __future__ import annotations

import argparse
import json
import math
import re
from pathlib import Path

from ..explain.rejections import rejections
from ..spec.model import SpecError
from ..spec.parse import parse_text
from ..spec.sizes import describe, label, pattern, tied_columns
from .common import UsageError, parse_kwargs


def sizes_command(args: argparse.Namespace) -> int:
    """`cnncheck sizes`: the spec a user would write with a sweep, run as the plugin runs it."""
    import time

    from ..spec.expr import ExpressionError, names_in

    shapes = [[part.strip() for part in text.strip("[]()").split(",")] for text in args.input_size]
    dims = [dim for shape in shapes for dim in shape]
    ranges: dict[str, str] = {}
    for text in args.range:
        name, sep, sizes = text.partition("=")
        if not sep or not name.strip() or not sizes.strip():
            raise UsageError(f"--range must be NAME=SIZES such as H=16..512, not {text!r}")
        ranges[name.strip()] = sizes.strip()
    try:
        used = [name for dim in dims for name in names_in(dim)]
    except ExpressionError as error:
        raise UsageError(f"--input-size {' '.join(args.input_size)!r}: {error}") from None
    if not used:
        raise UsageError("--input-size names no size to search: write a name such as H "
                         "where a size varies (1,3,H,W)")
    if not any(name in ranges for name in used):
        raise UsageError(f"give the sizes to try with --range {used[0]}=16..512")
    # A name without a range follows the first that has one: square inputs, the
    # usual search for an image model (--range W=16..64 searches W apart).
    leader = next(name for name in used if name in ranges)
    tied = [name for name in dict.fromkeys(used) if name not in ranges]
    for name in tied:
        ranges[name] = leader
    spec_dir = Path.cwd()
    document = {"sizes": {
        "model": args.model, "kwargs": parse_kwargs(args.kwargs), "dtype": args.dtype,
        "input_size": [[int(dim) if dim.isdigit() else dim for dim in shape] for shape in shapes]
        if len(shapes) > 1 else [int(dim) if dim.isdigit() else dim for dim in shapes[0]],
        **({"forward_kwargs": keywords} if (keywords := parse_kwargs(args.forward_kwargs, "--forward-kwargs")) else {}),
        "sweep": ranges, "mode": args.mode,
        "expect": {"accepts": {name: "1.." for name in ranges}},  # anything: we want the set
        **({"device": args.device} if args.device else {}),
    }}
    parsed = parse_text(spec_dir / "sizes.cnncheck.yaml", json.dumps(document))  # JSON is YAML
    (_, _, spec), = parsed.entries
    if isinstance(spec, SpecError):
        ranges_wrong = [message for _, message in spec.problems if message.startswith("`sweep")]
        if ranges_wrong:  # said in the command's own words
            raise UsageError(re.sub(r"`sweep\.(\w+)`", r"--range \1", ranges_wrong[0])
                             .replace("`sweep`", "--range"))
        raise spec
    assert spec.scan is not None

    from .. import probe  # torch is imported here
    from ..runner import run_spec

    probe.freeze_startup_objects()

    started = time.perf_counter()
    try:
        traces = run_spec(spec, spec_dir).traces
    except probe.DeviceUnavailable:
        raise UsageError("--device cuda: CUDA is not available here") from None
    seconds = time.perf_counter() - started
    points = [(bindings, trace) for (bindings, _), trace in zip(spec.scan.points, traces)]
    ran = [bindings for bindings, trace in points if trace.crash is None]
    device = traces[0].device if traces else "meta"
    print(f"{spec.model}, input {', '.join('[' + ', '.join(shape) + ']' for shape in shapes)}: "
          f"{len(points)} sizes tried in "
          f"{seconds:.2f} s on {device}")
    if tied:
        print(f"({', '.join(tied)} = {leader}: give --range {tied[0]}=... to search it apart)")
    for line in _accepted_lines(len(points), ran):
        print(line)
    failing = rejections(points, limit=20)
    if failing:
        print("fails:")
        for line in failing:
            print(f"  {line}")
    fallbacks = sum(1 for trace in traces if trace.fallback)
    if fallbacks:
        print(f"({fallbacks} size(s) ran on the CPU: {next(t.fallback for t in traces if t.fallback)})")
    return 0 if ran else 1


def _accepted_lines(tried: int, ran: list[tuple[tuple[str, int], ...]]) -> list[str]:
    """`accepts S: 32..35`; per name where the set is a product of one set per name."""
    if not ran:
        return ["accepts no size in the range"]
    # Names tied to another (W: H) carry the same values: they are said together.
    sets = [(names, sorted(set(values))) for names, values in tied_columns(ran)]
    lines = []
    if math.prod(len(values) for _, values in sets) == len(set(ran)):  # one set per name
        for names, values in sets:
            known = f" ({pattern(values)})" if pattern(values) else ""
            lines.append(f"accepts {names}: {describe(values)}{known}")
        return lines
    lines.append(f"accepts {len(ran)} of {tried} combinations:")
    lines.extend(f"  {label(b)}" for b in ran[:20])
    if len(ran) > 20:
        lines.append(f"  ... and {len(ran) - 20} more")
    return lines
