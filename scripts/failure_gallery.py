"""Write docs/failures.md from the real output of `pytest examples/broken`.

Run from the repository root: python scripts/failure_gallery.py
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SECTIONS = {
    "wrong_flatten_crashes": (
        "A Linear that does not fit the flatten",
        "The tutorial Net with `fc1 = nn.Linear(16 * 6 * 6, 120)`: the forward pass crashes. Where "
        "torch says only that two matrices cannot be multiplied, cnncheck names the Linear, what "
        "reached it, the flattened shape and its product, the line that made the Linear, and the "
        "fix. torch's own words come last; on meta they are meta's, and cnncheck says so."),
    "tutorial_net_miscounted": (
        "Hand-computed numbers",
        "A forgotten bias, a conv thought to keep its size, a flatten computed for another input "
        "size, a total that is off: every mismatch of the spec in one failure, each with its "
        "arithmetic, the spec's own line, the model's line that made the layer, and a fix solved "
        "from the layer's own arithmetic, then applied to the model and run again. The tutorial "
        "LeNet is right here and the spec miscounted: `bias=False` is sound but unsafe (the model "
        "ran, and the spec's total still disagrees with it), so `cnncheck fix` leaves it to "
        "`--unsafe-fixes`; `padding=1` in conv2 would push the stated total further off, so it is "
        "not sound and only shown, with its rule; beside each, the number to write for a model "
        "that is right. A difference in a total is named where a few terms add up to it. The "
        "layer table marks the layers concerned."),
    "tutorial_net_layer_names": (
        "Layer names",
        "A layer called twice needs one entry per call; a name the model does not have gets the "
        "closest ones."),
    "design_rules": (
        "Design rules and rounding",
        "A 4x4 pooling window (replaced by allowed pools that keep the sizes), a stride that does "
        "not divide its input (a padding, kernel or input size that does), and a `ceil_mode` pool "
        "whose rounding surprised its author."),
    "channel_mismatch": ("Channels that do not match",
                         "A conv written for 8 input channels after one that makes 6: either layer "
                         "could change; the first that verifies on the model is given."),
    "residual_without_downsample": (
        "A residual add whose shortcut lacks its downsample",
        "`out + x` in a block that halves the size and doubles the channels. The two operands, "
        "the layer behind each (a second pass tags where every tensor comes from, on meta as on "
        "the CPU), the layer where the two paths parted with its arithmetic, and, as a suggestion "
        "to write by hand (a new module), the projection that takes the shortcut to the other "
        "shape, its stride checked with the size formula."),
    "unet_odd_size": (
        "A U-Net skip one wider than the decoder",
        "A 97-wide input: pooling floors 97 / 2 to 48, and the decoder comes back at 96. The "
        "input sizes for which both paths agree are found by running each path's layers' "
        "arithmetic; cropping fits any size."),
    "view_mixes_the_batch": (
        "A view that mixes the batch",
        "`x.view(-1, 8*4*4)` after a layer with 16 channels turns a batch of 4 into 8 rows "
        "without a crash. The output's first dimension is explained from the view that changed "
        "it, and a flatten count that holds row by row still fails, since its rows are not "
        "samples."),
    "tied_weights": (
        "A tied weight counted twice",
        "An output layer sharing the embedding's weight: the tensor counts once, where it is "
        "first, and the breakdown says which layer's weight is which."),
    "bias_before_batchnorm": (
        "Biases a BatchNorm makes redundant",
        "The difference between the stated and the counted total is the biases of the convs "
        "right before a normalization: `bias=False`."),
    "grouped_conv": (
        "A grouped conv whose channels do not divide",
        "torch refuses to build it and names no number; cnncheck reads them from the "
        "constructor and gives channel counts and groups that divide."),
    "transposed_conv": (
        "A transposed conv without its output_padding",
        "Every term of the transposed size formula is shown, `output_padding` among them, and "
        "the layer that set the wrong size is named from the model's output."),
    "dilated_conv": ("A dilated conv padded as an undilated one",
                     "The window's real extent with dilation, and the padding that keeps the size."),
    "batchnorm_width": ("A BatchNorm sized for another layer",
                        "`num_features` to fit what arrives, or the conv before it to make what the "
                        "BatchNorm takes."),
    "detector_sees_too_little": (
        "Features that see too little of the input",
        "A detector backbone whose field was counted as if every 3x3 conv added 2 pixels: after "
        "each pooling it adds twice as many. The arithmetic of the path that sets the field, "
        "layer by layer, and for the rule, the convs (or a pooling and fewer convs) that reach "
        "the field it asks for, counted with the same recurrence."),
    "tutorial_net_sizes": (
        "Sizes a model does not take",
        "`expect.accepts` states the input sizes that run. The sizes that fail against it are "
        "grouped so that each line is true of every size it names."),
    "tutorial_net_swept[B=1-H=34]": (
        "A shape stated for every size",
        "With a `sweep`, each size is an item, and a wrong dimension is shown with the values "
        "of the names it uses."),
    "<file>": ("A file that is not YAML",
               "One failed item for the file: the line that opened the bracket that is never "
               "closed, and where the parser gave up; the session goes on."),
    "typo_in_key": ("A misspelt key", "Unknown keys are errors, with a suggestion."),
    "bad_expression": ("An expression that is not arithmetic",
                       "Nothing in a spec is evaluated as Python."),
    "model_not_found": ("A model that is not there", ""),
    "kwargs_rejected": ("Arguments the model does not take",
                        "kwargs are checked against the model's signature before anything is built."),
}


def main() -> None:
    run = subprocess.run([sys.executable, "-m", "pytest", "examples/broken", "-q", "--color=no",
                          "-p", "no:cacheprovider"], capture_output=True, text=True, check=False)
    failures = run.stdout.split("= FAILURES =", 1)[1].split("short test summary info", 1)[0]
    parts = re.split(r"^_{3,} cnncheck: (.+?) _{3,}$", failures, flags=re.M)
    found = {parts[i]: parts[i + 1].strip("\n= ") for i in range(1, len(parts), 2)}
    out = [
        "# Failure messages", "",
        "The real output of `pytest examples/broken`, written by `scripts/failure_gallery.py`.",
        "The models are in `examples/broken/models/`, the specs in `examples/broken/`. Every",
        "failure starts at the `file:line` of the spec key that failed and shows that line;",
        "the explanation follows the expected and actual values.", "",
    ]
    for name, (title, blurb) in SECTIONS.items():
        out += [f"## {title}", ""] + ([blurb, ""] if blurb else [])
        out += ["```", found[name], "```", ""]
    fix = subprocess.run([sys.executable, "-m", "pytest_cnncheck", "fix", "--diff", "examples/broken"],
                         capture_output=True, text=True, check=False)
    out += ["## `cnncheck fix --diff`", "",
            "Every `fix:` above was applied to the model and the spec run again before it was "
            "printed: the finding went away, nothing new appeared, and the arithmetic stayed "
            "sound. `cnncheck fix` writes the safe ones "
            "into the model's source, all of a spec's at once, checked together; `--diff` "
            "prints them and writes nothing ([cnncheck fix](workflow.md#4-fix-the-model-with-cnncheck-fix)). "
            "Suggestions to write by hand (a new module, a crop in `forward`) and the spec's side "
            "(`fix, if the model is right`, which `--cnncheck-update` writes) are not in it.", "",
            "```diff", fix.stdout.replace(str(Path.cwd()) + "/", "").rstrip("\n"), "```", ""]
    Path("docs/failures.md").write_text("\n".join(out))


if __name__ == "__main__":
    main()
