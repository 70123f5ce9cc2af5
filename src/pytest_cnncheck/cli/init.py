"""`cnncheck init`: build the model, run the dummy input, write the spec it states."""
from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

from ..report.scaffold import run_lines, spec_text
from ..spec.model import Spec, SpecError, TrainSpec
from ..spec.parse import parse_text
from .common import UsageError, model_spec, names_file


def parse_budget(text: str | None) -> Fraction | None:
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


def init_command(args: argparse.Namespace, argv: list[str]) -> int:
    out_path = Path(args.output).resolve() if args.output else None
    if out_path is not None and out_path.exists() and not args.force:
        raise UsageError(f"{args.output} exists; pass --force to overwrite it")
    spec_dir = out_path.parent if out_path else Path.cwd()
    spec = model_spec(args, spec_dir)
    if args.train:
        spec = replace(spec, train=TrainSpec(optimizer=args.train))
    model, model_file = args.model, names_file(args.model)

    from .. import probe  # torch is imported here
    from ..runner import Options, run_spec

    probe.freeze_startup_objects()

    try:
        # A spec with no expectations: its only finding is a crash, with its verified fix.
        outcome = run_spec(spec, Path.cwd(), Options(fields=args.receptive_field, count=args.budget is not None,
                                                      varying=True))
    except probe.DeviceUnavailable as reason:
        raise UsageError(str(reason)) from None
    trace = outcome.trace
    if trace.crash is not None:
        from ..report.hints import hint_lines
        from ..report.terminal import definition_lines, layer_table, repair_lines

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
                     budget=parse_budget(args.budget), fields=args.receptive_field)
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
        from ..files import write_atomically

        try:
            out_path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(out_path, text.encode("utf-8"), exclusive=not args.force)
        except OSError as error:
            raise UsageError(f"{args.output} could not be written: {error.strerror or error}") from None
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


def _self_check(spec: Spec, trace: object, text: str) -> None:
    """The written spec must parse and pass against the very trace it came from."""
    from ..check.compare import check

    parsed = parse_text(spec.path, text)
    entries = [entry for _, _, entry in parsed.entries]
    problems = [parsed.error] if parsed.error else [e for e in entries if isinstance(e, SpecError)]
    findings = [f for e in entries if isinstance(e, Spec) for f in check(e, trace)]  # type: ignore[arg-type]
    if problems or findings:
        first = (problems[0].problems[0][1] if problems else
                 f"{findings[0].key}: {findings[0].message or findings[0].expected}")
        raise RuntimeError(f"the spec init wrote does not pass against the model it came "
                           f"from ({first})")
