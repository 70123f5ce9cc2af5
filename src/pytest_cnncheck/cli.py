"""The `cnncheck` command (also `python -m pytest_cnncheck`).

    cnncheck init MODEL --input-size 1,3,32,32 [--kwargs JSON] [--name NAME]
                  [--layers leaf|all|none] [--rules] [-o FILE [--force]]

builds the model exactly as the plugin does, runs the dummy input, and writes a
spec stating what it does today, for a person to review and keep.

    cnncheck sizes MODEL --input-size 1,3,H,W --range H=16..512 [--range W=H]

runs the model at every size of the range (one model, on meta by default) and
prints the sizes it accepts, with why the others fail: what to write under
`expect.accepts`.

    cnncheck schema

prints the JSON Schema of spec files, for editors (see docs/spec-format.md).

    cnncheck lint FILE...

reads and validates spec files with the plugin's own validator, in milliseconds: no
torch, no model built (a pre-commit hook; see docs/ci.md).

    cnncheck fix PATH... [--diff] [--unsafe-fixes]

runs the specs that PATH names (files or folders) and writes into the model's source
each fix that was applied to the model and verified by running the spec again, and is
sound and safe, printing each as a unified diff; `--diff` prints without writing,
`--unsafe-fixes` also writes the fixes of a model that ran (the spec may be wrong there). Exit status 0
when every spec passes afterwards, 1 when findings remain, 2 on errors.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shlex
import sys
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any, Sequence

from .explain.rejections import rejections
from .report.scaffold import LAYER_CHOICES, run_lines, spec_text
from .spec.model import DTYPES, OPTIMIZERS, Spec, SpecError, TrainSpec
from .spec.parse import parse_text
from .spec.sizes import describe, label, pattern, tied_columns

__all__ = ["main"]


class UsageError(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cnncheck", description="Write and check CNN architecture specs.")
    commands = parser.add_subparsers(dest="command", required=True)
    init = commands.add_parser("init", help="write a spec stating what a model does today",
                               description="Build MODEL, run one dummy input through it, and print "
                                           "(or write) a spec that states what it does.")
    _model_arguments(init)
    init.add_argument("--name", help="the spec's name (default: Attr in snake_case)")
    init.add_argument("--layers", choices=LAYER_CHOICES, default="leaf",
                      help="which layers to state: leaf modules (default), all modules, or none")
    init.add_argument("--budget", metavar="PERCENT",
                      help="state params, mult-adds and activation memory as bounds this much above "
                           "today's values (10%%), rather than the exact values")
    init.add_argument("--rules", action="store_true",
                      help="also state the pooling and exact-division rules the model satisfies")
    init.add_argument("--receptive-field", action="store_true",
                      help="also state each layer's receptive field and effective stride (with "
                           "--rules, the widest features' field as rules.receptive_field)")
    init.add_argument("--train", nargs="?", const="adamw", choices=OPTIMIZERS, metavar="OPTIMIZER",
                      help="also run one training step (with OPTIMIZER: adamw by default; sgd, sgd-momentum, "
                           "adam) and state its peak memory as a bound 10%% above today's (or --budget's)")
    init.add_argument("-o", "--output", metavar="FILE", help="write the spec to FILE instead of printing it")
    init.add_argument("--force", action="store_true", help="overwrite FILE if it exists")

    sizes = commands.add_parser("sizes", help="find the input sizes a model accepts",
                                description="Run MODEL at every input size of the ranges and print "
                                            "the sizes that run, and why the others fail.")
    sizes.add_argument("model", metavar="MODEL",
                       help="module.path:Attr or path/to/file.py:Attr (relative to the current folder)")
    sizes.add_argument("--input-size", action="append", required=True, metavar="SHAPE",
                       help="the input's shape with names for the sizes to search: 1,3,H,W "
                            "(1,3,H,H searches square inputs); repeat for several inputs")
    sizes.add_argument("--forward-kwargs", default="{}", metavar="JSON",
                       help="keyword arguments for forward, as a spec's forward_kwargs: "
                            "'{\"timesteps\": {\"size\": [1], \"dtype\": \"int64\"}}'")
    sizes.add_argument("--range", action="append", required=True, metavar="NAME=SIZES",
                       help="the sizes to try for a name: H=16..512, H=32..512 step 32, "
                            "or W=H to tie W to H (repeat for each name)")
    sizes.add_argument("--dtype", default="float32", metavar="DTYPE", help="the input's dtype")
    sizes.add_argument("--kwargs", default="{}", metavar="JSON",
                       help="keyword arguments for Attr, as a JSON object")
    sizes.add_argument("--device", choices=("meta", "cpu", "cuda"),
                       help="where to run (default: meta, and the CPU for sizes meta can't run)")
    sizes.add_argument("--mode", choices=("eval", "train"), default="eval")
    graph = commands.add_parser("graph", help="draw a model's shape flow as a Mermaid flowchart",
                                description="Build MODEL, run one dummy input through it, and print "
                                            "its shape flow as a Mermaid flowchart (the one the "
                                            "Markdown report draws): layers as boxes with their "
                                            "receptive fields, output shapes on the edges.")
    _model_arguments(graph)
    graph.add_argument("--boxes", type=int, default=None, metavar="N",
                       help="at most this many boxes: blocks are drawn collapsed to the deepest level "
                            "that fits (default 20)")
    graph.add_argument("--markdown", action="store_true",
                       help="print it inside a ```mermaid block, ready for a Markdown file")
    lint = commands.add_parser("lint", help="validate spec files without torch (for pre-commit)",
                               description="Read and validate spec files with the plugin's own "
                                           "validator: the same file:line sentences as pytest, no "
                                           "torch imported and no model built. Exit status 1 when "
                                           "a file has a problem.")
    lint.add_argument("files", nargs="+", metavar="FILE", help="spec files (*.cnncheck.yaml)")
    fix = commands.add_parser("fix", help="write the verified fixes into the model's source",
                              description="Run the specs that PATH names and write into the model's "
                                          "source each fix that held when it was applied to the model "
                                          "and the spec was run again, printed as a unified diff. Exit "
                                          "status 0 when every spec passes afterwards, 1 when findings "
                                          "remain, 2 when a spec or file could not be read or changed "
                                          "while it ran.")
    fix.add_argument("paths", nargs="+", metavar="PATH", help="spec files or folders holding them")
    fix.add_argument("--diff", action="store_true", help="print the diff and write nothing")
    fix.add_argument("--unsafe-fixes", action="store_true",
                     help="also write the fixes marked unsafe: the model ran, and the spec disagrees with it "
                          "elsewhere too, so the spec may be what is wrong")
    report = commands.add_parser("report", help="merge the JSON reports of CI shards",
                                 description="cnncheck report merge A.json B.json ... -o report.md: the "
                                             "JSON reports of several pytest runs (CI shards) as one "
                                             "Markdown report (one pull-request comment) or one JSON "
                                             "report, baseline deltas included.")
    report.add_argument("action", choices=("merge",))
    report.add_argument("reports", nargs="+", metavar="REPORT.json", help="the shards' JSON reports")
    report.add_argument("-o", "--output", required=True, metavar="FILE",
                        help="the merged report: .md (Markdown) or .json")
    report.add_argument("--baseline", metavar="BASE.json",
                        help="the base branch's JSON report: the Markdown report leads with what changed")
    commands.add_parser("schema", help="print the JSON Schema of spec files, for editors",
                        description="Print the JSON Schema (draft 2020-12) of spec files: save it "
                                    "and point your editor's YAML language server at it.")
    return parser


def _model_arguments(command: argparse.ArgumentParser) -> None:
    """What `init` and `graph` take to build and run one model (read by _model_spec)."""
    command.add_argument("model", metavar="MODEL",
                         help="module.path:Attr or path/to/file.py:Attr (relative to the current folder)")
    command.add_argument("--input-size", action="append", metavar="SHAPE",
                         help="the dummy input's shape, batch first: 1,3,32,32 (repeat for several inputs); "
                              "or, as JSON, the arguments as a spec's input_size writes them: "
                              "'[[[3, 320, 320]]]' (one argument, a list of one image). Required, but "
                              "for a forward whose tensors are all --forward-kwargs")
    command.add_argument("--forward-kwargs", default="{}", metavar="JSON",
                         help="keyword arguments for forward, as a spec's forward_kwargs: "
                              "'{\"num_flow_updates\": 4}'")
    command.add_argument("--dtype", action="append", metavar="DTYPE",
                         help="the input's dtype (default float32; repeat for one per input)")
    command.add_argument("--kwargs", default="{}", metavar="JSON",
                         help="keyword arguments for Attr, as a JSON object: '{\"num_classes\": 10}'")
    command.add_argument("--device", choices=("meta", "cpu", "cuda"),
                         help="where to run (default: meta, falling back to the CPU)")
    command.add_argument("--mode", choices=("eval", "train"), default="eval")


# Exit statuses: 0 done; 1 the model could not be checked (its sentences on stderr) or,
# for `sizes`, no size ran; 2 a wrong option; 3 a fault of cnncheck's own.
INTERNAL_ERROR = 3
INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for a Ctrl-C'd program
CLOSED_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a program whose reader left
BUG_REPORTS = "https://github.com/pytest-cnncheck/pytest-cnncheck/issues"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        status = _command(args, argv)
        sys.stdout.flush()  # a closed pipe shows here, not at the interpreter's exit
        return status
    except KeyboardInterrupt:  # Ctrl-C: quiet, as Unix tools are; every write is atomic
        return INTERRUPTED
    except BrokenPipeError:  # `cnncheck sizes ... | head`: the reader has all it wanted
        # Python would complain again flushing stdout at exit: point it at nothing.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return CLOSED_PIPE
    except Exception as error:  # never a traceback: a sentence, and where to report it
        print(f"cnncheck {args.command}: internal error: {type(error).__name__}: "
              f"{str(error).splitlines()[0] if str(error) else '(no message)'}", file=sys.stderr)
        print(f"This is a bug in pytest-cnncheck, not in your model or spec. Please report it at "
              f"{BUG_REPORTS} with the command line above and this message "
              f"(exit status {INTERNAL_ERROR}).", file=sys.stderr)
        return INTERNAL_ERROR


def _command(args: argparse.Namespace, argv: Sequence[str] | None) -> int:
    try:
        if args.command == "sizes":
            return _sizes(args)
        if args.command == "lint":
            return _lint(args.files)
        if args.command == "fix":
            from .fixcommand import fix_command

            return fix_command(args.paths, args.diff, unsafe=args.unsafe_fixes)
        if args.command == "graph":
            return _graph(args)
        if args.command == "report":
            return _merge(args.reports, args.output, args.baseline)
        if args.command == "schema":
            sys.stdout.write((Path(__file__).parent / "cnncheck.schema.json").read_text(encoding="utf-8"))
            return 0
        return _init(args, list(sys.argv[1:] if argv is None else argv))
    except UsageError as error:
        print(f"cnncheck {args.command}: {error}", file=sys.stderr)
        return 2
    except SpecError as error:
        for _, message in error.problems:
            print(f"cnncheck {args.command}: {message}", file=sys.stderr)
        return 1


def _budget(text: str | None) -> Fraction | None:
    if text is None:
        return None
    number = text.strip().removesuffix("%").strip()
    try:
        share = Fraction(number) / 100
    except (ValueError, ZeroDivisionError):
        raise UsageError(f"--budget must be a percentage such as 10%, not {text!r}") from None
    if share < 0:
        raise UsageError(f"--budget must be zero or more, not {text!r}")
    return share


def _merge(reports: list[str], output: str, baseline: str | None) -> int:
    """The shards' rows as one report: each spec once (a spec in two shards is said, and the
    first kept), sorted by id as a single run sorts them."""
    from .files import write_atomically
    from .report.results import json_report, markdown_report, read_report

    if not output.endswith((".md", ".json")):
        raise UsageError(f"-o {output}: the name must end in .md (Markdown) or .json")

    def read(name: str) -> list[dict[str, Any]]:
        try:
            return read_report(Path(name))
        except ValueError as error:
            raise UsageError(f"{name}: {error}") from None

    rows: dict[str, dict[str, Any]] = {}
    for name in reports:
        for row in read(name):
            if row["id"] in rows:
                print(f"cnncheck report: {row['id']} is in more than one report; the first is kept",
                      file=sys.stderr)
            rows.setdefault(row["id"], row)
    merged = [rows[key] for key in sorted(rows)]
    text = (markdown_report(merged, read(baseline) if baseline else None) if output.endswith(".md")
            else json_report(merged))
    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, text.encode("utf-8"))
    print(f"cnncheck report: wrote {output} ({len(merged)} specs from {len(reports)} reports)", file=sys.stderr)
    return 0


def _lint(files: list[str]) -> int:
    """Each file's problems as `file:line: sentence`, as a failing pytest item says them."""
    from .spec.parse import parse_file

    problems = 0
    for name in files:
        parsed = parse_file(Path(name))
        errors = [parsed.error] if parsed.error is not None else [
            entry for _, _, entry in parsed.entries if isinstance(entry, SpecError)]
        for error in errors:
            for line, message in error.problems:
                print(f"{name}:{line}: {message}")
                problems += 1
    if problems:
        print(f"cnncheck lint: {problems} problem{'s' if problems != 1 else ''} in "
              f"{len(files)} file{'s' if len(files) != 1 else ''}", file=sys.stderr)
    return 1 if problems else 0


def _shape(text: str) -> tuple[int, ...]:
    parts = [part.strip() for part in text.strip("[]()").split(",")]
    if not parts or not all(re.fullmatch(r"\d+", part) and int(part) > 0 for part in parts):
        raise UsageError(f"--input-size must be comma-separated positive integers such as "
                         f"1,3,32,32, not {text!r}")
    return tuple(int(part) for part in parts)


def _kwargs(text: str, option: str = "--kwargs") -> dict[str, object]:
    try:
        kwargs = json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(f"{option} is not JSON: {error}") from None
    if not isinstance(kwargs, dict):
        raise UsageError(f"{option} must be a JSON object, such as '{{\"num_classes\": 10}}'")
    return kwargs


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _model_spec(args: argparse.Namespace, spec_dir: Path) -> Spec:
    """The spec a command line names: MODEL, --input-size, --dtype, --kwargs, --device, --mode,
    --forward-kwargs."""
    sizes, dtypes, arguments, keywords = _inputs(args)
    kwargs = _kwargs(args.kwargs)
    target, sep, attr = args.model.rpartition(":")
    if not sep or not target or not attr:
        raise UsageError(f"MODEL must be module.path:Attr or path/to/file.py:Attr, not {args.model!r}")
    model = args.model
    if _names_file(args.model):
        if not Path(target).is_file():  # the command line's path is the current folder's
            raise UsageError(f"the file {target} does not exist (MODEL's path is taken relative to "
                             f"the current folder, {Path.cwd()})")
        # The spec names a model file relative to the spec file itself.
        model = f"{Path(os.path.relpath(Path(target).resolve(), spec_dir)).as_posix()}:{attr}"
    return Spec(
        name=getattr(args, "name", None) or _snake(attr.split(".")[-1]), path=spec_dir / "init.cnncheck.yaml",
        line=1, model=model, model_line=1, input_sizes=sizes, input_line=1, kwargs=kwargs, kwargs_line=1,
        dtypes=dtypes, device=args.device, mode=args.mode, arguments=arguments, forward_kwargs=keywords,
    )


def _inputs(args: argparse.Namespace) -> tuple[tuple[tuple[int, ...], ...], tuple[str, ...],
                                               tuple[object, ...] | None, dict[str, object]]:
    """--input-size, --dtype and --forward-kwargs: the input sizes, their dtypes, the argument
    trees where --input-size is JSON (else None), and forward's keyword arguments."""
    from .spec.model import tensor_inputs
    from .spec.validate import command_line_arguments

    dtypes = tuple(d.removeprefix("torch.") for d in args.dtype or ["float32"])
    for dtype in dtypes:
        if dtype not in DTYPES:
            raise UsageError(f"--dtype {dtype!r} is not a dtype cnncheck knows ({', '.join(DTYPES)})")
    if not args.input_size:  # forward takes keyword arguments only: `model(pixel_values=x)`
        given = _kwargs(getattr(args, "forward_kwargs", "{}"), "--forward-kwargs")
        if not given:
            raise UsageError("give the dummy input with --input-size SHAPE (or, for a forward that takes "
                             "keyword arguments only, with --forward-kwargs)")
        try:
            return (), (), (), command_line_arguments(None, given, dtypes[0])[1]
        except SpecError as error:
            raise UsageError("; ".join(message for _, message in error.problems)) from None
    trees = [text for text in args.input_size if "{" in text or "[[" in text.replace(" ", "")]
    if trees and (len(args.input_size) != 1 or len(dtypes) != 1):
        raise UsageError("--input-size as JSON gives every argument at once, with one --dtype at most")
    try:
        value = json.loads(trees[0]) if trees else None
    except json.JSONDecodeError as error:
        raise UsageError(f"--input-size is neither a shape nor JSON: {error}") from None
    try:
        arguments, keywords = command_line_arguments(
            value, _kwargs(getattr(args, "forward_kwargs", "{}"), "--forward-kwargs"), dtypes[0])
    except SpecError as error:
        raise UsageError("; ".join(message.replace("`input_size", "`--input-size")
                                   for _, message in error.problems)) from None
    if arguments is not None:
        leaves = tensor_inputs(arguments)
        return tuple(leaf.size for leaf in leaves), tuple(leaf.dtype for leaf in leaves), arguments, keywords
    texts = args.input_size
    if trees:  # JSON that is only shapes, `[[1, 3, 8, 8]]`, reads as the shapes would
        shapes = value if isinstance(value, list) and value and isinstance(value[0], list) else [value]
        texts = [",".join(map(str, shape)) if isinstance(shape, list) else str(shape) for shape in shapes]
    sizes = tuple(_shape(text) for text in texts)
    if len(dtypes) == 1:
        dtypes = dtypes * len(sizes)
    elif len(dtypes) != len(sizes):
        raise UsageError(f"{len(dtypes)} --dtype for {len(sizes)} --input-size: give one, or one per input")
    return sizes, dtypes, None, keywords


def _names_file(model: str) -> bool:
    target = model.rpartition(":")[0]
    return target.endswith(".py") or "/" in target or os.sep in target


def _init(args: argparse.Namespace, argv: list[str]) -> int:
    out_path = Path(args.output).resolve() if args.output else None
    if out_path is not None and out_path.exists() and not args.force:
        raise UsageError(f"{args.output} exists; pass --force to overwrite it")
    spec_dir = out_path.parent if out_path else Path.cwd()
    spec = _model_spec(args, spec_dir)
    if args.train:
        spec = replace(spec, train=TrainSpec(optimizer=args.train))
    model, model_file = args.model, _names_file(args.model)

    from . import probe  # torch is imported here
    from .runner import Options, run_spec

    probe.freeze_startup_objects()

    try:
        # A spec with no expectations: its only finding is a crash, with its verified fix.
        outcome = run_spec(spec, Path.cwd(), Options(fields=args.receptive_field, count=args.budget is not None,
                                                      varying=True))
    except probe.DeviceUnavailable as reason:
        raise UsageError(str(reason)) from None
    trace = outcome.trace
    if trace.crash is not None:
        from .report.hints import hint_lines
        from .report.terminal import definition_lines, layer_table, repair_lines

        crash = next(f for f in outcome.findings if f.key == "forward")
        print(f"cnncheck init: {crash.message}", file=sys.stderr)
        for line in (*(f"  {detail}" for detail in crash.details),
                     *(f"  {line}" for line in definition_lines(crash)),
                     *(f"  {line}" for fixed in crash.repairs for line, _ in repair_lines(fixed)),
                     *(f"  {line}" for hint in crash.hints
                       for line in hint_lines(hint.text, hint.applicability, hint.alternative, hint.lines)), "",
                     *(text for text, _ in layer_table(trace, set(crash.layers)))):
            print(line, file=sys.stderr)
        # `cnncheck fix` mends a crash through a spec; this model has none yet.
        save = args.output or "FILE.cnncheck.yaml"
        where = args.output or f"FILE.cnncheck.yaml in {Path.cwd()} (the model's path is relative to it)"
        print(f"\nNo spec was written: init states what the model does, and its forward pass raised. "
              f"`cnncheck fix` applies fixes through a spec: save the lines below as {where}, run "
              f"`cnncheck fix {save}`, then run this init again.\n", file=sys.stderr)
        for line in run_lines(spec):
            print(line, file=sys.stderr)
        return 1

    header = (f"Written by: cnncheck {shlex.join(argv)}",
              "Review it and keep what matters. Refresh values that change on purpose with",
              "`pytest --cnncheck-update`; remove a layer line to stop checking it.", "")
    text = spec_text(spec, trace, layers=args.layers, rules=args.rules, header=header,
                     budget=_budget(args.budget), fields=args.receptive_field)
    _self_check(spec, trace, text)
    if out_path is None:
        sys.stdout.write(text)
        if model_file:
            # Printed, the spec can't know where it will be saved: a spec's paths are
            # relative to the spec file, and this one is relative to the current folder.
            print(f"cnncheck init: `model: {model}` is relative to {Path.cwd()}, where init ran: "
                  "save the spec in that folder, or write it with -o FILE to have the path "
                  "relative to FILE.", file=sys.stderr)
    else:
        from .files import write_atomically

        try:
            out_path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(out_path, text.encode("utf-8"), exclusive=not args.force)
        except OSError as error:
            raise UsageError(f"{args.output} could not be written: {error.strerror or error}") from None
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


def _graph(args: argparse.Namespace) -> int:
    """`cnncheck graph`: the Markdown report's picture of one model, printed."""
    spec = _model_spec(args, Path.cwd())
    if args.boxes is not None and args.boxes < 1:
        raise UsageError(f"--boxes must be 1 or more, not {args.boxes}")

    from . import probe  # torch is imported here
    from .report.diagram import MAX_BOXES, mermaid
    from .runner import Options, run_spec

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


def _self_check(spec: Spec, trace: object, text: str) -> None:
    """The written spec must parse and pass against the very trace it came from."""
    from .check.compare import check

    parsed = parse_text(spec.path, text)
    entries = [entry for _, _, entry in parsed.entries]
    problems = [parsed.error] if parsed.error else [e for e in entries if isinstance(e, SpecError)]
    findings = [f for e in entries if isinstance(e, Spec) for f in check(e, trace)]  # type: ignore[arg-type]
    if problems or findings:
        first = (problems[0].problems[0][1] if problems else
                 f"{findings[0].key}: {findings[0].message or findings[0].expected}")
        raise RuntimeError(f"the spec init wrote does not pass against the model it came "
                           f"from ({first})")


def _sizes(args: argparse.Namespace) -> int:
    """`cnncheck sizes`: the spec a user would write with a sweep, run as the plugin runs it."""
    import time

    from .spec.expr import ExpressionError, names_in

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
        "model": args.model, "kwargs": _kwargs(args.kwargs), "dtype": args.dtype,
        "input_size": [[int(dim) if dim.isdigit() else dim for dim in shape] for shape in shapes]
        if len(shapes) > 1 else [int(dim) if dim.isdigit() else dim for dim in shapes[0]],
        **({"forward_kwargs": keywords} if (keywords := _kwargs(args.forward_kwargs, "--forward-kwargs")) else {}),
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

    from . import probe  # torch is imported here
    from .runner import run_spec

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
