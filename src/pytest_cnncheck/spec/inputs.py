"""The dummy input's part of a spec: `input_size` (shapes, or argument trees where an
argument is a list or mapping), `dtype` and `forward_kwargs`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .model import DTYPES, Shape, Shapes, TensorInput, tensor_inputs
from .source import LineMap, Span
from .words import did_you_mean, dtype_hint, value_kind

__all__ = ["Inputs", "structured", "typed"]


def structured(value: Any) -> bool:
    """Whether `input_size` has an argument that is a list or mapping of tensors, beyond a
    shape or a list of shapes."""
    if isinstance(value, dict):
        return True
    return isinstance(value, list) and any(
        isinstance(item, dict) or isinstance(item, list) and any(isinstance(d, (list, dict)) for d in item)
        for item in value)


_MAX_VALUES = 10_000  # in the argument trees of one spec


def _values(tree: Any, limit: int) -> int:
    """How many values `tree` holds, counting stopped past `limit`."""
    count, stack = 0, [tree]
    while stack and count <= limit:
        item = stack.pop()
        count += 1
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return count


def _at(mapping: Any, key: Any, line: int) -> int:
    return mapping.value_line(key) if isinstance(mapping, LineMap) else line


def typed(tree: Any, dtype: str) -> Any:
    """The argument tree with `dtype` for each tensor that names none."""
    if isinstance(tree, TensorInput):
        return tree if tree.dtype else TensorInput(tree.size, dtype)
    if isinstance(tree, list):
        return [typed(item, dtype) for item in tree]
    if isinstance(tree, dict):
        return {key: typed(item, dtype) for key, item in tree.items()}
    return tree


class Inputs:
    """The Validator's methods for the dummy input (a mixin: Validator gives `problem` and
    `shape`)."""

    if TYPE_CHECKING:
        line: int  # the spec's own line

        def problem(self, line: int, message: str) -> None: ...

        def shape(self, value: Any, line: int, key: str, span: Span | None = None,
                  minimum: int | None = None) -> Shape | None: ...

        def shapes(self, value: Any, line: int, key: str, span: Span | None = None) -> Shapes | None: ...

    def inputs(self, body: LineMap, fields: dict[str, Any]) -> tuple[tuple[int, ...], ...]:
        """Reads `input_size`, `dtype` and `forward_kwargs` into `fields`; the input sizes."""
        input_sizes: tuple[tuple[int, ...], ...] = ()
        arguments: tuple[Any, ...] | None = None
        keywords_only = "forward_kwargs" in body and body.get("input_size", []) == []
        if keywords_only:  # every tensor is a keyword argument: `model(pixel_values=x)`
            arguments = ()
        elif "input_size" not in body:
            self.problem(self.line, "The spec has no `input_size` (the dummy input's shape, "
                                    "batch first, e.g. [1, 3, 32, 32]).")
        elif isinstance(body["input_size"], dict):
            self.problem(body.value_line("input_size"), (
                "`input_size` is a mapping, but forward's positional arguments are a list. To call "
                "forward with keyword arguments (`model(pixel_values=x)`), write them under "
                "`forward_kwargs: {pixel_values: [1, 3, 224, 224]}` and leave `input_size` out; for "
                "one argument that is itself a mapping, write `input_size: [{image: [1, 3, 224, 224]}]`."))
        elif structured(body["input_size"]):
            arguments = self.arguments(body["input_size"], body.value_line("input_size"))
        else:
            input_sizes = self.input_sizes(body["input_size"], body.value_line("input_size"))
        count = len(arguments) if arguments is not None else len(input_sizes)
        dtypes = None
        if "dtype" in body:
            dtypes = self.dtypes(body["dtype"], body.value_line("dtype"), count)
            if dtypes:
                fields["dtype_line"] = body.value_line("dtype")
        if arguments is not None:
            arguments = tuple(typed(argument, dtypes[i] if dtypes else "float32")
                              for i, argument in enumerate(arguments))
            leaves = tensor_inputs(arguments)
            input_sizes = tuple(leaf.size for leaf in leaves)
            fields["arguments"] = arguments
            fields["dtypes"] = tuple(leaf.dtype for leaf in leaves)
        elif dtypes:
            fields["dtypes"] = dtypes
        elif input_sizes:
            fields["dtypes"] = ("float32",) * len(input_sizes)
        if "forward_kwargs" in body:
            value, at = body["forward_kwargs"], body.value_line("forward_kwargs")
            if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
                self.problem(at, "`forward_kwargs` must be a mapping of forward's argument names to "
                                 f"values, not {value_kind(value)}.")
            elif _values(value, _MAX_VALUES) > _MAX_VALUES:
                self.problem(at, f"`forward_kwargs` holds more than {_MAX_VALUES:,} values.")
            else:
                fields["forward_kwargs"] = {key: typed(self.argument(item, _at(value, key, at),
                                                                      f"forward_kwargs.{key}", 1), "float32")
                                            for key, item in value.items()}
                fields["forward_kwargs_line"] = at
        return input_sizes

    def input_sizes(self, value: Any, line: int) -> tuple[tuple[int, ...], ...]:
        if isinstance(value, dict) or isinstance(value, list) and any(
                isinstance(item, dict) or isinstance(item, list) and any(
                    isinstance(dim, (list, dict)) for dim in item) for item in value):
            self.problem(line, "`input_size` must be a shape or a list of shapes, one per input "
                               "(not nested, nor a mapping).")
            return ()
        shapes = self.shapes(value, line, "input_size")
        if shapes is None:
            return ()
        sizes = []
        for shape in shapes.shapes:
            if not isinstance(shape, Shape):
                self.problem(line, "`input_size` must be a shape or a list of shapes, one per input "
                                   "(not nested, nor a mapping).")
                return ()
            if any(d is None for d in shape.dims):
                self.problem(shape.line, "`input_size` must give every dimension; `_` is for "
                                         "expectations only.")
                return ()
            sizes.append(tuple(d.value for d in shape.dims if d is not None))
        return tuple(sizes)

    def arguments(self, value: Any, line: int) -> tuple[Any, ...]:
        """`input_size` where an argument is a list or a mapping: one argument tree each."""
        if _values(value, _MAX_VALUES) > _MAX_VALUES:
            # YAML aliases can make a small file a tree of billions of values.
            self.problem(line, f"`input_size` holds more than {_MAX_VALUES:,} values: a model's inputs "
                               "are a few tensors.")
            return ()
        items = value if isinstance(value, list) else [value]
        item_lines = getattr(value, "item_lines", [line] * len(items))
        return tuple(self.argument(item, item_line, f"input_size[{index}]", 0)
                     for index, (item, item_line) in enumerate(zip(items, item_lines)))

    def argument(self, value: Any, line: int, key: str, depth: int) -> Any:
        """One argument of forward: a shape (a tensor of zeros), `{size: shape, dtype: int64}`,
        a list or mapping of arguments, or a plain value (a number, text, true/false, null)."""
        if depth > 8:
            self.problem(line, f"`{key}` nests deeper than 8 levels.")
            return None
        if isinstance(value, dict):
            if "size" in value and not set(value) <= {"size", "dtype"}:
                extra = sorted(str(k) for k in set(value) - {"size", "dtype"})
                self.problem(line, f"`{key}` is a tensor, `{{size: shape, dtype: int64}}`: unknown key "
                                   f"{extra[0]!r}.")
                return None
            if "size" in value:
                shape = self.shape(value["size"], _at(value, "size", line), f"{key}.size", minimum=0)
                dtype = value.get("dtype")
                if dtype is not None:
                    dtype = (self.dtypes(dtype, _at(value, "dtype", line), 1) or ("float32",))[0]
                return self.tensor(shape, key, dtype)
            return {str(name): self.argument(item, _at(value, name, line), f"{key}.{name}", depth + 1)
                    for name, item in value.items()}
        if isinstance(value, list):
            if value and not any(isinstance(item, (list, dict)) for item in value):
                # A shape; an argument's own batch may be 0 (a target with no boxes).
                return self.tensor(self.shape(value, line, key, minimum=1 if depth == 0 else 0), key)
            item_lines = getattr(value, "item_lines", [line] * len(value))
            return [self.argument(item, item_line, f"{key}[{index}]", depth + 1)
                    for index, (item, item_line) in enumerate(zip(value, item_lines))]
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        self.problem(line, f"`{key}` must be a shape, a list or mapping of them, or a plain value, "
                           f"not {value_kind(value)}.")
        return None

    def tensor(self, shape: Shape | None, key: str, dtype: str | None = None) -> TensorInput | None:
        if shape is None:
            return None
        if any(d is None for d in shape.dims):
            self.problem(shape.line, f"`{key}` must give every dimension; `_` is for expectations only.")
            return None
        return TensorInput(tuple(d.value for d in shape.dims if d is not None), dtype or "")

    def dtypes(self, value: Any, line: int, inputs: int) -> tuple[str, ...] | None:
        names = list(value) if isinstance(value, list) else [value]
        result = []
        for name in names:
            text = name.removeprefix("torch.") if isinstance(name, str) else name
            if text not in DTYPES or not isinstance(text, str):
                hint = (dtype_hint(text) or did_you_mean(text, DTYPES)) if isinstance(text, str) else ""
                self.problem(line, f"`dtype`: {value_kind(name)} is not a dtype cnncheck knows.{hint} "
                                   f"Known: {', '.join(DTYPES)}.")
                return None
            result.append(text)
        if not isinstance(value, list):
            return tuple(result) * max(inputs, 1)
        if inputs and len(result) != inputs:
            self.problem(line, f"`dtype` lists {len(result)} dtypes for {inputs} inputs: "
                               "give one dtype for all inputs, or one per input.")
            return None
        return tuple(result)
