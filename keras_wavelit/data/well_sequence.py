"""`WellSequence`: batches of The Well's data for `model.fit`, on every backend."""

import math
import os
from typing import List
from typing import Optional
from typing import Sequence
from typing import Tuple
from typing import Union

import keras
import numpy as np

from keras_wavelit.data.errors import WellDataError
from keras_wavelit.data.well_format import FieldInfo
from keras_wavelit.data.well_format import WellFileInfo
from keras_wavelit.data.well_format import validate_split

_UNLIMITED = 10**9
IN_MEMORY_LIMIT = 2**30  # bytes of HDF5 files read into memory by default


def _import_the_well():
    try:
        from the_well.data import WellDataset
    except ImportError as err:
        raise ImportError(
            "WellSequence reads data through The Well's own loader; install the 'well' "
            "extra: pip install 'keras-wavelit[well]' (installs the_well). "
            f"Import failed with: {err}"
        ) from None
    return WellDataset


def resolve_dataset_dir(well_base_path: str, well_dataset_name: str) -> str:
    """Directory of one dataset under a base path, in The Well's layout.

    `the-well-download --base-path BASE` writes `BASE/datasets/<name>/data/<split>/`;
    this accepts `BASE` itself or `BASE/datasets` (what `the_well.data.WellDataset`
    calls `well_base_path`).

    Raises:
        WellDataError: if the base path does not exist or holds no dataset of
            that name (the message lists the datasets found).
    """
    if well_base_path is None or not os.path.isdir(well_base_path):
        raise WellDataError(
            f"well_base_path {well_base_path!r} does not exist or is not a directory. "
            "Point it at the directory that holds 'datasets/<name>/data/<split>/' "
            "(e.g. the --base-path given to the-well-download, or the --out of wavelit generate)."
        )
    if not well_dataset_name or os.sep in str(well_dataset_name):
        raise WellDataError(f"well_dataset_name {well_dataset_name!r} is not a dataset name.")
    candidates = [
        os.path.join(well_base_path, "datasets", well_dataset_name),
        os.path.join(well_base_path, well_dataset_name),
    ]
    for c in candidates:
        if os.path.isdir(os.path.join(c, "data")):
            return c
    found = set()
    for root in (os.path.join(well_base_path, "datasets"), well_base_path):
        if os.path.isdir(root):
            for n in os.listdir(root):
                if os.path.isdir(os.path.join(root, n, "data")):
                    found.add(n)
    raise WellDataError(
        f"Unknown dataset {well_dataset_name!r} under well_base_path {well_base_path!r}: "
        f"expected {candidates[0]}/data/<split>/*.hdf5. "
        f"Datasets found there: {sorted(found) or 'none'}."
    )


def _resolve_shard(shard) -> Tuple[int, int]:
    """`(index, count)` of a `shard` argument (see `WellSequence`)."""
    if shard is None:
        return 0, 1
    if isinstance(shard, str):
        if shard != "auto":
            raise ValueError(f"shard must be None, 'auto' or (index, count); got {shard!r}.")
        from keras_wavelit.distributed import process_count
        from keras_wavelit.distributed import process_index

        return process_index(), process_count()
    try:
        index, count = shard
        ok = int(index) == index and int(count) == count and 0 <= index < count
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(
            "shard must be None, 'auto' or (index, count) with integers "
            f"0 <= index < count; got {shard!r}."
        )
    return int(index), int(count)


class WellSequence(keras.utils.PyDataset):
    """Batches of a dataset in The Well's format, in the model's contract.

    Reads `<well_base_path>/datasets/<well_dataset_name>/data/<split>/*.hdf5`
    through `the_well.data.WellDataset` (a real Well dataset as downloaded by
    `the-well-download`, or one written by `keras_wavelit.data.simulate`,
    under any name) and yields float32 NumPy batches:

    - `x`: `(B, T_in, H, W, C)` input steps of the time-varying fields, or,
      when the dataset has constant fields (and they are not deselected), the
      dict `{"fields": x, "constants": c}` with `c` of shape
      `(B, H, W, C_const)`;
    - `y`: `(B, T_out, H, W, C)` the following steps.

    Channels are the dataset's fields flattened as The Well does (a vector
    field `velocity` gives `velocity_x`, `velocity_y`); `channel_names`
    lists them. With `normalize=True`, every split is z-scored with the
    dataset's `stats.yaml` (per channel, `(u - mean) / max(std, min_std)`),
    and `denormalize` maps predictions back to physical units.

    Two sampling modes serve one-step training, rollout training and
    evaluation:

    - windows (default): every window of `n_steps_input + n_steps_output`
      consecutive steps (spaced `time_stride` apart) of every trajectory;
      `n_steps_output = k > 1` gives `k`-step targets for rollout training;
    - `full_trajectory=True`: one sample per trajectory, `x` its first
      `n_steps_input` steps and `y` all remaining steps (at most
      `max_rollout_steps`), for rollout evaluation.

    Sharding (multi-process data parallelism, `docs/distributed.md`): with
    `shard=(index, count)` this process reads only its part of the split,
    the `index`-th of `count` contiguous, equal blocks of samples (the last
    `n_samples % count` samples of the split are left out so that every
    process runs the same number of steps), shuffles within that block, and
    yields `batch_size // count` samples per batch: `batch_size` is the
    global batch that the `count` processes assemble together.

    Args:
        well_base_path: base directory holding `datasets/<name>/`. The
            directory `.../datasets` itself is accepted too.
        well_dataset_name: dataset name, e.g. `"turbulent_radiative_layer_2D"`
            or `"gray_scott_2d"`; any name works for data in this layout.
        split: `"train"`, `"valid"` or `"test"`.
        n_steps_input: input steps `T_in`.
        n_steps_output: target steps `T_out` in window mode.
        batch_size: samples per batch; with `shard`, the global batch of
            all processes (each yields `batch_size // count`).
        shuffle: shuffle samples each epoch; defaults to True for `"train"`
            and False otherwise.
        seed: seed of the shuffling; epoch `e` uses the permutation drawn
            from `(seed, e)`, so runs are reproducible.
        normalize: apply the z-score normalization of `stats.yaml`.
        fields: time-varying fields to keep, by field name (`"velocity"`)
            or channel name (`"velocity_x"`), in the order given. `None`
            keeps all.
        constant_fields: constant fields to keep as the `"constants"` input;
            `None` keeps all, `[]` drops them (then `x` is a plain array).
        full_trajectory: sample whole trajectories (see above).
        max_rollout_steps: cap on `T_out` in `full_trajectory` mode.
        time_stride: spacing, in stored steps, between consecutive steps of a
            sample.
        check_finite: check every sample for NaN/Inf and raise a
            `WellDataError` naming the file, trajectory, time step and
            channel at fault.
        drop_remainder: drop the last, smaller batch.
        min_std: floor on the standard deviation used for normalization
            (The Well's normalizer uses `1e-4`).
        stats_path: normalization statistics to use instead of
            `<dataset>/stats.yaml`.
        in_memory: read the selected fields of the whole split into memory
            once and cut samples from there, with the same indexing as
            `WellDataset` (several times faster per batch). `None` (default)
            does so when the split's files total at most 1 GiB; `False`
            reads every sample through `WellDataset.__getitem__`. With a
            shard, only the trajectories of the shard are read.
        shard: None (default: the whole split), `(index, count)` (this
            process reads block `index` of `count`), or `"auto"`: the
            process index and count of the running multi-process job
            (`keras_wavelit.distributed.process_index()` / `process_count()`;
            `(0, 1)` in a single process).
        **kwargs: `workers`, `use_multiprocessing`, `max_queue_size` of
            `keras.utils.PyDataset`.

    Example:

    ```python
    from keras_wavelit.data import WellSequence
    from keras_wavelit.data import simulate

    simulate("acoustic_scattering_2d", "wavelit_data", resolution=16,
             n_trajectories=8, n_steps=6, verbose=0)
    train = WellSequence("wavelit_data", "acoustic_scattering_2d", split="train",
                         n_steps_input=2, n_steps_output=1, batch_size=4)
    x, y = train[0]
    print(x["fields"].shape, x["constants"].shape, y.shape)
    # (4, 2, 16, 16, 3) (4, 16, 16, 2) (4, 1, 16, 16, 3)

    # Process 1 of 2 of a data-parallel job: half the samples, half the batch.
    part = WellSequence("wavelit_data", "acoustic_scattering_2d", split="train",
                        n_steps_input=2, batch_size=4, shard=(1, 2))
    print(part.n_samples, part.local_batch_size)  # 12 2

    rollouts = WellSequence("wavelit_data", "acoustic_scattering_2d", split="test",
                            n_steps_input=2, full_trajectory=True, batch_size=1)
    x, y = rollouts[0]
    y_physical = rollouts.denormalize(y)
    ```
    """

    def __init__(
        self,
        well_base_path: str,
        well_dataset_name: str,
        split: str = "train",
        *,
        n_steps_input: int = 1,
        n_steps_output: int = 1,
        batch_size: int = 8,
        shuffle: Optional[bool] = None,
        seed: int = 0,
        normalize: bool = True,
        fields: Optional[Sequence[str]] = None,
        constant_fields: Optional[Sequence[str]] = None,
        full_trajectory: bool = False,
        max_rollout_steps: Optional[int] = None,
        time_stride: int = 1,
        check_finite: bool = False,
        drop_remainder: bool = False,
        min_std: float = 1e-4,
        stats_path: Optional[str] = None,
        in_memory: Optional[bool] = None,
        shard: Union[None, str, Tuple[int, int]] = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        for arg, value in (
            ("n_steps_input", n_steps_input),
            ("n_steps_output", n_steps_output),
            ("batch_size", batch_size),
            ("time_stride", time_stride),
        ):
            if int(value) != value or value < 1:
                raise ValueError(f"{arg} must be a positive integer, got {value!r}.")
        if max_rollout_steps is not None and max_rollout_steps < 1:
            raise ValueError(
                f"max_rollout_steps must be a positive integer, got {max_rollout_steps!r}."
            )
        self.dataset_dir = resolve_dataset_dir(well_base_path, well_dataset_name)
        self.split = split
        split_dir = os.path.join(self.dataset_dir, "data", str(split))
        if not os.path.isdir(split_dir):
            data_dir = os.path.join(self.dataset_dir, "data")
            available = sorted(
                n for n in os.listdir(data_dir) if os.path.isdir(os.path.join(data_dir, n))
            )
            raise WellDataError(
                f"Split {split!r} of dataset {well_dataset_name!r} not found: {split_dir} does not "
                f"exist (splits present: {available or 'none'})."
            )
        self.file_infos: List[WellFileInfo] = validate_split(split_dir)
        info = self.file_infos[0]
        for fi in info.fields:
            if fi.omits_constant_axes:
                raise WellDataError(
                    f"{info.path}: field '{fi.name}' (dim_varying={list(fi.dim_varying)}) "
                    f"omits the spatial axes it is constant along (shape {fi.shape}); "
                    "the_well.data.WellDataset needs them stored with size 1."
                )
        self.well_base_path = well_base_path
        self.well_dataset_name = well_dataset_name
        self.n_steps_input = int(n_steps_input)
        self.n_steps_output = int(n_steps_output)
        self.batch_size = int(batch_size)
        self.shuffle = (split == "train") if shuffle is None else bool(shuffle)
        self.seed = int(seed)
        self.normalize = bool(normalize)
        self.full_trajectory = bool(full_trajectory)
        self.time_stride = int(time_stride)
        self.check_finite = bool(check_finite)
        self.drop_remainder = bool(drop_remainder)
        self.spatial_dims = info.spatial_dims
        self.spatial_shape = info.spatial_shape

        # Enough steps for one sample in every file?
        for fi in self.file_infos:
            if self.full_trajectory:
                needed = self.n_steps_input * self.time_stride + 1
                what = f"{self.n_steps_input} input steps and at least 1 output step"
            else:
                needed = 1 + self.time_stride * (self.n_steps_input + self.n_steps_output - 1)
                what = f"{self.n_steps_input} input + {self.n_steps_output} output steps"
            if fi.n_steps < needed:
                raise WellDataError(
                    f"{fi.path}: trajectories have {fi.n_steps} steps; {what} with "
                    f"time_stride={self.time_stride} need {needed}."
                )

        # Channel layout and selection.
        self._variable_fields = info.variable_fields
        self._constant_fields = info.constant_fields
        all_var = info.variable_channel_names
        all_const = info.constant_channel_names
        self._var_idx = self._select(fields, self._variable_fields, all_var, "fields")
        if constant_fields is None:
            self._const_idx = list(range(len(all_const)))
        else:
            self._const_idx = self._select(
                constant_fields,
                self._constant_fields,
                all_const,
                "constant_fields",
                allow_empty=True,
            )
        self.channel_names = [all_var[i] for i in self._var_idx]
        self.constant_channel_names = [all_const[i] for i in self._const_idx]

        # Normalization statistics.
        self.stats_path = stats_path or os.path.join(self.dataset_dir, "stats.yaml")
        self.stats = None
        self.mean = self.std = self.constant_mean = self.constant_std = None
        if self.normalize:
            from keras_wavelit.data.stats import load_stats

            used_var = self._fields_of(self._variable_fields, self._var_idx)
            used_const = self._fields_of(self._constant_fields, self._const_idx)
            self.stats = load_stats(
                self.stats_path, fields=used_var + used_const, n_spatial_dims=info.n_spatial_dims
            )
            mean, std = self._channel_stats(used_var, all_var, min_std)
            self.mean, self.std = mean[self._var_idx], std[self._var_idx]
            if self._const_idx:
                cmean, cstd = self._channel_stats(used_const, all_const, min_std)
                self.constant_mean = cmean[self._const_idx]
                self.constant_std = cstd[self._const_idx]

        # The Well's loader.
        WellDataset = _import_the_well()
        try:
            self._dataset = WellDataset(
                path=self.dataset_dir,
                well_split_name=str(split),
                n_steps_input=self.n_steps_input,
                n_steps_output=self.n_steps_output,
                min_dt_stride=self.time_stride,
                max_dt_stride=self.time_stride,
                full_trajectory_mode=self.full_trajectory,
                max_rollout_steps=int(max_rollout_steps) if max_rollout_steps else _UNLIMITED,
                use_normalization=False,
                return_grid=False,
                boundary_return_type=None,
            )
        except (AssertionError, OSError, KeyError) as err:
            raise WellDataError(
                f"{split_dir}: the_well.data.WellDataset rejected the split: {err}"
            ) from None
        self.n_samples_total = len(self._dataset)
        self.shard_index, self.shard_count = _resolve_shard(shard)
        self.shard = (self.shard_index, self.shard_count)
        if self.batch_size % self.shard_count:
            raise ValueError(
                f"batch_size={self.batch_size} (the global batch) must be divisible by the "
                f"{self.shard_count} shards of shard={shard!r}, so that every process gets an "
                "equal part of it."
            )
        self.local_batch_size = self.batch_size // self.shard_count
        per_shard = self.n_samples_total // self.shard_count
        if per_shard < 1:
            raise WellDataError(
                f"{split_dir}: {self.n_samples_total} samples cannot be split into "
                f"{self.shard_count} shards."
            )
        start = self.shard_index * per_shard
        #: Global sample indices (`WellDataset` order) this sequence reads.
        self.sample_indices = np.arange(start, start + per_shard)
        #: Samples this sequence reads (all of the split without a shard).
        self.n_samples = per_shard
        if self.drop_remainder and self.n_samples < self.local_batch_size:
            raise WellDataError(
                f"{split_dir}: {self.n_samples} samples are fewer than batch_size="
                f"{self.local_batch_size} with drop_remainder=True"
                + (
                    f" (shard {self.shard_index} of {self.shard_count})."
                    if self.shard_count > 1
                    else "."
                )
            )
        if in_memory is None:
            in_memory = (
                sum(os.path.getsize(p) for p in self._dataset.files_paths) <= IN_MEMORY_LIMIT
            )
        self.in_memory = bool(in_memory)
        self._arrays = self._load_shard() if self.in_memory else None
        self._epoch = 0
        self._order = self._permutation(0)

    # ------------------------------------------------------------------ setup
    def _select(
        self, names, field_infos: List[FieldInfo], channels: List[str], arg: str, allow_empty=False
    ):
        if names is None:
            return list(range(len(channels)))
        if isinstance(names, str):
            names = [names]
        names = list(names) if names else []
        if not names and not allow_empty:
            raise ValueError(f"{arg} must name at least one field; got {names!r}.")
        by_field = {}
        pos = 0
        for fi in field_infos:
            n = len(fi.channel_names(self.spatial_dims))
            by_field[fi.name] = list(range(pos, pos + n))
            pos += n
        idx: List[int] = []
        for name in names:
            if name in by_field:
                sel = by_field[name]
            elif name in channels:
                sel = [channels.index(name)]
            else:
                raise WellDataError(
                    f"{arg}: unknown field {name!r}; available fields: {list(by_field)}, "
                    f"channels: {channels}."
                )
            idx += [i for i in sel if i not in idx]
        return idx

    def _fields_of(self, field_infos: List[FieldInfo], selected: List[int]) -> List[FieldInfo]:
        """Fields with at least one selected channel."""
        used, pos = [], 0
        for fi in field_infos:
            n = len(fi.channel_names(self.spatial_dims))
            if any(pos <= i < pos + n for i in selected):
                used.append(fi)
            pos += n
        return used

    def _channel_stats(self, used: List[FieldInfo], all_channels: List[str], min_std: float):
        """Per-channel mean/std over all channels; channels of unused fields get (0, 1)."""
        from keras_wavelit.data.stats import channel_mean_std

        mean = np.zeros(len(all_channels), np.float32)
        std = np.ones(len(all_channels), np.float32)
        for fi in used:
            m, s = channel_mean_std(
                self.stats,
                [fi],
                n_spatial_dims=len(self.spatial_dims),
                path=self.stats_path,
                min_std=min_std,
            )
            for j, cname in enumerate(fi.channel_names(self.spatial_dims)):
                k = all_channels.index(cname)
                mean[k], std[k] = m[j], s[j]
        return mean, std

    def _permutation(self, epoch: int) -> np.ndarray:
        if not self.shuffle:
            return np.arange(self.n_samples)
        return np.random.default_rng([self.seed, epoch]).permutation(self.n_samples)

    # --------------------------------------------------------------- PyDataset
    def __len__(self) -> int:
        if self.drop_remainder:
            return self.n_samples // self.local_batch_size
        return math.ceil(self.n_samples / self.local_batch_size)

    def on_epoch_end(self):
        self._epoch += 1
        self._order = self._permutation(self._epoch)

    def __getitem__(self, index: int):
        n_batches = len(self)
        if index < 0:
            index += n_batches
        if not 0 <= index < n_batches:
            raise IndexError(f"batch index {index} out of range for {n_batches} batches.")
        b = self.local_batch_size
        ids = self.sample_indices[self._order[index * b : (index + 1) * b]]
        xs, ys, cs = [], [], []
        for i in ids:
            x, y, c = self.sample(int(i))
            xs.append(x)
            ys.append(y)
            cs.append(c)
        x = np.stack(xs)
        y = np.stack(ys)
        if self.constant_channel_names:
            return {"fields": x, "constants": np.stack(cs)}, y
        return x, y

    # ----------------------------------------------------------------- samples
    def locate(self, index: int):
        """`(file path, trajectory, first time step)` of sample `index`."""
        ds = self._dataset
        offsets = np.asarray(ds.file_index_offsets)
        file_idx = int(np.searchsorted(offsets, index, side="right") - 1)
        local = index - max(int(offsets[file_idx]), 0)
        windows = int(ds.n_windows_per_trajectory[file_idx])
        return ds.files_paths[file_idx], local // windows, local % windows

    def sample(self, index: int):
        """One unbatched sample `(x, y, constants)` as float32 arrays.

        `x` is `(T_in, H, W, C)`, `y` is `(T_out, H, W, C)` and `constants`
        is `(H, W, C_const)` (or None), selected and normalized as configured.
        """
        if self._arrays is not None:
            x, y, c = self._memory_sample(index)
        else:
            try:
                raw = self._dataset[index]
            except (OSError, RuntimeError, KeyError, ValueError, TypeError) as err:
                path, traj, t0 = self.locate(index)
                raise WellDataError(
                    f"{path}: reading trajectory {traj} from time step {t0} failed; the file "
                    f"is truncated or corrupted ({type(err).__name__}: {err})."
                ) from None
            x = np.asarray(raw["input_fields"], dtype=np.float32)[..., self._var_idx]
            y = np.asarray(raw["output_fields"], dtype=np.float32)[..., self._var_idx]
            c = None
            if self.constant_channel_names:
                c = np.asarray(raw["constant_fields"], dtype=np.float32)[..., self._const_idx]
        if self.check_finite:
            self._check_finite(index, x, y, c)
        if self.normalize:
            x = (x - self.mean) / self.std
            y = (y - self.mean) / self.std
            if c is not None:
                c = (c - self.constant_mean) / self.constant_std
        return x, y, c

    def _file_of(self, index: int) -> int:
        offsets = np.asarray(self._dataset.file_index_offsets)
        return int(np.searchsorted(offsets, index, side="right") - 1)

    def _file_and_trajectory(self, index: int):
        return self._file_of(index), self.locate(index)[1]

    def _load_shard(self):
        """Per file, `(first trajectory, fields, constants)` of the trajectories
        this sequence's samples use (None for files it does not touch)."""
        first_file, first_traj = self._file_and_trajectory(int(self.sample_indices[0]))
        last_file, last_traj = self._file_and_trajectory(int(self.sample_indices[-1]))
        arrays = []
        for k, info in enumerate(self.file_infos):
            if not first_file <= k <= last_file:
                arrays.append(None)
                continue
            lo = first_traj if k == first_file else 0
            hi = last_traj + 1 if k == last_file else info.n_trajectories
            arrays.append((lo,) + self._load_file(info, lo, hi))
        return arrays

    def _load_file(self, info: WellFileInfo, lo: int = 0, hi: Optional[int] = None):
        """Selected channels of trajectories `lo:hi` of one file:
        `(n_traj, T, H, W, C)` and `(n_traj, H, W, C_const)`.

        Fields are laid out as `WellDataset` does: broadcast over the axes
        they do not vary along, tensor components flattened in C order,
        fields concatenated in `t0, t1, t2` then `field_names` order.
        """
        import h5py

        from keras_wavelit.data.well_format import FIELD_GROUPS

        hi = info.n_trajectories if hi is None else hi

        var, const = [], []
        try:
            with h5py.File(info.path, "r") as f:
                for fi in info.fields:
                    data = f[FIELD_GROUPS[fi.order]][fi.name]
                    if fi.sample_varying:
                        a = np.asarray(data[lo:hi], dtype=np.float32)
                    else:
                        a = np.asarray(data[()], dtype=np.float32)[None]
                    lead = 2 if fi.time_varying else 1
                    for d, used in enumerate(fi.dim_varying):
                        if not used and fi.omits_constant_axes:
                            a = np.expand_dims(a, lead + d)
                    target = (
                        (hi - lo,)
                        + a.shape[1:lead]
                        + tuple(info.spatial_shape)
                        + a.shape[lead + 2 :]
                    )
                    a = np.broadcast_to(a, target)
                    a = a.reshape(a.shape[: lead + 2] + (-1,))
                    (var if fi.time_varying else const).append(a)
        except OSError as err:
            raise WellDataError(
                f"{info.path}: reading the fields failed; the file is truncated or "
                f"corrupted ({err})."
            ) from None
        v = np.concatenate(var, axis=-1)[..., self._var_idx]
        c = np.concatenate(const, axis=-1)[..., self._const_idx] if self._const_idx else None
        return np.ascontiguousarray(v), (None if c is None else np.ascontiguousarray(c))

    def _memory_sample(self, index: int):
        _, traj, t0 = self.locate(index)
        first, v, c = self._arrays[self._file_of(index)]
        traj -= first
        n_in = self.n_steps_input
        steps = t0 + self.time_stride * np.arange(n_in + self.output_steps)
        x = v[traj, steps[:n_in]]
        y = v[traj, steps[n_in:]]
        return x, y, (None if c is None else c[traj])

    def _check_finite(self, index, x, y, c):
        for arr, offset, names in (
            (x, 0, self.channel_names),
            (y, self.n_steps_input, self.channel_names),
        ):
            bad = ~np.isfinite(arr)
            if bad.any():
                t, _, _, ch = np.argwhere(bad)[0]
                path, traj, t0 = self.locate(index)
                step = t0 + (offset + int(t)) * self.time_stride
                value = arr[tuple(np.argwhere(bad)[0])]
                raise WellDataError(
                    f"{path}: non-finite value ({value}) in field '{names[ch]}' at trajectory "
                    f"{traj}, time step {step}."
                )
        if c is not None:
            bad = ~np.isfinite(c)
            if bad.any():
                _, _, ch = np.argwhere(bad)[0]
                path, traj, _ = self.locate(index)
                raise WellDataError(
                    f"{path}: non-finite value in constant field "
                    f"'{self.constant_channel_names[ch]}' of trajectory {traj}."
                )

    # ----------------------------------------------------------- normalization
    def _affine(self, values, scale, shift, what):
        if scale is None:
            return values
        if isinstance(values, np.ndarray) or np.isscalar(values):
            arr = np.asarray(values)
            if arr.shape[-1:] != scale.shape:
                raise ValueError(
                    f"{what}: last axis has {arr.shape[-1:]} channels, expected {scale.shape[0]}."
                )
            return (arr * scale + shift).astype(np.result_type(arr.dtype, np.float32))
        values = keras.ops.convert_to_tensor(values)
        if tuple(values.shape[-1:]) != scale.shape:
            raise ValueError(
                f"{what}: last axis has {tuple(values.shape[-1:])} channels, "
                f"expected {scale.shape[0]}."
            )
        dtype = values.dtype
        return values * keras.ops.convert_to_tensor(
            scale, dtype=dtype
        ) + keras.ops.convert_to_tensor(shift, dtype=dtype)

    def denormalize(self, values):
        """Maps normalized fields (`x`, `y` or predictions) back to physical units.

        Args:
            values: array or tensor whose last axis holds `channel_names`.

        Returns:
            `values * std + mean` (unchanged when `normalize=False`); NumPy in,
            NumPy out, otherwise a backend tensor.
        """
        if not self.normalize:
            return values
        return self._affine(values, self.std, self.mean, "denormalize")

    def normalize_fields(self, values):
        """Inverse of `denormalize`: `(values - mean) / std`."""
        if not self.normalize:
            return values
        return self._affine(values, 1.0 / self.std, -self.mean / self.std, "normalize_fields")

    def denormalize_constants(self, values):
        """Maps normalized constant fields back to physical units."""
        if not self.normalize or self.constant_std is None:
            return values
        return self._affine(values, self.constant_std, self.constant_mean, "denormalize_constants")

    # ------------------------------------------------------------------- info
    @property
    def files(self) -> List[str]:
        """HDF5 files of the split, in reading order."""
        return list(self._dataset.files_paths)

    @property
    def well_dataset(self):
        """The underlying `the_well.data.WellDataset`."""
        return self._dataset

    @property
    def n_channels(self) -> int:
        return len(self.channel_names)

    @property
    def n_constant_channels(self) -> int:
        return len(self.constant_channel_names)

    @property
    def has_constants(self) -> bool:
        """Whether `x` is the dict `{"fields", "constants"}`."""
        return bool(self.constant_channel_names)

    @property
    def output_steps(self) -> int:
        """`T_out` of the targets."""
        if self.full_trajectory:
            return int(min(self._dataset.n_steps_output, self._dataset.max_rollout_steps))
        return self.n_steps_output

    def __repr__(self) -> str:
        return (
            f"WellSequence({self.well_dataset_name!r}, split={self.split!r}, "
            f"samples={self.n_samples}, "
            + (f"shard={self.shard}, " if self.shard_count > 1 else "")
            + f"batches={len(self)}, x=(B, {self.n_steps_input}, {self.spatial_shape[0]}, "
            f"{self.spatial_shape[1]}, {self.n_channels}), constants={self.n_constant_channels})"
        )
