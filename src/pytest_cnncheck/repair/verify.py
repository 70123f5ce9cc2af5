"""Findings -> verified fixes: each candidate change is applied to the model's source, the
model rebuilt and the spec run again; a fix is kept only where the finding it is for went
away and nothing new appeared.

The arithmetic (explain/candidates.py) proposes changes of one layer's arguments, computed on what
reached that layer in this run; sourcecode.py finds where each value is written (the
constructor, a helper's call, a parameter's default, the spec's kwargs); rebuild.py
builds the model from the edited source. Findings are taken in the order of the forward
pass: the first is the root, and what its fix clears follows from it. Where no single
change verifies, the change is tried with one fix of what it broke (conv1 and conv2 both,
for exact division). Where nothing verifies, no fix is printed: the arithmetic stays,
and a sentence says so.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterator

from ..check.compare import _no_fix, agreeing
from ..explain.candidates import constructor, size_line
from ..explain.causes import listed, spatial_names
from ..findings import Candidate, Finding, Hint, KwargEdit, Repair, SourceEdit
from ..spec.model import Spec, SpecError
from ..trace import Trace, format_shapes
from .rebuild import RebuildFailed, edited_factory, edited_texts
from .soundness import Unsound, unsound
from .sourcecode import Site, edit_span, edited_lines, not_ours, rewrite_call, rewrite_made, sites

__all__ = ["RUNS", "repair"]

RUNS = 24  # reruns of the model one failing spec may spend on trying fixes
_MORE = 3  # once a fix verified, how many more placements are tried for one that clears more

Rerun = Callable[[Spec, Callable[..., Any]], tuple[Trace, list[Finding]]]
AnyEdit = SourceEdit | KwargEdit
_SHAPES = ("forward", "expect.output")


def _is_shape(finding: Finding) -> bool:
    return finding.key in _SHAPES or finding.key.endswith((".output", ".input")) or \
        finding.key.startswith("expect.flatten.")


@dataclass
class _State:
    edits: tuple[AnyEdit, ...]
    trace: Trace
    findings: list[Finding]


class _Search:
    def __init__(self, spec: Spec, factory: Callable[..., Any], rerun: Rerun) -> None:
        self.spec, self.factory, self.rerun = spec, factory, rerun
        self.runs = 0
        # Per finding, the candidates that passed the shapes and broke a soundness rule.
        self.refused: dict[tuple[str, str], list[tuple[Candidate, Unsound]]] = {}
        # Per finding, what each candidate that did not verify left: said under "no fix verified".
        self.left: dict[tuple[str, str], dict[str, str]] = {}

    def leaves(self, live: Finding, candidate: Candidate, after: _State | None, before: set[tuple[str, str]]) -> None:
        """Keep what `candidate` left of `live` (or what it made) in a sentence."""
        said = _said(candidate)
        left = self.left.setdefault(live.identity, {})
        if said in left:
            return
        if after is None:
            left[said] = "the edited model did not build, or not on these inputs"
            return
        still = next((f for f in after.findings if f.identity == live.identity and f.follows is None), None)
        new = [f for f in after.findings if f.identity not in before and f.follows is None]
        if new:
            made = "then the pass raised" if new[0].key == "forward" else f"then {new[0].key} failed"
            left[said] = f"{made}: " + (new[0].message or f"expected {new[0].expected}, actual {new[0].actual}")
        elif still is not None:
            left[said] = f"left {live.key}" + (f" at {still.actual}" if still.actual is not None else "")

    def run(self, edits: tuple[AnyEdit, ...]) -> _State | None:
        """The findings of the spec with `edits` made; None where the edited model can't be run."""
        if self.runs >= RUNS or _overlap(edits):
            return None
        self.runs += 1
        source = [e for e in edits if isinstance(e, SourceEdit)]
        kwargs = {e.name: e.value for e in edits if isinstance(e, KwargEdit)}
        try:
            factory = edited_factory(self.factory, edited_texts(source)) if source else self.factory
            spec = replace(self.spec, kwargs={**self.spec.kwargs, **kwargs}) if kwargs else self.spec
            trace, findings = self.rerun(spec, factory)
        except (RebuildFailed, SpecError):
            return None
        except Exception:  # the edited model raised while it was built: not a fix
            return None
        return _State(edits, trace, findings)


def repair(spec: Spec, trace: Trace, findings: list[Finding], factory: Callable[..., Any],
           rerun: Rerun, rootdir: Path | None = None) -> list[Finding]:
    """`findings` with the fixes that verified on the model, and what each clears folded
    under it; findings whose candidates all failed say so."""
    if not any(finding.changes for finding in findings):
        return findings
    search = _Search(spec, factory, rerun)
    order = {id(f): _position(f, trace) for f in findings}
    state = _State((), trace, findings)
    repaired: dict[tuple[str, str], Repair] = {}
    followers: dict[tuple[str, str], str] = {}
    failed: dict[tuple[str, str], Hint] = {}
    blocked: Finding | None = None
    for root in sorted(findings, key=lambda f: order[id(f)]):
        live = next((f for f in state.findings if f.identity == root.identity), None)
        if live is None or root.follows is not None or not live.changes:
            continue
        if blocked is not None and _is_shape(root):
            failed[root.identity] = Hint.none(f"no fix tried: it may follow from {blocked.key} at line "
                                              f"{blocked.line}, for which no fix verified")
            continue
        before = _real(state.findings)
        found = _verified(search, spec, live, state, before)
        if found is None:
            failed[root.identity] = _why_not(live, trace, search)
            if _is_shape(root):
                blocked = root
            continue
        fixes, arithmetic, edits, after, cascaded = found
        change = _said(fixes) + _also_changed(fixes, state.trace, after.trace)
        cleared = before - _real(after.findings) - {root.identity}
        # A model that ran, and must change a second layer to run again once this one gives
        # what the spec states, agreed with itself: the spec is as likely the mistake.
        cascade = cascaded and root.key != "forward"
        sources = tuple(edit for edit in edits if isinstance(edit, SourceEdit))
        repaired[root.identity] = Repair(change, edits, arithmetic, tuple(sorted(k for k, _ in cleared)),
                                         "unsafe" if cascade else "safe", "second-change" if cascade else None,
                                         tuple(edited_lines(sources)), tuple(edit_span(edit) for edit in sources))
        for identity in cleared:
            followers.setdefault(identity, f"follows from {root.key} at line {root.line}: its fix, "
                                           f"{change}, clears this")
        state = after
    # The right side: a model that ran and, with every fix, still disagrees with the spec may
    # be right where the spec is wrong; its fixes are written only on request.
    agrees = not _real(state.findings)
    weighed = agreeing(spec, findings)  # the spec's facts the model agrees with, for the spec's side
    out = []
    for finding in findings:
        identity = finding.identity
        if identity in repaired:  # changes by hand, and why-nots, give way to the verified fix
            shared = _shared(finding, trace)
            fixed = repaired[identity]
            if finding.key != "forward" and not agrees and fixed.unsafe is None:  # the spec still disagrees
                fixed = replace(fixed, applicability="unsafe", unsafe="spec-disagrees")
            kept = tuple(hint for hint in finding.hints if hint.on_spec)
            # The other way beside it: the spec's value, where the model is right.
            other = tuple(hint for hint in _no_fix(finding, trace, weighed)
                          if hint.applicability == "spec-if-model-right")
            hints = (*kept, *([shared] if shared else []), *(hint for hint in other if hint not in kept))
            elsewhere = not_ours(fixed.edits, rootdir) if rootdir is not None else None
            if elsewhere is not None:  # verified, but not in a file of the project's: for the user to apply
                note = Hint.suggest(f"{fixed.change}, verified on the model, but not written: {elsewhere}",
                                    lines=tuple(line for stretch in fixed.lines
                                                for line in (f"{stretch.path}:{stretch.line}",
                                                             *(f"- {t}" for t in stretch.old),
                                                             *(f"+ {t}" for t in stretch.new))))
                out.append(replace(finding, hints=(note, *hints)))
            else:
                out.append(replace(finding, repairs=(fixed,), hints=hints))
        elif identity in followers and finding.follows is None:
            out.append(replace(finding, follows=followers[identity], hints=()))
        elif finding.changes and finding.follows is None:  # tried, or not reached: no fix shown
            why = failed.get(identity) or _why_not(finding, trace, search)
            refused = tuple(dict.fromkeys(  # one line each, though several placements were tried
                Hint.suggest(f"{_said(candidate)} passes the shapes but "
                             + ("is not in the code's own terms" if broken.rule == "frozen-literal" else "is not sound")
                             + f", so it is not written ({broken.rule}): {broken.reason}")
                for candidate, broken in search.refused.get(identity, [])))[:2]
            extra = tuple(hint for hint in _no_fix(finding, trace, weighed) if hint.applicability != "none")
            shared = _shared(finding, trace)
            out.append(replace(finding, hints=(why, *refused, *([shared] if shared else []), *finding.hints,
                                               *extra)))
        else:
            out.append(finding)
    return sorted(out, key=lambda f: f.follows is not None)


def _verified(search: _Search, spec: Spec, live: Finding, state: _State, before: set[tuple[str, str]]
              ) -> tuple[Candidate, tuple[str, ...], tuple[AnyEdit, ...], _State, bool] | None:
    """The candidate of `live` that verifies and leaves the fewest findings (the first of
    those, in the arithmetic's order), alone or (the last item True) with one fix of what it
    broke."""
    broke: list[tuple[Candidate, tuple[AnyEdit, ...], _State]] = []
    best: tuple[int, Candidate, tuple[AnyEdit, ...], _State] | None = None
    tries = 0
    for candidate, (edits, frozen) in ((c, e) for c in live.changes for e in _placements(c, spec, state.trace)):
        if best is not None and (not best[0] or tries >= _MORE):
            break
        after = search.run(state.edits + edits)
        if after is None:
            search.leaves(live, candidate, None, before)
            continue
        tries += best is not None
        now = _real(after.findings)
        if live.identity not in now and now <= before:
            if frozen:  # passes here, and freezes what the code computes: shown, never written
                search.refused.setdefault(live.identity, []).append((candidate, Unsound(
                    "frozen-literal", candidate[0].layer, frozen)))
            elif _sound(search, live, candidate, state, after) and (best is None or len(now) < best[0]):
                best = (len(now), candidate, edits, after)
        else:
            search.leaves(live, candidate, after, before)
            if live.identity not in now:
                broke.append((candidate, edits, after))
    if best is not None:
        _, candidate, edits, after = best
        return candidate, _arithmetic(candidate, after.trace), edits, after, False
    # A change that put the finding right but broke another: with that one's own fix too.
    for candidate, edits, after in broke[:2]:
        # Where the first change puts a size the spec states right, a layer further on (a
        # Linear after the flatten) may then need to take the new size: the two are one fix.
        # Not for a crash: a layer made to take what a wrong one gives is no fix of it.
        new = [f for f in after.findings if f.identity not in before and f.changes
               and (f.key != "forward" or live.key != "forward")]
        for other in new[:1]:
            for second in other.changes[:2]:
                for more, frozen in itertools.islice(_placements(second, spec, after.trace), 2):
                    final = search.run(state.edits + edits + more)
                    if final is None or frozen:
                        continue
                    now = _real(final.findings)
                    if live.identity not in now and now <= before - {live.identity} and \
                            _sound(search, live, candidate + second, state, final):
                        return (candidate + second, _arithmetic(candidate, final.trace)
                                + _arithmetic(second, final.trace), edits + more, final, True)
    return None


def _sound(search: _Search, live: Finding, candidate: Candidate, state: _State, after: _State) -> bool:
    """Whether the change from `state` to `after` keeps the model's arithmetic sound
    (soundness.py); a candidate that is not is kept aside, to be shown with its rule."""
    broken = unsound(state.trace, after.trace, state.findings, after.findings)
    if broken is not None:
        search.refused.setdefault(live.identity, []).append((candidate, broken))
    return broken is None


def _real(findings: list[Finding]) -> set[tuple[str, str]]:
    """The findings that stand on their own: those folded under a crash (a layer that did not
    get to run) are not compared, and are new where they stand on their own afterwards."""
    return {f.identity for f in findings if f.follows is None}


def _placements(candidate: Candidate, spec: Spec, trace: Trace) -> Iterator[tuple[tuple[AnyEdit, ...], str]]:
    """The edits that make a candidate's changes, where each value is written: the first
    place of each, then each change's other places in turn; with each, why it writes a
    literal over names, where it does (sourcecode.Site.frozen), else ""."""
    options: list[list[Site]] = []
    for fix in candidate:
        if fix.rewrite:  # the whole call that made the layer, written anew
            layer = trace.layers.get(fix.layer)
            written = rewrite_made(layer, fix.rewrite) if layer is not None else None
            if written is None:
                return
            options.append([Site((written,), "the constructor")])
            continue
        if fix.at_call:  # the forward code, on the line that ran
            crash = trace.crash
            callee = fix.callee or fix.layer.rsplit(".", 1)[-1]
            # The crash's file is as the user reads it, from where they are; edits of the same
            # file must name it alike to be made together.
            made = rewrite_call(os.path.abspath(crash.file), crash.line, callee, fix.at_call, fix.whole) \
                if crash is not None and crash.file and crash.line else None
            if made is None:
                return
            options.append([Site((made,), "the call")])
            continue
        layer = trace.layers.get(fix.layer)
        if layer is None:
            return
        spelled = dict(fix.spelled)
        for argument, value in fix.args:
            old = layer.hparams.get(argument)
            if old == value:
                continue
            found = sites(layer, argument, old, value, spec.kwargs, spelled.get(argument), _spatial(spec))
            if not found:
                return
            options.append([replace(site, frozen=f"it writes {_text_of(site)} over {site.frozen}: change where "
                                                 "the value is computed")
                            if site.frozen else site for site in found[:4]])
    if not options:
        return
    seen = set()
    firsts = [choices[0] for choices in options]
    for picked in [firsts, *([choice if i == index else first for i, first in enumerate(firsts)]
                             for index, choices in enumerate(options) for choice in choices[1:])]:
        edits = tuple(edit for site in picked for edit in site.edits)
        if edits not in seen:
            seen.add(edits)
            yield edits, "; ".join(site.frozen for site in picked if site.frozen)


def _spatial(spec: Spec) -> tuple[int, ...]:
    """The spatial sizes of the spec's first input, where it is an image or a volume."""
    size = spec.input_sizes[0] if spec.input_sizes else ()
    return tuple(size[2:]) if len(size) >= 3 else ()


def _text_of(site: Site) -> str:
    return ", ".join(edit.new for edit in site.edits if isinstance(edit, SourceEdit))


def _said(candidate: Candidate) -> str:
    return " and ".join(fix.change if fix.at_call or fix.rewrite else f"{fix.change} in {fix.layer}"
                        for fix in candidate)


def _also_changed(candidate: Candidate, before: Trace, after: Trace) -> str:
    """` (the same edit changes down2.0 and down3.0)`: the layers whose arguments the edits
    changed beyond those the fix names (a helper's line, or a default, that makes several)."""
    named = {fix.layer for fix in candidate}
    others = [name for name, layer in before.layers.items() if layer.leaf and name not in named
              and name in after.layers and after.layers[name].hparams != layer.hparams]
    return f" (the same edit changes {listed(others)})" if others else ""


_WINDOW = {"kernel_size", "stride", "padding", "dilation", "output_padding", "ceil_mode"}


def _arithmetic(candidate: Candidate, after: Trace) -> tuple[str, ...]:
    """Each change's formula as the verified run computed it: a window's size on the input
    that reached the layer then (an earlier fix may have changed it), else the candidate's."""
    lines: list[str] = []
    for fix in candidate:
        layer = after.layers.get(fix.layer)
        call = next((c for c in after.calls_of(fix.layer) if c.finished), None)
        if (layer is None or call is None or layer.kind not in ("conv", "conv_transpose", "pool")
                or not _WINDOW & {name for name, _ in fix.args} or not isinstance(call.input, tuple)):
            lines.extend(fix.arithmetic)
            continue
        dims = layer.hparams["dims"]
        names = spatial_names(dims)
        lines.extend(size_line(layer, call.input[-dims + axis], axis, names[axis]) for axis in range(dims))
    return tuple(lines)


def _overlap(edits: tuple[AnyEdit, ...]) -> bool:
    spans = sorted((e.path, e.start, e.end) for e in edits if isinstance(e, SourceEdit))
    return any(a[0] == b[0] and b[1] < a[2] for a, b in zip(spans, spans[1:])) or \
        len({e.name for e in edits if isinstance(e, KwargEdit)}) < sum(isinstance(e, KwargEdit) for e in edits)


def _position(finding: Finding, trace: Trace) -> tuple[int, int]:
    """Where in the forward pass a finding is: its layer's first call (a crash: the call
    that raised); findings about the whole model come after every layer."""
    end = len(trace.calls)
    if finding.key == "forward":
        failing = [i for i, call in enumerate(trace.calls) if not call.finished]
        return (failing[-1] if failing else end), 0
    if finding.key == "expect.output":
        return end, 0
    firsts = [i for i, call in enumerate(trace.calls) if call.name in finding.layers[:1]]
    return (firsts[0] if firsts else end + 1), 1


def _why_not(finding: Finding, trace: Trace, search: _Search) -> Hint:
    """What the sentence says where no fix verified: what was tried."""
    tried = ", ".join(_said(c) for c in finding.changes[:3])
    if not any(next(_placements(c, search.spec, trace), None) is not None for c in finding.changes):
        text = (f"no fix verified: the arithmetic gives {tried}, but cnncheck found no place in the source "
                "to make it (the layer is made, or called, where it cannot edit), so none was run")
    elif search.runs >= RUNS:
        text = f"no fix verified within {RUNS} runs of the model (tried: {tried})"
    elif finding.identity in search.refused:
        text = (f"no fix verified: each change the arithmetic gives ({tried}) was applied to the model "
                "and run again, and left this finding, made a new one, or broke a soundness rule")
    else:
        text = (f"no fix verified: each change the arithmetic gives ({tried}) was applied to the model "
                "and run again, and left this finding or made a new one")
    left = search.left.get(finding.identity, {})
    return Hint.none(text, lines=tuple(f"{said}: {what}" for said, what in list(left.items())[:3]))


def _shared(finding: Finding, trace: Trace) -> Hint | None:
    """For a module called more than once on different shapes, the way out: a module of
    its own for the call that needs another size (a suggestion to write by hand)."""
    for candidate in finding.changes:
        for fix in candidate:
            calls = trace.calls_of(fix.layer)
            if len(calls) > 1 and len({call.input for call in calls}) > 1:
                layer = trace.layers[fix.layer]
                ins = ", ".join(format_shapes(call.input) for call in calls)
                return Hint.suggest(f"{fix.layer} is one module called {len(calls)} times, on {ins}; "
                                    f"one value can't suit every call. Give the call that needs it a module "
                                    f"of its own, {constructor(layer, dict(fix.args))}, and use it there",
                                    layer=fix.layer)
    return None
