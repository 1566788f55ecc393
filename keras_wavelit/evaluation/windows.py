"""Rollout windows over which per-step errors are averaged."""

import dataclasses

# (name, first step, last step), 1-based and inclusive. The Well reports the
# first step and the windows 6:12 and 13:30; the paper (Appendix J, Table 18)
# reports short/medium/long windows 2:8, 9:26 and 27:56.
WELL_WINDOWS = (("1:1", 1, 1), ("6:12", 6, 12), ("13:30", 13, 30))
PAPER_WINDOWS = (("2:8", 2, 8), ("9:26", 9, 26), ("27:56", 27, 56))


@dataclasses.dataclass(frozen=True)
class RolloutWindow:
    """A range of rollout steps, 1-based and inclusive.

    Attributes:
        name: the nominal range, e.g. ``"9:26"``.
        start: first step of the window (1 is the first predicted step).
        end: last step actually covered, ``<= nominal_end``.
        nominal_end: last step of the nominal window.
    """

    name: str
    start: int
    end: int
    nominal_end: int

    @property
    def partial(self):
        """True when the rollout ends before the nominal window does."""
        return self.end < self.nominal_end

    @property
    def length(self):
        return self.end - self.start + 1

    def slice(self):
        """0-based slice into a ``(..., steps, ...)`` axis of rollout steps."""
        return slice(self.start - 1, self.end)

    def to_dict(self):
        return {
            "name": self.name,
            "start": self.start,
            "end": self.end,
            "nominal_end": self.nominal_end,
            "partial": self.partial,
        }


def rollout_windows(n_steps, include_partial=True, windows=None):
    """The evaluation windows that a rollout of ``n_steps`` steps covers.

    The defaults are The Well's ``1:1``, ``6:12``, ``13:30`` followed by the
    paper's ``2:8``, ``9:26``, ``27:56`` (paper section 4 and Appendix J).
    A window is kept when its first step lies inside the rollout. If the
    rollout ends inside a window, the window is kept truncated to the last
    step (``end < nominal_end``, ``partial`` True) when ``include_partial``,
    else dropped. The truncated reading is how the paper treats its VI
    dataset, whose 16 rollout steps leave 27:56 undefined while 9:26 is still
    reported.

    Args:
        n_steps: int >= 1, number of predicted steps.
        include_partial: bool. Defaults to True.
        windows: optional sequence of ``(name, start, end)`` or
            ``(start, end)`` tuples (1-based, inclusive) replacing the
            defaults.

    Returns:
        A list of :class:`RolloutWindow`, in the order given.

    Example:

    >>> [w.name for w in rollout_windows(16)]
    ['1:1', '6:12', '13:30', '2:8', '9:26']
    >>> rollout_windows(16)[2].end
    16
    """
    n_steps = int(n_steps)
    if n_steps < 1:
        raise ValueError(f"`n_steps` must be >= 1, got {n_steps}.")
    if windows is None:
        windows = WELL_WINDOWS + PAPER_WINDOWS
    out = []
    for spec in windows:
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
        if start > n_steps:
            continue
        if end > n_steps and not include_partial:
            continue
        out.append(RolloutWindow(str(name), start, min(end, n_steps), end))
    return out
