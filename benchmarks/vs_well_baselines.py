"""WaveLiT-1.2M against The Well's own baseline models, on the same data.

For each embedded dataset (64x64, 4 input steps -> 1), this trains
WaveLiT-1.2M and The Well's baselines from ``the_well.benchmark.models``
(``UNetClassic``, ``UNetConvNext``, ``FNO``, ``TFNO``), each sized to the
WaveLiT's trainable parameter count, with the same:

- data and normalization (``WellSequence``: z-scores from ``stats.yaml``);
- batches, in the same order (one seeded index stream for every model);
- batch size and number of optimizer steps (or, with ``--budget-seconds``,
  the same wall-clock training time per model, The Well's time-boxed
  protocol);
- optimizer recipe: AdamW, peak learning rate, ``WarmupExponentialDecay``
  schedule, global gradient clipping at 1.0. Each model keeps its own loss:
  WaveLiT its ``WaveletLoss`` and EMA (the paper's recipe), the baselines
  The Well's MSE;
- evaluation code path: ``keras_wavelit.evaluation.evaluate_rollout`` with
  The Well's VRMSE in physical units, on the test split: one-step VRMSE over
  every test window, and rollout VRMSE over windows ``[1:1]``, ``[6:12]``,
  ``[13:30]`` (median over test trajectories).

WaveLiT's boundary mode follows the data's declared boundary conditions
(``keras_wavelit.data.boundary_mode``: periodic for ``gray_scott_2d`` and
``kolmogorov_2d``, reflect for the walled ``acoustic_scattering_2d``), as
``wavelit train`` chooses it.

Baselines run in PyTorch (they are PyTorch modules); WaveLiT runs on the
Keras backend named by ``KERAS_BACKEND`` (default here: ``jax``, the
fastest backend on CPU in ``benchmarks/model_throughput.py``; with
``--budget-seconds`` its XLA compilation counts against the budget, as every
model's first step does: 17-35 s for ``"1.2M-fast"`` on a 2-core CPU).

Needs the ``bench`` environment (``make bench-venv``): The Well's
``benchmark`` extra pins the neuraloperator release its FNO/TFNO wrappers
are written for (0.3.0).

    python benchmarks/vs_well_baselines.py --quick          # smoke run, < 5 minutes
    python benchmarks/vs_well_baselines.py                  # equal steps, all datasets
    python benchmarks/vs_well_baselines.py --budget-seconds 120   # equal time

Writes ``benchmarks/results/vs_well_baselines[_quick][_budget<seconds>].{md,json,png}``.
"""

import argparse
import json
import math
import os
import statistics
import sys
import time
import warnings

os.environ.setdefault("KERAS_BACKEND", "jax")
# neuraloperator 0.3.0's spectral convolution indexes with a list, which
# PyTorch warns about on every forward pass (something on the way resets the
# once-only registry): thousands of identical lines in a budgeted run's log.
warnings.filterwarnings("ignore", message="Using a non-tuple sequence for multidimensional")
warnings.filterwarnings("ignore", message="Importing from timm.models.layers is deprecated")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

import numpy as np  # noqa: E402
from records import cpu_isa  # noqa: E402
from records import isa_text  # noqa: E402
from records import machine_info  # noqa: E402
from records import machine_line  # noqa: E402
from records import usable_cores  # noqa: E402
from records import write_record  # noqa: E402

DATASETS = ("acoustic_scattering_2d", "gray_scott_2d", "kolmogorov_2d")
BASELINES = ("UNetClassic", "UNetConvNext", "FNO", "TFNO")
WINDOWS = (("1:1", 1, 1), ("6:12", 6, 12), ("13:30", 13, 30))
# Points of the time-vs-VRMSE curve of a budgeted run, as fractions of the
# budget (the end of the budget is always one).
CURVE_FRACTIONS = (0.1, 0.2, 0.35, 0.5, 0.75)

SETTINGS = {
    # Full default: 64x64, 4 -> 1, batch 4.
    "full": dict(
        resolution=64,
        trajectories=24,
        time_steps=40,
        steps=200,
        batch_size=4,
        learning_rate=1e-3,
        warmup_steps=30,
        rollout_steps=30,
        max_test_windows=64,
    ),
    # Smoke run: every code path, tiny numbers.
    "quick": dict(
        resolution=64,
        trajectories=8,
        time_steps=36,
        steps=6,
        batch_size=4,
        learning_rate=1e-3,
        warmup_steps=2,
        rollout_steps=30,
        max_test_windows=8,
    ),
}


# --------------------------------------------------------------------------- models


def _torch_params(module):
    return int(sum(p.numel() for p in module.parameters() if p.requires_grad))


def baseline_factory(name, dim_in, dim_out, resolution):
    """(constructor of one width argument, candidate widths) for a Well baseline."""
    from the_well.benchmark import models as well_models

    common = dict(
        dim_in=dim_in,
        dim_out=dim_out,
        n_spatial_dims=2,
        spatial_resolution=(resolution, resolution),
    )
    modes = min(16, resolution // 2)
    if name == "UNetClassic":
        return (lambda w: well_models.UNetClassic(init_features=w, **common)), range(4, 65)
    if name == "UNetConvNext":
        return (lambda w: well_models.UNetConvNext(init_features=w, **common)), range(4, 65)
    if name == "FNO":
        return (
            lambda w: well_models.FNO(modes1=modes, modes2=modes, hidden_channels=w, **common)
        ), range(4, 129)
    if name == "TFNO":
        return (
            lambda w: well_models.TFNO(modes1=modes, modes2=modes, hidden_channels=w, **common)
        ), range(4, 257)
    raise ValueError(f"Unknown baseline {name!r}; choose from {BASELINES}.")


def sized_baseline(name, dim_in, dim_out, resolution, target):
    """The baseline whose width brings its parameter count closest to `target`."""
    import torch

    make, widths = baseline_factory(name, dim_in, dim_out, resolution)
    best = None
    for w in widths:
        torch.manual_seed(0)
        n = _torch_params(make(w))
        if best is None or abs(n - target) < abs(best[1] - target):
            best = (w, n)
        if n > target * 1.5:
            break
    torch.manual_seed(0)
    return make(best[0]), best[0], best[1]


class WellBaselineStep:
    """A Well baseline as a one-step predictor in the library's contract.

    Inputs ``(B, T_in, H, W, C)`` (and constants ``(B, H, W, C_c)``) are
    flattened channels-first as The Well's formatter does
    (``b t h w c -> b (t c) h w``, constants appended); the output
    ``(B, C, H, W)`` is returned as ``(B, 1, H, W, C)``.
    """

    def __init__(self, net):
        self.net = net

    def torch_inputs(self, fields, constants):
        import torch

        fields = torch.as_tensor(fields)
        b, t, h, w, c = fields.shape
        x = fields.permute(0, 1, 4, 2, 3).reshape(b, t * c, h, w)
        if constants is not None:
            x = torch.cat([x, torch.as_tensor(constants).permute(0, 3, 1, 2)], dim=1)
        return x

    def forward(self, fields, constants):
        return self.net(self.torch_inputs(fields, constants)).permute(0, 2, 3, 1)[:, None]

    def __call__(self, inputs):
        import torch

        fields, constants = (
            (inputs["fields"], inputs.get("constants"))
            if isinstance(inputs, dict)
            else (inputs, None)
        )
        self.net.eval()
        with torch.no_grad():
            return self.forward(fields, constants).numpy()


# --------------------------------------------------------------------------- data


def load_split_windows(data_dir, dataset, split, max_windows=None, seed=0):
    """Every (input, target) window of a split as arrays, in normalized units."""
    from keras_wavelit.data import WellSequence

    seq = WellSequence(
        data_dir, dataset, split, n_steps_input=4, n_steps_output=1, batch_size=32, shuffle=False
    )
    xs, cs, ys = [], [], []
    for i in range(len(seq)):
        x, y = seq[i]
        if isinstance(x, dict):
            xs.append(x["fields"])
            cs.append(x["constants"])
        else:
            xs.append(x)
        ys.append(y)
    x = np.concatenate(xs)
    y = np.concatenate(ys)
    c = np.concatenate(cs) if cs else None
    if max_windows and len(x) > max_windows:
        keep = np.sort(np.random.default_rng(seed).choice(len(x), max_windows, replace=False))
        x, y = x[keep], y[keep]
        c = None if c is None else c[keep]
    return x, c, y, seq


class BatchOrder:
    """The one stream of batch indices that every model trains on.

    Batch ``i`` holds positions ``i * batch_size ...`` of a concatenation of
    seeded permutations of the samples. Permutations are drawn on demand, so
    a budgeted run (up to ``steps = 10**6``) costs nothing up front.
    """

    def __init__(self, n_samples, batch_size, steps, seed):
        self.n_samples = n_samples
        self.batch_size = batch_size
        self.steps = steps
        self._rng = np.random.default_rng(seed)
        self._permutations = []

    def __len__(self):
        return self.steps

    def __getitem__(self, i):
        if not 0 <= i < self.steps:
            raise IndexError(i)
        start = i * self.batch_size
        while len(self._permutations) * self.n_samples < start + self.batch_size:
            self._permutations.append(self._rng.permutation(self.n_samples))
        epoch, offset = divmod(start, self.n_samples)
        window = np.concatenate(self._permutations[epoch : epoch + 2])
        return window[offset : offset + self.batch_size]

    def __iter__(self):
        return (self[i] for i in range(self.steps))


# --------------------------------------------------------------------------- training


class StepTimer:
    """Training wall time per optimizer step; stops at a wall-clock budget if given.

    With ``checkpoints`` (training seconds) and ``evaluate`` (a function of no
    arguments returning a one-step VRMSE), the model is evaluated when the
    training time first passes each checkpoint and once more at the end; the
    clock is paused while it evaluates, so ``train_seconds`` and the budget
    count training only. ``curve`` holds ``{"seconds", "steps", "vrmse"}``.
    """

    def __init__(self, budget_seconds=None, checkpoints=(), evaluate=None):
        self.budget = budget_seconds
        self.checkpoints = sorted(checkpoints) if evaluate else []
        self.evaluate = evaluate
        self.curve = []
        self.start = None
        self.paused = 0.0
        self.ends = []

    def begin(self):
        self.start = time.perf_counter()

    def elapsed(self):
        return time.perf_counter() - self.start - self.paused

    def checkpoint(self, mark):
        """Evaluates now, off the clock, and adds a point to `curve`."""
        seconds = self.elapsed()
        t0 = time.perf_counter()
        self.curve.append(
            {
                "mark": mark,
                "seconds": seconds,
                "steps": len(self.ends),
                "vrmse": float(self.evaluate()),
            }
        )
        self.paused += time.perf_counter() - t0

    def step_done(self):
        self.ends.append(self.elapsed())
        # One point per step end: when a step (the first, compiling one) passes
        # several checkpoints, the point belongs to the last of them.
        mark = None
        while self.checkpoints and self.ends[-1] >= self.checkpoints[0]:
            mark = self.checkpoints.pop(0)
        if mark is not None:
            self.checkpoint(mark)
        return self.budget is not None and self.ends[-1] >= self.budget

    def summary(self):
        if self.evaluate and (not self.curve or self.curve[-1]["steps"] != len(self.ends)):
            self.checkpoint(None)
        total = self.ends[-1] if self.ends else 0.0
        steps = len(self.ends)
        # Steps per second after the first (compiling) step.
        rate = (steps - 1) / (self.ends[-1] - self.ends[0]) if steps > 1 else float("nan")
        out = {
            "steps": steps,
            "train_seconds": total,
            "first_step_seconds": self.ends[0] if steps else None,
            "steps_per_second": rate,
        }
        if self.evaluate:
            out["curve"] = self.curve
        return out


def schedule_for(cfg):
    from keras_wavelit.optimizers import WarmupExponentialDecay

    return WarmupExponentialDecay(
        peak_learning_rate=cfg["learning_rate"], warmup_steps=cfg["warmup_steps"]
    )


def train_baseline(
    net, data, order, cfg, budget=None, log_every=50, checkpoints=(), curve_windows=None
):
    """Trains a Well baseline on `order`'s batches; `curve_windows`: test windows
    for the one-step VRMSE at `checkpoints` (training seconds, see `StepTimer`)."""
    import torch

    x, c, y = data
    step_model = WellBaselineStep(net)
    schedule = schedule_for(cfg)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg["learning_rate"], weight_decay=1e-4)

    def one_step_vrmse():
        score = evaluate_one_step(step_model, curve_windows).score("1:1", "vrmse", "mean")
        net.train()
        return score

    timer = StepTimer(budget, checkpoints, one_step_vrmse if curve_windows else None)
    net.train()
    losses = []
    timer.begin()
    for step, idx in enumerate(order):
        lr = float(np.asarray(schedule(step)))
        for group in opt.param_groups:
            group["lr"] = lr
        pred = step_model.forward(x[idx], None if c is None else c[idx])
        loss = torch.mean((pred - torch.as_tensor(y[idx])) ** 2)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        losses.append(float(loss.detach()))
        if log_every and (step + 1) % log_every == 0:
            print(f"    step {step + 1}: loss {np.mean(losses[-log_every:]):.4f}", flush=True)
        if timer.step_done():
            break
    out = timer.summary()
    out["final_loss"] = float(np.mean(losses[-10:]))
    return out


def train_wavelit(model, data, order, budget=None, checkpoints=(), curve_windows=None):
    """Trains a compiled Keras model with `fit` on `order`'s batches; with
    `curve_windows`, its one-step VRMSE at `checkpoints` (training seconds) is
    measured with the weights its final evaluation uses (the EMA ones when the
    optimizer keeps an EMA)."""
    import keras

    x, c, y = data

    evaluator = []

    def one_step_vrmse():
        # Scored on a copy of the model, so that the training model's buffers
        # (which JAX's jitted loop owns and donates) are never touched.
        if keras.backend.backend() == "jax":
            model.jax_state_sync()  # the variables lag the jitted loop's state
        values = {id(v): keras.ops.convert_to_numpy(v) for v in model.weights}
        opt = model.optimizer
        if getattr(opt, "use_ema", False):  # the weights the final evaluation uses
            for v in model.trainable_variables:
                average = opt._model_variables_moving_average[opt._get_variable_index(v)]
                values[id(v)] = keras.ops.convert_to_numpy(average)
        if not evaluator:
            copy = model.__class__.from_config(model.get_config())
            copy(x[:1] if c is None else {"fields": x[:1], "constants": c[:1]})
            evaluator.append(copy)
        evaluator[0].set_weights([values[id(v)] for v in model.weights])
        return evaluate_one_step(evaluator[0], curve_windows).score("1:1", "vrmse", "mean")

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return len(order)

        def __getitem__(self, i):
            idx = order[i]
            inputs = x[idx] if c is None else {"fields": x[idx], "constants": c[idx]}
            return inputs, y[idx]

    timer = StepTimer(budget, checkpoints, one_step_vrmse if curve_windows else None)

    class Timing(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            timer.begin()

        def on_train_batch_end(self, batch, logs=None):
            if timer.step_done():
                self.model.stop_training = True

    history = model.fit(Batches(), epochs=1, verbose=2, callbacks=[Timing()])
    out = timer.summary()
    out["final_loss"] = float(history.history["loss"][-1])
    return out


# --------------------------------------------------------------------------- evaluation


def evaluate_one_step(predictor, test_windows):
    """The one-step evaluation (window `"1:1"`) over test windows, physical units."""
    from keras_wavelit.evaluation import evaluate_rollout

    x, c, y, seq = test_windows
    return evaluate_rollout(
        predictor,
        np.concatenate([x, y], axis=1),
        n_steps_input=4,
        n_steps=1,
        constants=c,
        denormalize=seq.denormalize,
        windows=[("1:1", 1, 1)],
        divergence_threshold=None,
        field_names=seq.channel_names,
        verbose=0,
    )


def evaluate(predictor, test_windows, test_trajectories, cfg):
    """One-step VRMSE over test windows and rollout VRMSE, physical units."""
    from keras_wavelit.evaluation import evaluate_rollout

    x = test_windows[0]
    one_step = evaluate_one_step(predictor, test_windows)
    trajs, consts, tseq = test_trajectories
    n_steps = min(cfg["rollout_steps"], trajs.shape[1] - 4)
    rollout = evaluate_rollout(
        predictor,
        trajs,
        n_steps_input=4,
        n_steps=n_steps,
        constants=consts,
        denormalize=tseq.denormalize,
        windows=WINDOWS,
        field_names=tseq.channel_names,
        verbose=0,
    )
    growth = rollout.error_growth()
    row = {
        "one_step_vrmse": one_step.score("1:1", "vrmse", "mean"),
        "one_step_vrmse_median": one_step.score("1:1", "vrmse", "median"),
        "one_step_windows": int(x.shape[0]),
        "rollout_per_step_median": [float(v) for v in rollout.per_step("vrmse", "median")],
        "growth_ratio": float(growth.mean_ratio),
        "crossing_step": growth.crossing_step,
        "diverged": [
            {"trajectory": d.trajectory, "step": d.step, "reason": d.reason}
            for d in rollout.divergences
        ],
    }
    for name, _, _ in WINDOWS:
        try:
            row[name] = rollout.score(name, "vrmse", "median")
        except KeyError:
            row[name] = None
    return row


# --------------------------------------------------------------------------- report


def machine():
    import torch

    info = machine_info()
    info["torch_threads"] = torch.get_num_threads()
    return info


def fmt(v, digits=4):
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—" if v is None else str(v)
    return f"{v:.{digits}f}"


def measured_span(result):
    """ " Models trained from A to B (load average before each: x-y)." or ""."""
    marks = [
        r["measured"]
        for rows in result["datasets"].values()
        for r in rows.values()
        if "measured" in r
    ]
    if not marks:
        return ""
    loads = [m["load_average_before"][0] for m in marks]
    return (
        f" Models trained from {min(m['start'] for m in marks)} to "
        f"{max(m['end'] for m in marks)}, one at a time (1-minute load average before each: "
        f"{min(loads):.2f}-{max(loads):.2f})."
    )


def dataset_machine(rows):
    """ "Trained on <machine> (float32 matmul a-b GFLOP/s before each model)." or ""."""
    marks = [r["measured"] for r in rows.values() if "machine" in r.get("measured", {})]
    if not marks:
        return ""
    kinds = []
    for m in marks:
        if m["machine"] not in kinds:
            kinds.append(m["machine"])
    names = "; ".join(f"{k['cpu']} ({isa_text(k['isa'])}), {k['cores']} cores" for k in kinds)
    rates = [m["matmul_gflops_before"] for m in marks if m.get("matmul_gflops_before")]
    rate = (
        f" (PyTorch float32 matmul {min(rates):.0f}-{max(rates):.0f} GFLOP/s before each model"
        + (f", {len(marks) - len(rates)} not measured" if len(rates) < len(marks) else "")
        + ")"
        if rates
        else ""
    )
    return f"Trained on {names}{rate}."


def markdown(result):
    cfg = result["settings"]
    info = result["machine"]
    machines = {dataset: dataset_machine(rows) for dataset, rows in result["datasets"].items()}
    mode = (
        f"equal wall-clock budget of {result['budget_seconds']:.0f} s per model"
        if result["budget_seconds"]
        else f"equal steps ({cfg['steps']} optimizer steps per model)"
    )
    lines = [
        "# WaveLiT against The Well's baselines",
        "",
        f"Protocol: {mode}, batch {cfg['batch_size']}, {cfg['resolution']}x{cfg['resolution']}, "
        f"4 input steps -> 1; AdamW, peak learning rate {cfg['learning_rate']}, warm-up "
        f"{cfg['warmup_steps']} steps, global clip norm 1.0; same batches in the same order for "
        "every model. One-step VRMSE: mean over all test windows; rollout VRMSE: median over test "
        "trajectories of the mean over each window's steps. Physical units, The Well's VRMSE.",
        "",
        machine_line(info) + f" WaveLiT on Keras `{info['keras_backend']}`, baselines in PyTorch "
        f"({info['torch_threads']} intra-op threads)."
        + measured_span(result)
        + (
            " Each dataset names the machine its models trained on (this one wrote the report)."
            if any(machines.values())
            else ""
        ),
        "",
    ]
    for dataset, rows in result["datasets"].items():
        lines += [
            f"## `{dataset}`",
            "",
        ]
        if machines[dataset]:
            lines += [machines[dataset], ""]
        lines += [
            "| model | params | one-step VRMSE | [1:1] | [6:12] | [13:30] | steps | train s "
            "| steps/s |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        best = {
            k: min((r[k] for r in rows.values() if r.get(k) is not None), default=None)
            for k in ("one_step_vrmse", "1:1", "6:12", "13:30")
        }
        for name, r in rows.items():

            def cell(k):
                s = fmt(r.get(k))
                return f"**{s}**" if r.get(k) is not None and r.get(k) == best[k] else s

            div = f" ({len(r['diverged'])} diverged)" if r["diverged"] else ""
            lines.append(
                f"| {name}{div} | {r['params']:,} | {cell('one_step_vrmse')} | {cell('1:1')} "
                f"| {cell('6:12')} | {cell('13:30')} | {r['steps']} | {r['train_seconds']:.0f} "
                f"| {r['steps_per_second']:.2f} |"
            )
        lines.append("")
        curves = {n: r["curve"] for n, r in rows.items() if r.get("curve")}
        if curves:
            marks = [result["budget_seconds"] * f for f in CURVE_FRACTIONS]
            lines += [
                "One-step VRMSE (test mean) at the first step end after this much training "
                "time (compilation included, evaluation excluded; — : the first, compiling "
                "step had not ended):",
                "",
                "| model | " + " | ".join(f"{m:.0f} s" for m in marks) + " | end |",
                "|---|" + "---|" * (len(marks) + 1),
            ]
            for name, points in curves.items():
                cells = []
                for m in marks:
                    # "—": the model's first (compiling) step was still running.
                    hit = [p for p in points if p.get("mark") is not None and p["mark"] == m]
                    cells.append(fmt(hit[0]["vrmse"], 3) if hit else "—")
                cells.append(fmt(points[-1]["vrmse"], 3))
                lines.append(f"| {name} | " + " | ".join(cells) + " |")
            lines.append("")
    rerun = (
        f"KERAS_BACKEND={result['machine']['keras_backend']} "
        "python benchmarks/vs_well_baselines.py" + (" --quick" if result["quick"] else "")
    )
    if result.get("threads"):
        rerun += f" --threads {result['threads']}"
    default = SETTINGS["quick" if result["quick"] else "full"]
    if result["budget_seconds"]:
        rerun += f" --budget-seconds {result['budget_seconds']:g}"
    elif result["settings"]["steps"] != default["steps"]:
        rerun += f" --steps {result['settings']['steps']}"
    if result["settings"]["batch_size"] != default["batch_size"]:
        rerun += f" --batch-size {result['settings']['batch_size']}"
    if list(result["datasets"]) != list(DATASETS):
        rerun += " --datasets " + ",".join(result["datasets"])
    first = next(iter(result["datasets"].values()), {})
    baselines = [n for n, r in first.items() if "config" not in r and not n.startswith("WaveLiT")]
    if baselines != list(BASELINES):
        rerun += " --baselines " + ",".join(baselines)
    configs = [r["config"] for r in first.values() if "config" in r]
    if configs and configs != [{"size": "1.2M"}]:
        for config in configs:
            spec = config["size"] if list(config) == ["size"] else json.dumps(config)
            rerun += f" --wavelit '{spec}'"
    lines += [
        f"Total time: {result['total_seconds'] / 60:.1f} minutes"
        + (" (this part of the run)" if result.get("reused") else "")
        + f". Rerun: `{rerun}`.",
        "Bold: best in the column. Plot: `" + result["plot"] + "`." if result.get("plot") else "",
    ]
    return "\n".join(lines) + "\n"


def plot(result, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = list(result["datasets"])
    with_curves = any(r.get("curve") for rows in result["datasets"].values() for r in rows.values())
    n_rows = 3 if with_curves else 2
    fig, axes = plt.subplots(
        n_rows, len(datasets), figsize=(4.6 * len(datasets), 3.75 * n_rows), squeeze=False
    )
    for j, dataset in enumerate(datasets):
        rows = result["datasets"][dataset]
        names = list(rows)
        vals = [rows[n]["one_step_vrmse"] for n in names]
        ax = axes[0, j]
        colors = ["tab:red" if n.startswith("WaveLiT") else "tab:gray" for n in names]
        ax.bar(range(len(names)), vals, color=colors)
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
        ax.set_title(f"{dataset}\none-step VRMSE (test mean)", fontsize=9)
        ax = axes[1, j]
        for n in names:
            curve = np.asarray(rows[n]["rollout_per_step_median"], dtype=float)
            ax.plot(
                np.arange(1, len(curve) + 1), curve, label=n, lw=2 if n.startswith("WaveLiT") else 1
            )
        ax.set_yscale("log")
        ax.set_xlabel("rollout step")
        ax.set_ylabel("VRMSE (median over trajectories)")
        ax.grid(alpha=0.3)
        if j == 0:
            handles, labels = ax.get_legend_handles_labels()
            fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 3), fontsize=8)
        if not with_curves:
            continue
        ax = axes[2, j]
        for n in names:
            points = rows[n].get("curve") or []
            ax.plot(
                [p["seconds"] for p in points],
                [p["vrmse"] for p in points],
                marker="o",
                ms=3,
                label=n,
                lw=2 if n.startswith("WaveLiT") else 1,
            )
        ax.set_yscale("log")
        ax.set_xlabel("training seconds (compilation included)")
        ax.set_ylabel("one-step VRMSE (test mean)")
        ax.grid(alpha=0.3)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --------------------------------------------------------------------------- main


def prepare_dataset(dataset, work, cfg, seed, verbose=1):
    """Simulates `dataset` under `work/data` unless it is there, then loads it.

    Returns:
        `(data_dir, (x, c, y, seq), test_windows, test_trajectories, boundary)`:
        every training window, at most `cfg["max_test_windows"]` test windows,
        the test trajectories and the data's boundary mode.
    """
    from keras_wavelit.data import boundary_mode
    from keras_wavelit.data.simulate import dataset_dir
    from keras_wavelit.data.simulate import simulate
    from keras_wavelit.evaluation.runs import load_trajectories

    data_dir = os.path.join(work, "data")
    if not os.path.exists(os.path.join(dataset_dir(data_dir, dataset), "stats.yaml")):
        simulate(
            dataset,
            data_dir,
            resolution=cfg["resolution"],
            n_trajectories=cfg["trajectories"],
            n_steps=cfg["time_steps"],
            seed=seed,
            overwrite=True,
            verbose=verbose,
        )
    train = load_split_windows(data_dir, dataset, "train")
    test_windows = load_split_windows(
        data_dir, dataset, "test", max_windows=cfg["max_test_windows"], seed=seed
    )
    test_trajectories = load_trajectories(data_dir, dataset, "test", 4)
    mode = boundary_mode(dataset_dir(data_dir, dataset))
    return data_dir, train, test_windows, test_trajectories, mode


def print_row(row):
    print("  ", {k: v for k, v in row.items() if k != "rollout_per_step_median"}, flush=True)


class FinishedModels:
    """The models an unfinished run has trained, so that running it again continues it.

    A budgeted comparison trains every model of every dataset in turn (15
    models at 900 s each: four hours). Each model's row is written to
    ``path`` as soon as it is evaluated; the same command run again (same
    settings) reuses those rows and trains only the models still missing.
    Each row keeps when it was measured and the load average before it
    started, and the report gives the time span of its rows. The file sits
    beside the results (``results/unfinished/``), outside the ignored raw
    folder, so that an unfinished run can be committed and continued from
    another clone; the finished run deletes it.
    """

    def __init__(self, path, settings, fresh=False):
        self.path = path
        self.settings = settings
        self.rows = {}
        self.reused = 0
        if fresh or not os.path.exists(path):
            return
        with open(path) as f:
            saved = json.load(f)
        if saved.get("settings") != settings:
            print(f"{path}: written for other settings; training every model again", flush=True)
            return
        self.rows = saved["rows"]

    def keep_comparable(self, dataset, labels, kind):
        """Drops `dataset`'s saved rows if they cannot stand beside rows measured now.

        A budgeted comparison ranks one dataset's models by what each
        reached in the same wall-clock time, so all of them must have run on
        one kind of machine (`machine_kind`). A dataset whose saved rows are
        complete keeps them (its report names the machine); an incomplete one
        keeps them only if every one was measured on the kind of machine
        running now, and otherwise trains all of its models again here.
        """
        keys = [f"{dataset}/{label}" for label in labels]
        saved = [self.rows[k] for k in keys if k in self.rows]
        if not saved or len(saved) == len(keys):
            return
        other = [
            r["measured"].get("machine") for r in saved if r["measured"].get("machine") != kind
        ]
        if other:
            print(
                f"  {len(saved)} of {len(keys)} {dataset} models were trained on another "
                f"kind of machine ({other[0]}; now {kind}): training all of them again",
                flush=True,
            )
            for k in keys:
                self.rows.pop(k, None)

    def get(self, dataset, label, identity):
        row = self.rows.get(f"{dataset}/{label}")
        if row is None or row.get("identity") != identity:
            return None
        print(f"  {label}: measured {row['measured']['start']}, reused", flush=True)
        self.reused += 1
        return {k: v for k, v in row.items() if k != "identity"}

    def put(self, dataset, label, identity, row):
        self.rows[f"{dataset}/{label}"] = dict(row, identity=identity)
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        partial = self.path + ".partial"
        with open(partial, "w") as f:
            json.dump({"settings": self.settings, "rows": self.rows}, f, indent=1)
        os.replace(partial, self.path)  # a kill mid-write keeps the previous file

    def remove(self):
        if os.path.exists(self.path):
            os.remove(self.path)


def _now():
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())


def machine_kind():
    """What two machines must share for their wall-clock budgets to compare.

    The CPU model, the extensions that set its matmul speed (an "AMD EPYC"
    with AVX-512 trains twice as many steps in a budget as one without) and
    the usable cores.
    """
    from keras_wavelit.machine import cpu_name

    return {"cpu": cpu_name(), "isa": cpu_isa(), "cores": usable_cores()}


def matmul_gflops(n=1024, repeats=15):
    """PyTorch's float32 matmul rate on this machine now (median, GFLOP/s), in ~0.5 s.

    Measured with the threads the baselines train with, just before each
    model trains (off its clock): how fast the machine was for that row.
    """
    import torch

    generator = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=generator)
    b = torch.randn(n, n, generator=generator)
    a @ b
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t0)
    return round(2.0 * n**3 / statistics.median(times) / 1e9, 1)


def start_mark():
    """When a model's training starts, on what machine, and how loaded and fast it was."""
    return {
        "start": _now(),
        "load_average_before": [round(v, 2) for v in os.getloadavg()],
        "machine": machine_kind(),
        "matmul_gflops_before": matmul_gflops(),
    }


def end_mark(mark):
    """`mark` with the time its model's evaluation ended."""
    return dict(mark, end=_now())


def run_dataset(dataset, args, cfg, budget, finished):
    import keras

    from keras_wavelit.models import WaveLiT

    data_dir, (x, c, y, seq), test_windows, test_trajectories, mode = prepare_dataset(
        dataset, args.work, cfg, args.seed
    )
    n_channels = x.shape[-1]
    n_const = 0 if c is None else c.shape[-1]
    steps = cfg["steps"] if budget is None else 10**6
    order = BatchOrder(len(x), cfg["batch_size"], steps, args.seed)
    print(
        f"\n== {dataset}: {len(x)} training windows, {n_channels} fields + {n_const} constants",
        flush=True,
    )

    if budget:
        labels = [label for label, _ in args.wavelit] + list(args.baselines)
        finished.keep_comparable(dataset, labels, machine_kind())
    rows = {}
    # With a budget, every model's one-step VRMSE on the test windows at these
    # training times (off the clock) gives its time-vs-VRMSE curve.
    curve = dict(
        checkpoints=[budget * f for f in CURVE_FRACTIONS] if budget else (),
        curve_windows=test_windows if budget else None,
    )
    target = None
    for label, arch in args.wavelit:
        row = finished.get(dataset, label, arch)
        if row is not None:
            rows[label] = row
            target = target or row["params"]
            continue
        # The library's default recipe (AdamW, warm-up + x0.99 decay, clip 1.0,
        # EMA, WaveletLoss, input noise). `mode`: the boundary mode the data
        # declares (periodic systems wrap around), as `wavelit train` picks it;
        # the baselines have no such switch.
        keras.utils.set_random_seed(args.seed)
        wavelit = WaveLiT(boundary=mode, **arch)
        wavelit.compile(learning_rate=cfg["learning_rate"], warmup_steps=cfg["warmup_steps"])
        sample = x[:1] if c is None else {"fields": x[:1], "constants": c[:1]}
        wavelit(sample)
        params = int(sum(np.prod(v.shape) for v in wavelit.trainable_weights))
        # The baselines are sized to the first WaveLiT.
        target = target or params
        print(f"  {label}: {params:,} trainable parameters, mode={mode!r}", flush=True)
        mark = start_mark()
        t = train_wavelit(wavelit, (x, c, y), order, budget, **curve)
        rows[label] = dict(
            params=params,
            mode=mode,
            config=arch,
            **t,
            **evaluate(wavelit, test_windows, test_trajectories, cfg),
            measured=end_mark(mark),
        )
        finished.put(dataset, label, arch, rows[label])
        print_row(rows[label])
        del wavelit

    dim_in = 4 * n_channels + n_const
    for name in args.baselines:
        # A baseline is sized to the first WaveLiT: it is the same model
        # only if that WaveLiT's size is the same.
        identity = {"sized_to": target}
        row = finished.get(dataset, name, identity)
        if row is not None:
            rows[name] = row
            continue
        net, width, params = sized_baseline(name, dim_in, n_channels, cfg["resolution"], target)
        print(f"  {name} (width {width}): {params:,} trainable parameters", flush=True)
        mark = start_mark()
        t = train_baseline(net, (x, c, y), order, cfg, budget, **curve)
        rows[name] = dict(
            params=params,
            width=width,
            **t,
            **evaluate(WellBaselineStep(net), test_windows, test_trajectories, cfg),
            measured=end_mark(mark),
        )
        finished.put(dataset, name, identity, rows[name])
        print_row(rows[name])
        del net
    return rows


def wavelit_spec(text):
    """`(label, WaveLiT arguments)` from a preset name or a JSON object."""
    from keras_wavelit.models.wavelit_presets import WAVELIT_PRESETS

    if text in WAVELIT_PRESETS:
        return f"WaveLiT-{text}", {"size": text}
    try:
        arch = json.loads(text)
    except json.JSONDecodeError:
        arch = None
    if not isinstance(arch, dict):
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither a preset ({', '.join(WAVELIT_PRESETS)}) nor a JSON object"
        )
    return wavelit_label(arch), arch


# Short names of WaveLiT arguments in the labels of configurations.
_SHORT = {"dim": "d", "depth": "x", "num_heads": "h", "pyramid_levels": "p", "wavelet_levels": "L"}


def wavelit_label(arch):
    """A short label: "WaveLiT-1.2M" or e.g. "WaveLiT d128 x5 h1 p0 L2"."""
    if list(arch) == ["size"]:
        return f"WaveLiT-{arch['size']}"
    parts = [
        f"{_SHORT[k]}{v}" if k in _SHORT else (v if k == "wavelet" else f"{k}={v}")
        for k, v in arch.items()
    ]
    return "WaveLiT " + " ".join(str(p) for p in parts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--datasets", default=",".join(DATASETS), help="comma-separated embedded datasets"
    )
    parser.add_argument(
        "--baselines", default=",".join(BASELINES), help="comma-separated Well models"
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run of every code path (< 5 minutes)"
    )
    parser.add_argument(
        "--wavelit",
        action="append",
        type=wavelit_spec,
        help="a WaveLiT to train: a preset name (default: 1.2M) or a JSON object of "
        'WaveLiT arguments, e.g. \'{"dim": 128, "depth": 5}\'; repeat to compare several '
        "(the baselines are sized to the first)",
    )
    parser.add_argument(
        "--steps", type=int, help="optimizer steps per model (overrides the setting)"
    )
    parser.add_argument(
        "--batch-size", type=int, help="windows per optimizer step (overrides the setting: 4)"
    )
    parser.add_argument(
        "--budget-seconds",
        type=float,
        help="train every model for this many wall-clock seconds instead of equal steps",
    )
    parser.add_argument(
        "--threads", type=int, default=0, help="torch intra-op threads (0: library default)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="train every model again instead of reusing those an interrupted run finished",
    )
    parser.add_argument("--work", default=os.path.join(HERE, "results", "raw", "vs_well_baselines"))
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    args = parser.parse_args(argv)
    args.wavelit = args.wavelit or [wavelit_spec("1.2M")]
    args.datasets = [d for d in args.datasets.split(",") if d]
    args.baselines = [b for b in args.baselines.split(",") if b]
    for d in args.datasets:
        if d not in DATASETS:
            parser.error(f"unknown dataset {d!r}; choose from {', '.join(DATASETS)}")
    for b in args.baselines:
        if b not in BASELINES:
            parser.error(f"unknown baseline {b!r}; choose from {', '.join(BASELINES)}")
    try:
        import the_well.benchmark.models  # noqa: F401
    except ImportError as err:
        sys.exit(
            "This benchmark needs The Well's baseline models: create the benchmark "
            "environment with `make bench-venv` (the_well[benchmark], neuraloperator 0.3.0). "
            f"Import failed: {err}"
        )
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    default = SETTINGS["quick" if args.quick else "full"]
    cfg = dict(default)
    if args.steps:
        cfg["steps"] = args.steps
    if args.batch_size is not None:
        if args.batch_size < 1:
            parser.error(f"--batch-size must be at least 1, got {args.batch_size}")
        cfg["batch_size"] = args.batch_size
    args.work = os.path.join(args.work, "quick" if args.quick else "full")

    # Like the report's rerun line, the file names only settings that differ
    # from the defaults.
    other_steps = cfg["steps"] != default["steps"] and not args.budget_seconds
    stem = (
        "vs_well_baselines"
        + ("_quick" if args.quick else "")
        + (f"_steps{cfg['steps']}" if other_steps else "")
        + (f"_batch{cfg['batch_size']}" if cfg["batch_size"] != default["batch_size"] else "")
        + (f"_budget{args.budget_seconds:g}" if args.budget_seconds else "")
    )
    t0 = time.time()
    result = {
        "settings": cfg,
        "quick": args.quick,
        "budget_seconds": args.budget_seconds,
        "seed": args.seed,
        "threads": args.threads,
        "datasets": {},
    }
    finished = FinishedModels(
        os.path.join(args.out, "unfinished", stem + ".json"),
        settings={k: result[k] for k in ("settings", "budget_seconds", "seed", "threads")},
        fresh=args.fresh,
    )
    for dataset in args.datasets:
        result["datasets"][dataset] = run_dataset(dataset, args, cfg, args.budget_seconds, finished)
    result["machine"] = machine()
    result["total_seconds"] = time.time() - t0
    result["reused"] = finished.reused
    os.makedirs(args.out, exist_ok=True)
    result["plot"] = os.path.join("benchmarks", "results", stem + ".png")
    plot(result, os.path.join(args.out, stem + ".png"))
    write_record(args.out, stem, result, markdown(result))
    finished.remove()


if __name__ == "__main__":
    main()
