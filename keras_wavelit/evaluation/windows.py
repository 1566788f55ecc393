"""Rollout windows over which per-step errors are averaged (`docs/design.md` §2.9)."""

import dataclasses

# (name, first step, last step), 1-based and inclusive. The Well reports the
# first step and the windows 6:12 and 13:30, as do the paper's Appendix J
# tables (Tables 15-17); the paper's Appendix G (Table 11) compares rollout
# finetuning methods over the short/medium/long windows 2:8, 9:26 and 27:56.
WELL_WINDOWS = (("1:1", 1, 1), ("6:12", 6, 12), ("13:30", 13, 30))
PAPER_WINDOWS = (("2:8", 2, 8), ("9:26", 9, 26), ("27:56", 27, 56))


@dataclasses.dataclass(frozen=True)
class RolloutWindow:
    """A range of rollout steps, 1-based and inclusive.

    A window is `defined` when the rollout covers it to its last step, or
    when it was truncated on request (`include_partial=True` in
    `rollout_windows`); an undefined window has no score and is reported
    as "—".

    Attributes:
        name: the nominal range, e.g. `"9:26"`.
        start: first step of the window (1 is the first predicted step).
        end: last step scored, `<= nominal_end` (below `start` when the
            rollout ends before the window starts).
        nominal_end: last step of the nominal window.
        defined: whether the window is scored.

    Example:

    ```python
    from keras_wavelit.evaluation import RolloutWindow

    window = RolloutWindow("6:12", 6, 12, 12)
    assert window.length == 7 and window.defined and not window.partial
    ```
    """

    name: str
    start: int
    end: int
    nominal_end: int
    defined: bool = True

    @property
    def partial(self):
        """True when the window is scored over fewer steps than its nominal range."""
        return self.defined and self.end < self.nominal_end

    @property
    def length(self):
        """Number of steps scored (0 when the window is undefined)."""
        return max(self.end - self.start + 1, 0) if self.defined else 0

    def slice(self):
        """0-based slice into a `(..., steps, ...)` axis of rollout steps."""
        return slice(self.start - 1, max(self.end, self.start - 1))

    def to_dict(self):
        """The window as a JSON-ready dict."""
        return {
            "name": self.name,
            "start": self.start,
            "end": self.end,
            "nominal_end": self.nominal_end,
            "defined": self.defined,
            "partial": self.partial,
        }


def _parse_window(spec):
    if len(spec) == 2:
        start, end = spec
        name = f"{int(start)}:{int(end)}"
    elif len(spec) == 3:
        name, start, end = spec
    else:
        raise ValueError(f"A window is (start, end) or (name, start, end); got {spec!r}.")
    start, end = int(start), int(end)
    if start < 1 or end < start:
        raise ValueError(f"Window {spec!r} must satisfy 1 <= start <= end.")
    return str(name), start, end


def rollout_windows(n_steps, include_partial=False, windows=None):
    """The evaluation windows of a rollout of `n_steps` steps.

    The defaults are The Well's `1:1`, `6:12`, `13:30` (the windows of the
    paper's Appendix J, Tables 15-17) followed by the `2:8`, `9:26`, `27:56`
    of the paper's Appendix G (Table 11). Every window is returned, in the
    order given. A window the rollout does not cover to its last step is
    undefined (`defined=False`, reported as "—"), as The Well and the paper
    do: the paper's Table 17 leaves `13:30` undefined for a dataset with 16
    rollout steps. With `include_partial=True` such a window is instead kept
    truncated to the last step (`partial` True) when the rollout reaches its
    first step; a window starting after the last step is always undefined.

    Args:
        n_steps: int >= 1, number of predicted steps.
        include_partial: bool, score windows that the rollout ends inside
            over the steps it has. Defaults to False.
        windows: optional sequence of `(name, start, end)` or
            `(start, end)` tuples (1-based, inclusive) replacing the
            defaults.

    Returns:
        A list of `RolloutWindow`.

    Example:

    ```python
    from keras_wavelit.evaluation import rollout_windows

    windows = rollout_windows(16)
    assert [w.name for w in windows if w.defined] == ["1:1", "6:12", "2:8"]
    truncated = rollout_windows(16, include_partial=True)
    assert [(w.name, w.end) for w in truncated if w.partial] == [("13:30", 16), ("9:26", 16)]
    ```
    """
    n_steps = int(n_steps)
    if n_steps < 1:
        raise ValueError(f"`n_steps` must be >= 1, got {n_steps}.")
    if windows is None:
        windows = WELL_WINDOWS + PAPER_WINDOWS
    out = []
    for spec in windows:
        name, start, end = _parse_window(spec)
        covered = end <= n_steps
        defined = covered or (include_partial and start <= n_steps)
        out.append(RolloutWindow(name, start, min(end, n_steps), end, defined))
    return out
