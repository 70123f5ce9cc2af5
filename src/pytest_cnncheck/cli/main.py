"""The `cnncheck` command line: its parser, and each subcommand handed to the module of its
own (cli/init.py, sizes.py, graph.py, report.py, lint.py, fix.py); the exit statuses."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Sequence

from ..report.scaffold import LAYER_CHOICES
from ..spec.model import OPTIMIZERS, SpecError
from .common import UsageError
from .graph import graph_command
from .init import init_command
from .lint import lint_command
from .report import report_command
from .sizes import sizes_command

__all__ = ["main"]


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
    """What `init` and `graph` take to build and run one model (read by common.model_spec)."""
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
            return sizes_command(args)
        if args.command == "lint":
            return lint_command(args.files)
        if args.command == "fix":
            from .fix import fix_command

            return fix_command(args.paths, args.diff, unsafe=args.unsafe_fixes)
        if args.command == "graph":
            return graph_command(args)
        if args.command == "report":
            return report_command(args.reports, args.output, args.baseline)
        if args.command == "schema":
            sys.stdout.write((Path(__file__).parent.parent / "cnncheck.schema.json").read_text(encoding="utf-8"))
            return 0
        return init_command(args, list(sys.argv[1:] if argv is None else argv))
    except UsageError as error:
        print(f"cnncheck {args.command}: {error}", file=sys.stderr)
        return 2
    except SpecError as error:
        for _, message in error.problems:
            print(f"cnncheck {args.command}: {message}", file=sys.stderr)
        return 1


