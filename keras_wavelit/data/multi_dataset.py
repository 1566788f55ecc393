"""`MultiDatasetSequence`: one foundation-model batch stream over several datasets."""

import csv
import os
import warnings

import keras
import numpy as np

from keras_wavelit.data.channels import default_registry
from keras_wavelit.data.sampling import DatasetSampler


def _n_total(seq):
    """Samples of the whole split (all shards) of a sequence."""
    return int(getattr(seq, "n_samples_total", seq.n_samples))


def _local_batch(seq):
    """This process's part of the global batch of a sequence."""
    return int(getattr(seq, "local_batch_size", seq.batch_size))


class MultiDatasetSequence(keras.utils.PyDataset):
    """Batches from several datasets, each batch from one dataset.

    The data of `keras_wavelit.models.WaveLiTFM` (paper section 3.5,
    Appendix F). Every step draws a dataset `i` with probability `p_i` of
    the sampling method (`keras_wavelit.data.sampling_probabilities`; token
    counts `N_i T_i` from each sequence's sample count and grid), then takes
    the next batch of that dataset. The schedule of epoch `e` comes from the
    generator seeded with `(seed, e)`, and each dataset walks through its
    samples in permutations seeded with `(seed, dataset, pass)`, so a seed
    fixes the whole stream on every backend; `__getitem__` is random access.

    Batches are `({"fields", "constants", "dataset"}, y)`:

    - `fields` `(B, T_in, H, W, C_i)` and `y` `(B, T_out, H, W, C_i)` in the
      registry's channel order of dataset `i` (channels are matched by name
      and reordered when the files store them in another order);
    - `constants` `(B, H, W, S)`, the dataset's constant fields padded with
      zeros to the largest count `S` of the datasets (present only when
      some dataset has constant fields), so that every batch has the same
      structure;
    - `dataset` `(B,)` int32: the index of the dataset in `datasets`.

    Every batch is full (`B` = that dataset's batch size), so a run sees one
    input shape per dataset grid. Each dataset keeps its own normalization
    (its `WellSequence`'s statistics).

    Sharded sequences (`WellSequence(..., shard=(index, count))`, one
    process of a data-parallel run) are supported: the probabilities use the
    whole split's sample counts (`n_samples_total`), so they are global;
    each process reads only its shard's samples, `local_batch_size` of
    them per batch; and the dataset schedule depends only on `(seed,
    epoch)`, so every process draws the same dataset at every step and the
    processes stay in step.

    Args:
        sequences: dict name -> `WellSequence` (one per dataset; they give
            the batch size, normalization and windows).
        method: sampling method, one of `SAMPLING_METHODS` (default
            `"sqrt"`, the paper's choice). `"adaptive"` follows the
            validation losses given by `DatasetSamplingCallback`.
        temperature: `T` of `"temperature"`.
        steps_per_epoch: batches per epoch; defaults to the total number of
            full batches of all the datasets.
        seed: int seed.
        datasets: the dataset order of the model (`WaveLiTFM.datasets`);
            defaults to the order of `sequences`.
        registry: `ChannelRegistry` with the datasets' channels (default:
            the process-wide one).
        floor, power: the adaptive rule's settings (see
            `adaptive_probabilities`).
        shuffle: shuffle each dataset's samples. Defaults to True.
        **kwargs: `workers`, `use_multiprocessing`, `max_queue_size` of
            `keras.utils.PyDataset`.

    Example:

    ```python
    import tempfile
    from keras_wavelit.data import MultiDatasetSequence, WellSequence, simulate

    base = tempfile.mkdtemp()
    simulate("gray_scott_2d", base, resolution=16, n_trajectories=3, n_steps=6, verbose=0)
    simulate("acoustic_scattering_2d", base, resolution=16, n_trajectories=3, n_steps=6,
             verbose=0)
    seqs = {
        name: WellSequence(base, name, "train", n_steps_input=2, batch_size=2)
        for name in ("gray_scott_2d", "acoustic_scattering_2d")
    }
    train = MultiDatasetSequence(seqs, method="sqrt", seed=0)
    x, y = train[0]  # x["fields"], x["constants"], x["dataset"]
    print(train.probabilities)
    ```
    """

    def __init__(
        self,
        sequences,
        method="sqrt",
        temperature=0.2,
        steps_per_epoch=None,
        seed=0,
        datasets=None,
        registry=None,
        floor=0.02,
        power=1.0,
        shuffle=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(sequences, dict) or not sequences:
            raise ValueError(
                "`sequences` must be a non-empty dict of dataset name -> WellSequence; got "
                f"{type(sequences).__name__}."
            )
        self.registry = default_registry() if registry is None else registry
        self.names = list(sequences)
        self.sequences = dict(sequences)
        self.datasets = list(self.names) if datasets is None else list(datasets)
        missing = [n for n in self.names if n not in self.datasets]
        if missing:
            raise ValueError(
                f"Dataset(s) {missing} of `sequences` are not in `datasets` {self.datasets}."
            )
        self.seed = int(seed)
        self.shuffle = bool(shuffle)
        self._orders = {}
        counts = []
        self._n_batches = {}
        for name in self.names:
            seq = self.sequences[name]
            self._orders[name] = self.registry.check_channels(
                name, seq.channel_names, seq.constant_channel_names
            )
            h, w = seq.spatial_shape[:2]
            # The whole split's samples, so that every shard gets the same global p_i.
            counts.append(_n_total(seq) * (h // 2) * (w // 2))
            # Every shard holds the same number of samples and local batch
            # size, so the shards agree on the batches per pass.
            self._n_batches[name] = max(seq.n_samples // _local_batch(seq), 1)
        self.token_counts = counts
        self.constant_slots = max(len(self.registry[n].constants) for n in self.names)
        self.sampler = DatasetSampler(
            self.names,
            counts,
            method=method,
            temperature=temperature,
            seed=self.seed,
            floor=floor,
            power=power,
        )
        self.method = method
        self.steps_per_epoch = (
            sum(self._n_batches.values()) if steps_per_epoch is None else int(steps_per_epoch)
        )
        if self.steps_per_epoch < 1:
            raise ValueError(f"`steps_per_epoch` must be >= 1, got {steps_per_epoch!r}.")
        self.epoch = 0
        self._offsets = np.zeros(len(self.names), np.int64)
        self._schedule = None
        self._started = False
        self._served = set()
        self._history = {}

    # ------------------------------------------------------------ schedule
    @property
    def probabilities(self):
        """Current sampling probabilities by dataset name."""
        return self.sampler.as_dict()

    def schedule(self):
        """`(dataset position, draw number)` of every step of the current epoch."""
        if self._schedule is None or self._schedule[0] != self.epoch:
            draws = self.sampler.draw(self.steps_per_epoch, self.epoch)
            occurrence = np.zeros_like(draws)
            seen = np.zeros(len(self.names), np.int64)
            for s, k in enumerate(draws):
                occurrence[s] = self._offsets[k] + seen[k]
                seen[k] += 1
            self._schedule = (self.epoch, draws, occurrence, seen)
        return self._schedule[1], self._schedule[2]

    def set_epoch(self, epoch):
        """Moves the stream to the start of epoch `epoch` (e.g. a resumed run).

        Replays the schedules of the earlier epochs (draws only, no data), so
        the batches of epoch `epoch` are those an uninterrupted run reads
        (for `"adaptive"`, one that used the current probabilities
        throughout).
        """
        self._replay(epoch)

    def _replay(self, epoch, losses=None):
        """Draws the schedules of epochs `0..epoch-1` (no data) and moves to
        epoch `epoch`; with `losses`, the sampler starts afresh and is updated
        with `losses[e]` after each epoch `e`."""
        epoch = int(epoch)
        if epoch < 0:
            raise ValueError(f"`epoch` must be >= 0, got {epoch}.")
        if losses is not None:
            self.sampler.reset()
            self._history = {}
        offsets = np.zeros(len(self.names), np.int64)
        for e in range(epoch):
            if losses is not None:
                self._history[e] = self.probabilities
            draws = self.sampler.draw(self.steps_per_epoch, e)
            offsets += np.bincount(draws, minlength=len(self.names)).astype(np.int64)
            if losses is not None:
                self.sampler.update(losses[e])
        self.epoch = epoch
        self._offsets = offsets
        self._schedule = None
        self._started = False
        self._served = set()
        self._history[epoch] = self.probabilities

    def update(self, losses):
        """Adaptive sampling: new probabilities from per-dataset validation losses."""
        return self.sampler.update(losses)

    def restore(self, epoch, losses):
        """Moves the stream to epoch `epoch`, replaying the recorded validation losses.

        The exact resume of an adaptive run: for every earlier epoch `e`,
        draws that epoch's schedule with the probabilities it used, then
        updates the sampler with `losses[e]` (what `DatasetSamplingCallback`
        did after that epoch), so the probabilities, the sampler's best
        losses and the position in every dataset are those of the run that
        recorded the losses.

        Args:
            epoch: int, the epoch to start at.
            losses: a sequence of at least `epoch` dicts name -> validation
                loss (the `val_loss_<dataset>` columns of `history.csv`).
        """
        if len(losses) < int(epoch):
            raise ValueError(
                f"restore: validation losses of {len(losses)} epoch(s) recorded, "
                f"{int(epoch)} needed to resume at epoch {int(epoch)}."
            )
        self._replay(epoch, losses)

    # ------------------------------------------------------------ PyDataset
    def __len__(self):
        return self.steps_per_epoch

    def on_epoch_begin(self):
        # Keras may begin an epoch to probe one batch (a symbolic build) and
        # reset it; an epoch only counts once every batch of it was served.
        if self._started and len(self._served) >= len(self):
            self.schedule()
            self._offsets = self._offsets + self._schedule[3]
            self.epoch += 1
        self._started = True
        self._served = set()
        self._history[self.epoch] = self.probabilities

    @property
    def history(self):
        """`[{"epoch": e, <dataset>: p, ...}]`: the probabilities each epoch used."""
        return [{"epoch": e, **p} for e, p in sorted(self._history.items())]

    def batch_indices(self, index):
        """`(dataset name, sample indices)` of batch `index` of this epoch.

        The indices are those of the whole split (`WellSequence.sample`);
        with a sharded sequence they are this shard's.
        """
        if not 0 <= index < len(self):
            raise IndexError(f"batch index {index} out of range for {len(self)} batches.")
        draws, occurrence = self.schedule()
        k = int(draws[index])
        name = self.names[k]
        seq = self.sequences[name]
        n_batches = self._n_batches[name]
        g = int(occurrence[index])
        epoch_pass, b = divmod(g, n_batches)
        if self.shuffle:
            order = np.random.default_rng([self.seed, k, epoch_pass]).permutation(seq.n_samples)
        else:
            order = np.arange(seq.n_samples)
        size = min(_local_batch(seq), seq.n_samples)
        # Positions in this shard's samples -> sample indices of the split.
        indices = getattr(seq, "sample_indices", None)
        chosen = order[b * size : (b + 1) * size]
        if indices is not None:
            chosen = np.asarray(indices)[chosen]
        return name, chosen

    def __getitem__(self, index):
        name, ids = self.batch_indices(int(index))
        self._served.add(int(index))
        seq = self.sequences[name]
        field_order, const_order = self._orders[name]
        xs, ys, cs = [], [], []
        for i in ids:
            x, y, c = seq.sample(int(i))
            xs.append(x[..., field_order])
            ys.append(y[..., field_order])
            if c is not None and const_order is not None:
                cs.append(c[..., const_order])
        x = np.stack(xs).astype("float32")
        y = np.stack(ys).astype("float32")
        inputs = {
            "fields": x,
            "dataset": np.full((len(ids),), self.datasets.index(name), "int32"),
        }
        if self.constant_slots:
            c = np.zeros(x.shape[:1] + x.shape[2:4] + (self.constant_slots,), "float32")
            if cs:
                stacked = np.stack(cs)
                c[..., : stacked.shape[-1]] = stacked
            inputs["constants"] = c
        return inputs, y

    def __repr__(self):
        probs = ", ".join(f"{n}={p:.3f}" for n, p in self.probabilities.items())
        return (
            f"MultiDatasetSequence({len(self.names)} datasets, method={self.method!r}, "
            f"steps_per_epoch={self.steps_per_epoch}, p: {probs})"
        )


class DatasetSamplingCallback(keras.callbacks.Callback):
    """Logs the sampling probabilities every epoch and drives the adaptive sampler.

    At the beginning of each epoch, moves the sequence to Keras's epoch
    number (`MultiDatasetSequence.set_epoch`; a resumed run starts at a later
    epoch). At the end of each epoch, adds `p_<dataset>` (the probabilities used in
    that epoch) to the logs, so `History` records them. With `validation`
    given, it evaluates the model on each dataset's validation data
    (`WaveLiTFM.evaluate_datasets`), logs `val_loss_<dataset>` and, for
    `method="adaptive"`, moves the probabilities of the next epoch
    (`keras_wavelit.data.adaptive_probabilities`).

    A resumed adaptive run continues from the probabilities it had reached:
    given `history_path` (the `history.csv` of a `keras.callbacks.CSVLogger`
    with the `val_loss_<dataset>` columns this callback logs), the first
    epoch of a resumed `fit` replays the recorded losses of the earlier
    epochs (`MultiDatasetSequence.restore`) instead of starting again from
    the method's initial probabilities.

    Args:
        sequence: the `MultiDatasetSequence` being trained on.
        validation: optional dict name -> validation data of that dataset.
        validation_steps: optional number of batches per dataset.
        history_path: optional path of the run's `history.csv`, read when a
            `fit` starts at an epoch > 0 with `method="adaptive"`.

    Example:

    ```python
    from keras_wavelit.data import DatasetSamplingCallback

    # model.fit(train, epochs=5, callbacks=[DatasetSamplingCallback(train, valid_seqs)])
    ```
    """

    def __init__(self, sequence, validation=None, validation_steps=None, history_path=None):
        super().__init__()
        self.sequence = sequence
        self.validation = validation
        self.validation_steps = validation_steps
        self.history_path = history_path
        self._first_epoch = True

    def on_train_begin(self, logs=None):
        self._first_epoch = True

    def _recorded_losses(self, epoch):
        """The `val_loss_<dataset>` of epochs `0..epoch-1` in `history_path`, or None."""
        if not self.history_path or not os.path.exists(self.history_path):
            return None
        with open(self.history_path, newline="") as f:
            rows = {}
            for row in csv.DictReader(f):
                try:
                    rows[int(row["epoch"])] = row  # the last row of an epoch wins
                except (KeyError, ValueError):
                    continue
        losses = []
        for e in range(epoch):
            row = rows.get(e)
            keys = [f"val_loss_{n}" for n in self.sequence.names]
            if row is None or any(not row.get(k) for k in keys):
                return None
            losses.append({n: float(row[k]) for n, k in zip(self.sequence.names, keys)})
        return losses

    def on_epoch_begin(self, epoch, logs=None):
        # Keras counts epochs from `initial_epoch` (a resumed run): the
        # stream follows, so a resumed run reads what an uninterrupted one would.
        first, self._first_epoch = self._first_epoch, False
        if first and epoch > 0 and self.sequence.method == "adaptive":
            losses = self._recorded_losses(epoch)
            if losses is not None:
                self.sequence.restore(epoch, losses)
                return
            if self.history_path:
                warnings.warn(
                    f"DatasetSamplingCallback: {self.history_path} has no validation losses "
                    f"for every epoch before {epoch}; the adaptive sampler resumes from its "
                    "current probabilities.",
                    UserWarning,
                    stacklevel=2,
                )
        if self.sequence.epoch != epoch:
            self.sequence.set_epoch(epoch)

    def on_epoch_end(self, epoch, logs=None):
        logs = {} if logs is None else logs
        used = self.sequence.history[-1] if self.sequence.history else None
        probs = used if used is not None else self.sequence.probabilities
        for name in self.sequence.names:
            logs[f"p_{name}"] = float(probs[name])
        if self.validation:
            kwargs = {}
            if self.validation_steps is not None:
                kwargs["steps"] = self.validation_steps
            results = self.model.evaluate_datasets(self.validation, **kwargs)
            losses = {n: float(r["loss"]) for n, r in results.items()}
            for name, value in losses.items():
                logs[f"val_loss_{name}"] = value
            self.sequence.update({n: losses.get(n, float("nan")) for n in self.sequence.names})
