"""The command line's shared readers: a MODEL, its input sizes, dtypes and kwargs as a Spec."""
from __future__ import annotations

import argparse
import json
import os
import re
from pathlib import Path

from ..spec.model import DTYPES, Spec, SpecError


class UsageError(Exception):
    pass


def parse_shape(text: str) -> tuple[int, ...]:
    parts = [part.strip() for part in text.strip("[]()").split(",")]
    if not parts or not all(re.fullmatch(r"\d+", part) and int(part) > 0 for part in parts):
        raise UsageError(f"--input-size must be comma-separated positive integers such as "
                         f"1,3,32,32, not {text!r}")
    return tuple(int(part) for part in parts)


def parse_kwargs(text: str, option: str = "--kwargs") -> dict[str, object]:
    try:
        kwargs = json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(f"{option} is not JSON: {error}") from None
    if not isinstance(kwargs, dict):
        raise UsageError(f"{option} must be a JSON object, such as '{{\"num_classes\": 10}}'")
    return kwargs


def snake_case(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def model_spec(args: argparse.Namespace, spec_dir: Path) -> Spec:
    """The spec a command line names: MODEL, --input-size, --dtype, --kwargs, --device, --mode,
    --forward-kwargs."""
    sizes, dtypes, arguments, keywords = parse_inputs(args)
    kwargs = parse_kwargs(args.kwargs)
    target, sep, attr = args.model.rpartition(":")
    if not sep or not target or not attr:
        raise UsageError(f"MODEL must be module.path:Attr or path/to/file.py:Attr, not {args.model!r}")
    model = args.model
    if names_file(args.model):
        if not Path(target).is_file():  # the command line's path is the current folder's
            raise UsageError(f"the file {target} does not exist (MODEL's path is taken relative to "
                             f"the current folder, {Path.cwd()})")
        # The spec names a model file relative to the spec file itself.
        model = f"{Path(os.path.relpath(Path(target).resolve(), spec_dir)).as_posix()}:{attr}"
    return Spec(
        name=getattr(args, "name", None) or snake_case(attr.split(".")[-1]), path=spec_dir / "init.cnncheck.yaml",
        line=1, model=model, model_line=1, input_sizes=sizes, input_line=1, kwargs=kwargs, kwargs_line=1,
        dtypes=dtypes, device=args.device, mode=args.mode, arguments=arguments, forward_kwargs=keywords,
    )


def parse_inputs(args: argparse.Namespace) -> tuple[tuple[tuple[int, ...], ...], tuple[str, ...],
                                               tuple[object, ...] | None, dict[str, object]]:
    """--input-size, --dtype and --forward-kwargs: the input sizes, their dtypes, the argument
    trees where --input-size is JSON (else None), and forward's keyword arguments."""
    from ..spec.model import tensor_inputs
    from ..spec.validate import command_line_arguments

    dtypes = tuple(d.removeprefix("torch.") for d in args.dtype or ["float32"])
    for dtype in dtypes:
        if dtype not in DTYPES:
            raise UsageError(f"--dtype {dtype!r} is not a dtype cnncheck knows ({', '.join(DTYPES)})")
    if not args.input_size:  # forward takes keyword arguments only: `model(pixel_values=x)`
        given = parse_kwargs(getattr(args, "forward_kwargs", "{}"), "--forward-kwargs")
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
            value, parse_kwargs(getattr(args, "forward_kwargs", "{}"), "--forward-kwargs"), dtypes[0])
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
    sizes = tuple(parse_shape(text) for text in texts)
    if len(dtypes) == 1:
        dtypes = dtypes * len(sizes)
    elif len(dtypes) != len(sizes):
        raise UsageError(f"{len(dtypes)} --dtype for {len(sizes)} --input-size: give one, or one per input")
    return sizes, dtypes, None, keywords


def names_file(model: str) -> bool:
    target = model.rpartition(":")[0]
    return target.endswith(".py") or "/" in target or os.sep in target
