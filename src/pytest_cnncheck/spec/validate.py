"""One spec's validation: the LineMap read from YAML -> a Spec, collecting every problem
with its line, each said as a sentence with what to write instead."""

from __future__ import annotations

import difflib
import itertools
import keyword
import math
import re
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable

from .expr import ExpressionError, evaluate, names_in
from .inputs import Inputs, structured, typed
from .model import (
    BYTE_SUFFIXES,
    CALL_KEYS,
    COUNT_SUFFIXES,
    DEFAULT_POOLING,
    DEVICES,
    EXPECT_KEYS,
    LAYER_KEYS,
    MAGNITUDE,
    MAX_COMBINATIONS,
    MEMORY_KEYS,
    MODES,
    OPTIMIZERS,
    PARAMS_KEYS,
    PRECISIONS,
    RULE_KEYS,
    SPEC_KEYS,
    TRAIN_KEYS,
    TRAINING_PARTS,
    Bound,
    CallSpec,
    Count,
    Dim,
    FieldSpec,
    FlattenSpec,
    LayerSpec,
    Number,
    ParamsSpec,
    Scan,
    Shape,
    ShapeMap,
    ShapeNode,
    Shapes,
    ShapeSeq,
    Spec,
    SpecError,
    TrainSpec,
)
from .sizes import SizeSet, SizeSetError, parse_sizes
from .source import LineMap, Span
from .words import device_hint, did_you_mean, value_kind

__all__ = ["Validator", "did_you_mean", "value_kind"]


def command_line_arguments(value: Any, keywords: dict[str, Any],
                           dtype: str) -> tuple[tuple[Any, ...] | None, dict[str, Any]]:
    """`cnncheck init`'s --input-size given as JSON argument trees (None where it is plain
    shapes) and its --forward-kwargs, validated as a spec's; SpecError where they are not."""
    validator = Validator(Path("."), "", 1)
    arguments = None
    if value is not None and structured(value):
        arguments = tuple(typed(tree, dtype) for tree in validator.arguments(value, 1))
    made = {key: typed(validator.argument(item, 1, f"forward_kwargs.{key}", 1), dtype)
            for key, item in keywords.items()}
    if validator.problems:
        raise SpecError(validator.problems)
    return arguments, made


class Validator(Inputs):
    """Turns one spec's LineMap into a Spec, collecting every problem."""

    def __init__(self, path: Path, name: str, line: int,
                 names: dict[str, int] | None = None) -> None:
        self.path = path
        self.name = name
        self.line = line
        self.names = names or {}  # the sweep combination that expressions may use
        self.problems: list[tuple[int, str]] = []

    def problem(self, line: int, message: str) -> None:
        self.problems.append((line, message))

    # Complex on purpose: one branch per top-level key of a spec.
    def spec(self, body: Any, line: int) -> Spec:  # noqa: C901
        if not isinstance(body, LineMap):
            raise SpecError.at(line, f"The spec {self.name!r} must be a mapping with at least "
                                     f"`model` and `input_size`, not {value_kind(body)}.")
        # forward's tensors may all be keyword arguments (`model(pixel_values=x)`): then no input_size.
        keywords_only = "forward_kwargs" in body
        self.known_keys(body, SPEC_KEYS, "spec", required=("model",) if keywords_only else ("model", "input_size"))
        fields: dict[str, Any] = {}
        model = body.get("model")
        if "model" not in body:
            self.problem(self.line, "The spec has no `model` (write `model: package.module:Class` "
                                    "or `model: path/to/file.py:Class`).")
        elif not isinstance(model, str) or not _is_model_ref(model):
            self.problem(body.value_line("model"),
                         f"`model` must be 'module.path:Attr' or 'file.py:Attr', not {value_kind(model)}.")
        if "kwargs" in body:
            kwargs = body["kwargs"]
            if not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
                self.problem(body.value_line("kwargs"),
                             f"`kwargs` must be a mapping of argument names to values, not {value_kind(kwargs)}.")
            else:
                fields["kwargs"] = kwargs
                fields["kwargs_line"] = body.value_line("kwargs")
                if isinstance(kwargs, LineMap):
                    fields["kwargs_lines"] = {key: kwargs.key_line(key) for key in kwargs}
        input_sizes = self.inputs(body, fields)
        if "device" in body:
            device = self.choice(body, "device", DEVICES, device_hint)
            if device:
                fields["device"] = device
                fields["device_line"] = body.value_line("device")
        if "mode" in body:
            mode = self.choice(body, "mode", MODES)
            if mode:
                fields["mode"] = mode
        if "train" in body:
            train = self.train(body["train"], body.value_line("train"))
            if train is not None:
                fields["train"] = train
        if "expect" in body:
            self.expect(body["expect"], body.value_line("expect"), fields)
            if "train" not in fields and any(key == "training" or key.startswith("training.")
                                             for key, _, _ in fields.get("memory", ())):
                fields["train"] = TrainSpec()  # a step with train's defaults
        if "rules" in body:
            self.rules(body["rules"], body.value_line("rules"), fields)
        if self.problems:
            raise SpecError(sorted(self.problems))
        return Spec(
            name=self.name, path=self.path, line=self.line,
            model=str(model), model_line=body.value_line("model"),
            input_sizes=input_sizes, input_line=body.value_line("input_size"),
            bindings=tuple(self.names.items()), **fields,
        )

    # Complex on purpose: one branch per key of a sweep.
    def sweep(self, body: LineMap) -> list[dict[str, int]]:  # noqa: C901
        """Every combination of the sizes `sweep` lists, tied names computed; SpecError if none."""
        value, line = body["sweep"], body.value_line("sweep")
        if not isinstance(value, LineMap) or not value:
            raise SpecError.at(line, "`sweep` must map names to the sizes to try, such as "
                                     f"{{H: [64, 96, 128], W: H}}, not {value_kind(value)}.")
        free: dict[str, list[int]] = {}
        ties: dict[str, str] = {}
        broken: set[str] = set()  # names whose sizes are wrong: said once, not again by their ties
        for key in value:
            key_line, item, item_line = value.key_line(key), value[key], value.value_line(key)
            if (not isinstance(key, str) or not key.isidentifier() or keyword.iskeyword(key)
                    or key in ("_", "ceil")):
                self.problem(key_line, f"`sweep`: {key!r} cannot be a name; use a word such as "
                                       "H, W or B (not _ or ceil).")
            elif isinstance(item, str) and not re.search(r"\d\s*\.\.|^\s*\d+\s*$", item):
                ties[key] = item  # W: H
            else:
                try:
                    sizes = parse_sizes(item)
                except SizeSetError as error:
                    self.problem(item_line, f"`sweep.{key}`: {error}.")
                    broken.add(key)
                    continue
                if not sizes.bounded:
                    self.problem(item_line, f"`sweep.{key}`: {sizes} has no end; a sweep tries every "
                                            "size, so give the last one (32..512).")
                else:
                    free[key] = sizes.values()
        for key, text in ties.items():
            try:
                used = names_in(text)
            except ExpressionError as error:
                self.problem(value.value_line(key), f"`sweep.{key}`: {text!r} {error}.")
                continue
            strangers = [name for name in used if name not in free]
            if any(name in broken for name in used):
                continue
            if strangers and used == [text.strip()] and text.strip() not in ties:
                self.problem(value.value_line(key), (
                    f"`sweep.{key}`: {text!r} is neither sizes (64, [64, 96], 32..512 step 32) "
                    f"nor a name of the sweep to tie {key} to.{_name_hint(text.strip(), list(free))}"))
            elif strangers:
                what = "tied itself" if strangers[0] in ties else "not declared in `sweep`"
                self.problem(value.value_line(key), (
                    f"`sweep.{key}`: {text!r} uses {strangers[0]!r}, which is {what}; tie a name "
                    "to names that list sizes (W: H)."))
        count = math.prod(len(sizes) for sizes in free.values())
        if count > MAX_COMBINATIONS:
            self.problem(line, f"`sweep` makes {count:,} combinations; at most "
                               f"{MAX_COMBINATIONS:,} are checked.")
        self.unused_names(body, [*free, *ties])
        if self.problems:
            raise SpecError(sorted(self.problems))
        combinations = []
        for values in itertools.product(*free.values()):
            combination = dict(zip(free, values))
            for key, text in ties.items():
                try:
                    combination[key] = evaluate(text, combination)
                except ExpressionError as error:
                    raise SpecError.at(value.value_line(key),
                                       f"`sweep.{key}`: {text!r} {error}.") from None
            combinations.append({key: combination[key] for key in value})  # as declared
        return combinations

    def unused_names(self, body: LineMap, declared: list[str]) -> None:
        sizes = body.get("input_size")
        texts = [d for d in (sizes if isinstance(sizes, list) else [])
                 for d in (d if isinstance(d, list) else [d]) if isinstance(d, str)]
        used = set()
        for text in texts:
            try:
                used.update(names_in(text))
            except ExpressionError:
                pass  # reported where input_size is read
        for key in declared:
            if key not in used and "input_size" in body:
                self.problem(body["sweep"].key_line(key), f"`sweep` declares {key}, but `input_size` "
                                                          "does not use it: a swept name sizes the input.")

    # -- helpers for every level ------------------------------------------------

    def known_keys(self, mapping: LineMap, allowed: tuple[str, ...], where: str,
                   required: tuple[str, ...] = ()) -> None:
        # A typo of a required key that is missing is the likeliest meaning.
        missing = [key for key in required if key not in mapping]
        for key in mapping:
            if key not in allowed:
                hint = did_you_mean(str(key), missing) or did_you_mean(str(key), allowed)
                self.problem(mapping.key_line(key),
                             f"Unknown key {key!r} in {where}.{hint} "
                             f"Known keys: {', '.join(allowed)}.")

    def choice(self, body: LineMap, key: str, allowed: tuple[str, ...],
               hint_for: Callable[[str], str | None] = lambda _: None) -> str | None:
        value = body[key]
        if value not in allowed or not isinstance(value, str):
            hint = (hint_for(value) or did_you_mean(value, allowed)) if isinstance(value, str) else ""
            self.problem(body.value_line(key),
                         f"`{key}` must be one of {', '.join(allowed)}, not {value_kind(value)}.{hint}")
            return None
        return value

    def mapping(self, value: Any, line: int, key: str, allowed: tuple[str, ...]) -> LineMap | None:
        if not isinstance(value, LineMap):
            self.problem(line, f"`{key}` must be a mapping, not {value_kind(value)}.")
            return None
        self.known_keys(value, allowed, f"`{key}`")
        return value

    def integer(self, value: Any, line: int, key: str, minimum: int,
                span: Span | None = None, suffixes: dict[str, int] | None = None) -> Number | None:
        """An int or an arithmetic string, at least `minimum`; with `suffixes`, a magnitude
        such as `25.6M` too."""
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            self.problem(line, f"`{key}` must be an integer or an arithmetic expression such as "
                               f"'16*5*5', not {value_kind(value)}.")
            return None
        magnitude = MAGNITUDE.match(value) if isinstance(value, str) else None
        if isinstance(value, int):
            number = Number(value, str(value), span)
        elif magnitude is not None:
            found = self.magnitude(magnitude, value, line, key, suffixes)
            if found is None:
                return None
            number = Number(found, value.strip(), span)
        else:
            try:
                number = Number(evaluate(value, self.names), value.strip(), span,
                                tuple((name, self.names[name]) for name in names_in(value)))
            except ExpressionError as error:
                self.problem(line, f"`{key}`: the expression {value!r} {error}.")
                return None
        if number.value < minimum:
            what = "positive" if minimum == 1 else "zero or more"
            self.problem(line, f"`{key}` must be {what}, but {number} is not.")
            return None
        return number

    def magnitude(self, match: re.Match[str], text: str, line: int, key: str,
                  suffixes: dict[str, int] | None) -> int | None:
        """`25.6M` -> 25,600,000, in exact arithmetic; a suffix that is not one is a
        problem with the nearest that is."""
        digits, suffix = match.group(1).replace("_", ""), match.group(2)
        if not suffixes:
            self.problem(line, f"`{key}` must be an integer or an arithmetic expression such as "
                               f"'16*5*5', not the text {text.strip()!r}.")
            return None
        if suffix not in suffixes:
            close = [s for s in suffixes if s.lower() == suffix.lower()] or \
                difflib.get_close_matches(suffix, list(suffixes), n=1)
            hint = f" Did you mean {digits}{close[0]}?" if close else ""
            self.problem(line, f"`{key}`: {text.strip()!r} has the suffix {suffix!r}, which is not one "
                               f"cnncheck knows ({', '.join(suffixes)}).{hint}")
            return None
        value = Fraction(digits) * suffixes[suffix]
        if value.denominator != 1:
            self.problem(line, f"`{key}`: {text.strip()!r} is {float(value):,} , not a whole number.")
            return None
        return int(value)

    def count(self, value: Any, line: int, key: str, span: Span | None,
              suffixes: dict[str, int] = COUNT_SUFFIXES) -> Count | None:
        """An exact count (a number, an expression, `25.6M`), or a bound: `{max: 5M}`,
        `{min: 1M, max: 5M}`."""
        if isinstance(value, dict):
            if not value or not set(value) <= {"min", "max"}:
                self.problem(line, f"`{key}` as a mapping is a bound: {{max: 5M}}, {{min: 1M}} or "
                                   f"both, not {value_kind(value)}.")
                return None
            at = value.value_line if isinstance(value, LineMap) else (lambda _: line)
            low = self.integer(value["min"], at("min"), f"{key}.min", 0, suffixes=suffixes) \
                if "min" in value else None
            high = self.integer(value["max"], at("max"), f"{key}.max", 0, suffixes=suffixes) \
                if "max" in value else None
            if ("min" in value and low is None) or ("max" in value and high is None):
                return None
            if low is not None and high is not None and low.value > high.value:
                self.problem(line, f"`{key}`: min {low} is above max {high}.")
                return None
            return Bound(low, high)
        return self.integer(value, line, key, 0, span=span, suffixes=suffixes)

    def shape(self, value: Any, line: int, key: str, span: Span | None = None,
              minimum: int | None = None) -> Shape | None:
        if not isinstance(value, list) or not value and key.startswith("input_size"):
            self.problem(line, f"`{key}` must be a shape such as [1, 16, 5, 5], not {value_kind(value)}.")
            return None
        if not value:
            return Shape((), line, span)  # a 0-dimensional tensor: a loss, a scalar
        dims: list[Dim] = []
        item_lines = getattr(value, "item_lines", [line] * len(value))
        item_spans = getattr(value, "item_spans", [None] * len(value))
        for index, (dim, dim_line, dim_span) in enumerate(zip(value, item_lines, item_spans)):
            if dim == "_":
                dims.append(None)
                continue
            # An output may be empty: a detector that finds nothing gives boxes [0, 4].
            least = minimum if minimum is not None else 1 if key.startswith("input_size") else 0
            number = self.integer(dim, dim_line, f"{key}[{index}]", minimum=least, span=dim_span)
            if number is None:
                return None  # one problem a shape is enough to read
            dims.append(number)
        return Shape(tuple(dims), line, span)

    def shapes(self, value: Any, line: int, key: str, span: Span | None = None) -> Shapes | None:
        """One shape, or a tree of them: a list of shapes (several inputs, a tuple output),
        nested lists (an LSTM's `[output, [h_n, c_n]]`), a mapping (a dict of outputs)."""
        node = self.node(value, line, key, span)
        return Shapes(node, line, span) if node is not None else None

    def node(self, value: Any, line: int, key: str, span: Span | None, depth: int = 0) -> ShapeNode | None:
        if depth > 8:
            self.problem(line, f"`{key}` nests deeper than the outputs cnncheck records (8 levels).")
            return None
        if isinstance(value, dict):
            items: list[tuple[str, ShapeNode | None]] = []
            for name, item in value.items():
                at = value.value_line(name) if isinstance(value, LineMap) else line
                where = value.value_spans.get(name) if isinstance(value, LineMap) else None
                if item == "_" or item is None:  # `_` or null: anything, a None output too
                    items.append((str(name), None))
                    continue
                node = self.node(item, at, f"{key}.{name}", where, depth + 1)
                if node is None:
                    return None
                items.append((str(name), node))
            if not items:
                self.problem(line, f"`{key}` is an empty mapping: state at least one output's shape.")
                return None
            return ShapeMap(tuple(items), line, span)
        structured = [isinstance(item, (list, dict)) for item in value] if isinstance(value, list) else []
        if any(structured):
            if not all(is_tree or item == "_" or item is None for is_tree, item in zip(structured, value)):
                self.problem(line, f"`{key}` mixes dimensions and shapes: write one shape "
                                   "[1, 10] or a list of shapes [[1, 10], [1, 4]] (`_` for any one).")
                return None
            item_lines = getattr(value, "item_lines", [line] * len(value))
            item_spans = getattr(value, "item_spans", [None] * len(value))
            nodes: list[ShapeNode | None] = []
            for index, (item, item_line, item_span) in enumerate(zip(value, item_lines, item_spans)):
                if item == "_" or item is None:
                    nodes.append(None)
                    continue
                node = self.node(item, item_line, f"{key}[{index}]", item_span, depth + 1)
                if node is None:
                    return None
                nodes.append(node)
            return ShapeSeq(tuple(nodes), line, span)
        return self.shape(value, line, key, span)

    # -- the spec's own keys -------------------------------------------------------

    def expect(self, value: Any, line: int, fields: dict[str, Any]) -> None:
        expect = self.mapping(value, line, "expect", EXPECT_KEYS)
        if expect is None:
            return
        if "output" in expect:
            fields["output"] = self.shapes(expect["output"], expect.value_line("output"),
                                           "expect.output", expect.value_spans.get("output"))
        if "params" in expect:
            fields["params"] = self.params(expect["params"], expect.value_line("params"),
                                           expect.value_spans.get("params"))
        if "mult_adds" in expect:
            number = self.count(expect["mult_adds"], expect.value_line("mult_adds"),
                                "expect.mult_adds", expect.value_spans.get("mult_adds"))
            if number is not None:
                fields["mult_adds"] = (number, expect.value_line("mult_adds"))
        if "memory" in expect:
            memory = self.mapping(expect["memory"], expect.value_line("memory"), "expect.memory",
                                  MEMORY_KEYS)
            if memory is not None:
                stated = []
                for key in MEMORY_KEYS:
                    if key == "training" and key in memory:
                        stated += self.training(memory["training"], memory.value_line(key),
                                                memory.value_spans.get(key))
                    elif key in memory:
                        found = self.count(memory[key], memory.value_line(key), f"expect.memory.{key}",
                                           memory.value_spans.get(key), BYTE_SUFFIXES)
                        if found is not None:
                            stated.append((key, found, memory.value_line(key)))
                fields["memory"] = tuple(stated)
        if "layers" in expect:
            fields["layers"] = self.layers(expect["layers"], expect.value_line("layers"))
        if "flatten" in expect:
            fields["flatten"] = self.flatten(expect["flatten"], expect.value_line("flatten"))
        if "accepts" in expect:
            fields["scan"] = self.accepts(expect)

    def training(self, value: Any, line: int, span: Span | None) -> list[tuple[str, Count, int]]:
        """`expect.memory.training`: the peak's bound (`{max: 12G}`), or a count, and bounds
        on its parts (`{max: 12G, activations: {max: 4G}}`)."""
        where = "expect.memory.training"
        if not isinstance(value, LineMap) or set(value) <= {"min", "max"}:
            found = self.count(value, line, where, span, BYTE_SUFFIXES)
            return [] if found is None else [("training", found, line)]
        self.known_keys(value, ("min", "max", *TRAINING_PARTS), f"`{where}`")
        stated: list[tuple[str, Count, int]] = []
        bound = LineMap(value.line)
        for key in ("min", "max"):
            if key in value:
                bound[key] = value[key]
                bound.value_lines[key] = value.value_line(key)
        if bound:
            first = min(bound.value_lines.values())
            found = self.count(bound, first, where, None, BYTE_SUFFIXES)
            if found is not None:
                stated.append(("training", found, first))
        for part in TRAINING_PARTS:
            if part in value:
                found = self.count(value[part], value.value_line(part), f"{where}.{part}",
                                   value.value_spans.get(part), BYTE_SUFFIXES)
                if found is not None:
                    stated.append((f"training.{part}", found, value.value_line(part)))
        return stated

    def train(self, value: Any, line: int) -> TrainSpec | None:
        """`train:`: the optimizer, precision, loss and zero_grad of the step to measure."""
        if value is True or value == {}:
            return TrainSpec(line=line)
        train = self.mapping(value, line, "train", TRAIN_KEYS)
        if train is None:
            return None
        settings: dict[str, Any] = {"line": line}
        for key, allowed in (("optimizer", OPTIMIZERS), ("precision", PRECISIONS)):
            if key in train:
                chosen = self.choice(train, key, allowed)
                if chosen is None:
                    return None
                settings[key] = chosen
        if "loss" in train:
            loss = train["loss"]
            if isinstance(loss, bool) or not isinstance(loss, (str, int)):
                self.problem(train.value_line("loss"), "`train.loss` names the output the loss is: a key of the "
                             f"dict forward returns, or an index, not {value_kind(loss)}.")
                return None
            settings["loss"] = None if loss == "sum" else str(loss)
        if "set_to_none" in train:
            if not isinstance(train["set_to_none"], bool):
                given = value_kind(train["set_to_none"])
                self.problem(train.value_line("set_to_none"), "`train.set_to_none` must be true (zero_grad's "
                             f"default: no gradients held before backward) or false, not {given}.")
                return None
            settings["set_to_none"] = train["set_to_none"]
        return TrainSpec(**settings)

    def accepts(self, expect: LineMap) -> Scan | None:
        value, line = expect["accepts"], expect.value_line("accepts")
        if not self.names:
            self.problem(line, "`expect.accepts` needs a `sweep` that gives the sizes to try, "
                               "such as sweep: {H: 16..64}.")
            return None
        others = [key for key in expect if key != "accepts"]
        if others:
            self.problem(expect.key_line(others[0]), (
                "`expect.accepts` checks which sizes run, and stands alone: state "
                f"`{others[0]}` in a spec of its own (its sweep makes an item a size)."))
        if not isinstance(value, LineMap) or not value:
            self.problem(line, "`expect.accepts` must map sweep names to the sizes that run, "
                               f"such as {{H: 32..35}}, not {value_kind(value)}.")
            return None
        accepts = []
        for name in value:
            name_line = value.value_line(name)
            if name not in self.names:
                self.problem(value.key_line(name), (
                    f"`expect.accepts`: {name!r} is not a name of the sweep "
                    f"({', '.join(self.names)}).{did_you_mean(str(name), self.names)}"))
                continue
            try:
                accepts.append((str(name), parse_sizes(value[name])
                                if value[name] != [] else SizeSet(())))
            except SizeSetError as error:
                self.problem(name_line, f"`expect.accepts.{name}`: {error}.")
        return Scan((), tuple(accepts), line)

    def params(self, value: Any, line: int, span: Span | None) -> ParamsSpec | None:
        if not isinstance(value, LineMap) or value and set(value) <= {"min", "max"}:
            number = self.count(value, line, "expect.params", span)
            return ParamsSpec(line, total=(number, line), bare=True) if number else None
        self.known_keys(value, PARAMS_KEYS, "`expect.params`")
        counts: dict[str, tuple[Count, int]] = {}
        for key in PARAMS_KEYS:
            if key in value:
                number = self.count(value[key], value.value_line(key), f"expect.params.{key}",
                                    value.value_spans.get(key))
                if number is not None:
                    counts[key] = (number, value.value_line(key))
        return ParamsSpec(line, total=counts.get("total"), trainable=counts.get("trainable"))

    def layers(self, value: Any, line: int) -> tuple[LayerSpec, ...]:
        if not isinstance(value, LineMap):
            self.problem(line, "`expect.layers` must map layer names (as named_modules() gives "
                               f"them, e.g. conv1 or features.0) to expectations, not {value_kind(value)}.")
            return ()
        layers = []
        for name, body in value.items():
            if not isinstance(name, (str, int)) or isinstance(name, bool):
                quote = " (quote it: YAML reads 0.10 as the number 0.1)" if isinstance(name, float) else ""
                self.problem(value.key_line(name), f"Layer names must be text such as 'features.0', "
                                                   f"not {value_kind(name)}{quote}.")
                continue
            layers.append(self.layer(str(name), body, value.key_line(name), value.value_line(name)))
        return tuple(layer for layer in layers if layer is not None)

    def layer(self, name: str, value: Any, key_line: int, line: int) -> LayerSpec | None:
        key = f"expect.layers.{name}"
        body = self.mapping(value, line, key, LAYER_KEYS)
        if body is None:
            return None
        found: dict[str, Any] = {}
        for which in ("output", "input"):
            if which in body:
                found[which] = self.shapes(body[which], body.value_line(which), f"{key}.{which}",
                                           body.value_spans.get(which))
        if "params" in body:
            number = self.count(body["params"], body.value_line("params"), f"{key}.params",
                                body.value_spans.get("params"))
            found["params"] = (number, body.value_line("params")) if number else None
        if "type" in body:
            if not isinstance(body["type"], str):
                self.problem(body.value_line("type"), f"`{key}.type` must be a class name such as "
                                                      f"Conv2d, not {value_kind(body['type'])}.")
            else:
                found["type"] = (body["type"], body.value_line("type"))
                found["type_span"] = body.value_spans.get("type")
        if "calls" in body:
            calls_value, calls_line = body["calls"], body.value_line("calls")
            if not isinstance(calls_value, list) or not calls_value:
                self.problem(calls_line, f"`{key}.calls` must list one entry per call, such as "
                                         f"- {{output: [1, 6, 14, 14]}}, not {value_kind(calls_value)}.")
            else:
                if "output" in body or "input" in body:
                    self.problem(calls_line, f"`{key}` gives both `calls` and a single "
                                             "`output`/`input`: put them under `calls`, one per call.")
                calls = []
                item_lines = getattr(calls_value, "item_lines", [calls_line] * len(calls_value))
                for index, (call, call_line) in enumerate(zip(calls_value, item_lines)):
                    call_key = f"{key}.calls[{index}]"
                    call_body = self.mapping(call, call_line, call_key, CALL_KEYS)
                    if call_body is None:
                        continue
                    shapes = {which: self.shapes(call_body[which], call_body.value_line(which),
                                                 f"{call_key}.{which}",
                                                 call_body.value_spans.get(which))
                              for which in CALL_KEYS if which in call_body}
                    calls.append(CallSpec(call_key, call_line, **shapes))
                found["calls"] = tuple(calls)
                found["calls_line"] = calls_line
        for which in ("receptive_field", "effective_stride"):
            if which in body:
                found[which] = self.field_spec(body[which], body.value_line(which), f"{key}.{which}",
                                               bounds=which == "receptive_field",
                                               span=body.value_spans.get(which))
        return LayerSpec(name, key, key_line, **found)

    def field_spec(self, value: Any, line: int, key: str, bounds: bool,
                   span: Span | None = None) -> FieldSpec | None:
        """`212`, `[212, 212]`, `{min: 200}` (a receptive field only) or `whole`."""
        if value == "whole" and bounds:
            return FieldSpec((), line, whole=True, span=span)
        items = value if isinstance(value, list) else [value]
        counts = []
        for item in items:
            if isinstance(item, dict) and not bounds:
                self.problem(line, f"`{key}` is an exact number of input pixels such as 32, not a bound.")
                return None
            count = self.count(item, line, key, None) if bounds else self.integer(item, line, key, 1)
            if count is None:
                return None
            counts.append(count)
        if not counts or len(counts) > 3:
            what = "212, [212, 212], {min: 200} or whole" if bounds else "32 or [32, 32]"
            self.problem(line, f"`{key}` must be one number for every spatial dimension or one per "
                               f"dimension ({what}), not {value_kind(value)}.")
            return None
        return FieldSpec(tuple(counts), line, span=span)

    def flatten(self, value: Any, line: int) -> tuple[FlattenSpec, ...]:
        if not isinstance(value, LineMap):
            self.problem(line, "`expect.flatten` must map Linear layer names to the features they "
                               f"receive from a flatten (fc1: 16*5*5), not {value_kind(value)}.")
            return ()
        result = []
        for name, features in value.items():
            number = self.integer(features, value.value_line(name), f"expect.flatten.{name}", 1,
                                  span=value.value_spans.get(name))
            if number is not None:
                result.append(FlattenSpec(str(name), number, value.key_line(name)))
        return tuple(result)

    def rules(self, value: Any, line: int, fields: dict[str, Any]) -> None:
        rules = self.mapping(value, line, "rules", RULE_KEYS)
        if rules is None:
            return
        if "pooling" in rules:
            pooling, pooling_line = rules["pooling"], rules.value_line("pooling")
            if pooling is True:
                fields["pooling"] = DEFAULT_POOLING
            elif pooling is False:
                pass
            elif (isinstance(pooling, list) and pooling
                  and all(isinstance(pair, list) and len(pair) == 2
                          and all(type(n) is int and n > 0 for n in pair) for pair in pooling)):
                fields["pooling"] = tuple((f, s) for f, s in pooling)
            else:
                self.problem(pooling_line, "`rules.pooling` must be true, false, or a list of "
                                           "allowed [F, S] pairs such as [[2, 2], [3, 2]], "
                                           f"not {value_kind(pooling)}.")
            fields["pooling_line"] = pooling_line
        if "exact_division" in rules:
            exact = rules["exact_division"]
            if not isinstance(exact, bool):
                self.problem(rules.value_line("exact_division"),
                             f"`rules.exact_division` must be true or false, not {value_kind(exact)}.")
            else:
                fields["exact_division"] = exact
                fields["exact_division_line"] = rules.value_line("exact_division")
        if "receptive_field" in rules:
            wanted = rules["receptive_field"]
            if isinstance(wanted, dict):
                self.problem(rules.value_line("receptive_field"),
                             "`rules.receptive_field` is the least field the widest features must see: "
                             "a number such as 224, [224, 224], or whole; not a mapping.")
            else:
                found = self.field_spec(wanted, rules.value_line("receptive_field"), "rules.receptive_field",
                                        bounds=True)
                if found is not None:
                    fields["receptive_field"] = found


def _name_hint(word: str, names: list[str]) -> str:
    same = [name for name in names if name.lower() == word.lower()]
    return f" Did you mean {same[0]!r}?" if same else did_you_mean(word, names)


def _is_model_ref(text: str) -> bool:
    module, sep, attr = text.rpartition(":")
    return bool(sep and module.strip() and attr.strip())
