"""WaveLiT-FM: one model for many PDE datasets (paper sections 3.5 and 4.2, Appendix F).

`docs/foundation.md` explains the decisions this module implements.
"""

import keras
import numpy as np
from keras import ops

from keras_wavelit.data.channels import ChannelRegistry
from keras_wavelit.data.channels import DatasetChannels
from keras_wavelit.data.channels import default_registry
from keras_wavelit.layers.channel_lifting import ChannelLifting
from keras_wavelit.layers.relative_noise import add_relative_noise
from keras_wavelit.layers.relative_noise import attach_seed_generator
from keras_wavelit.layers.relative_noise import check_noise_scale
from keras_wavelit.layers.task_embedding import TaskEmbedding
from keras_wavelit.layers.task_head import TaskHead
from keras_wavelit.models.wavelit_backbone import WaveLiTBackbone
from keras_wavelit.ops.wavelet_filters import WAVELET_BOUNDARIES

#: Trunk presets of the foundation model. `"10M"` has 10.0M parameters
#: (within 5%) with the eight Well 2D datasets of the paper and the three
#: embedded datasets registered and 4 input steps (docs/foundation.md).
FM_PRESETS = {
    "10M": {"dim": 264, "depth": 10, "num_heads": 6, "pyramid_levels": 1},
}

_ARCH_DEFAULTS = {"dim": 96, "depth": 9, "num_heads": 4, "pyramid_levels": 1}

INPUT_KEYS = ("fields", "constants", "dataset")


def _as_specs(datasets, registry):
    registry = default_registry() if registry is None else registry
    if isinstance(datasets, (str, DatasetChannels, dict)):
        datasets = [datasets]
    specs = []
    for d in datasets:
        if isinstance(d, str):
            specs.append(registry[d])
        elif isinstance(d, dict):
            specs.append(DatasetChannels.from_config(d))
        elif isinstance(d, DatasetChannels):
            specs.append(d)
        else:
            raise TypeError(
                "`datasets` must hold dataset names, DatasetChannels or their config dicts; "
                f"got {type(d).__name__}."
            )
    if not specs:
        raise ValueError("`datasets` must name at least one dataset.")
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ValueError(f"`datasets` has duplicates: {names}.")
    return ChannelRegistry(specs)


def _one_hot_maps(registry, what):
    """`(K, S, C)` maps from each dataset's channel slots to canonical channels."""
    names = registry.names
    if what == "fields":
        canon = registry.channels
        per = [registry[n].fields for n in names]
    else:
        canon = registry.constant_channels
        per = [registry[n].constants for n in names]
    slots = max([len(p) for p in per] + [1])
    m = np.zeros((len(names), slots, max(len(canon), 1)), "float32")
    for k, chans in enumerate(per):
        for j, c in enumerate(chans):
            m[k, j, canon.index(c)] = 1.0
    return m


def _shape(x):
    return tuple(x.shape)


@keras.saving.register_keras_serializable(package="keras_wavelit")
class WaveLiTFM(keras.Model):
    """WaveLiT-FM: a shared WaveLiT trunk trained on several datasets.

    The foundation-model variant of paper section 3.5. A sample of dataset
    `k` goes through

    1. its fields, mapped to the canonical channel space of all the model's
       datasets (absent channels zero), and a per-channel lifting without
       bias after a one-level wavelet transform (`ChannelLifting`; every
       input step of a channel has its own rows of `W_c`); constant fields
       (density, masks, ...) are lifted the same way by their own
       `ChannelLifting` and added;
    2. `TaskEmbedding`: dataset `k`'s vector added to every token;
    3. the shared `WaveLiTBackbone` (`depth` x `SharedFPN(RidgeMILABlock)`);
    4. `TaskHead`: dataset `k`'s linear head to its fields' wavelet
       coefficients, then the inverse transform;

    and the output is the next step of the dataset's own fields,
    `(B, 1, H, W, C_k)`. The wavelet transforms of each dataset use that
    dataset's boundary mode (`"periodic"` or `"reflect"`); the trunk's
    depthwise convolutions use `boundary`.

    Inputs are dicts `{"fields", "constants", "dataset"}`: `fields`
    `(B, T_in, H, W, C_k)` in the order of the dataset's registered fields,
    optional `constants` `(B, H, W, C')` (the dataset's constant fields
    first; extra trailing channels are ignored, so batches of several
    datasets can share one structure), and `dataset` the integer index of
    the dataset in `datasets` for every sample, `(B,)` (a dataset name is
    accepted when calling the model eagerly). The dataset index is an input
    tensor, so one compiled step serves every dataset of the same grid
    shape: a run compiles once per distinct input shape.
    `keras_wavelit.data.MultiDatasetSequence` yields such batches, and plain
    `model.fit(sequence)` trains the model on JAX, TensorFlow and PyTorch.

    Args:
        datasets: dataset names of the channel registry
            (`keras_wavelit.data.default_registry()`), `DatasetChannels`,
            or their config dicts. Their order defines the dataset indices.
        size: `"10M"` or None: a preset of `dim`, `depth`, `num_heads`
            and `pyramid_levels`; explicit arguments override it.
        dim, depth, num_heads, pyramid_levels, mlp_ratio, drop_path:
            trunk architecture (see `WaveLiTBackbone`).
        n_steps_input: int, input steps `T_in`. Defaults to 4.
        wavelet: str, PyWavelets name of the lifting and the heads.
            Defaults to `"bior2.2"`.
        boundary: boundary mode of the trunk's depthwise convolutions.
            Defaults to `"reflect"`.
        predict_residual: bool, predict `x_last + f(x)`. Defaults to False.
        registry: `ChannelRegistry` used to resolve dataset names (default:
            the process-wide registry).
        auto_compile: bool, compile with the paper's recipe (see
            `compile`) at construction. Defaults to True.
        **kwargs: `keras.Model` keyword arguments (`name`, `dtype`).

    Call arguments:
        inputs: dict with `"fields"`, optional `"constants"` and
            `"dataset"`.
        training: bool.

    Returns:
        Tensor `(B, 1, H, W, C_k)`.

    Example:

    ```python
    import numpy as np
    import keras_wavelit as kw

    model = kw.models.WaveLiTFM(
        datasets=["gray_scott_2d", "kolmogorov_2d"], dim=16, depth=1, num_heads=2,
        pyramid_levels=0, n_steps_input=2,
    )
    x = np.random.rand(2, 2, 16, 16, 3).astype("float32")  # kolmogorov_2d's 3 fields
    y = model.predict_dataset(x, dataset="kolmogorov_2d")  # (2, 1, 16, 16, 3)
    traj = model.rollout(x, steps=2, dataset="kolmogorov_2d")  # (2, 2, 16, 16, 3)
    ```
    """

    def __init__(
        self,
        datasets,
        size=None,
        dim=None,
        depth=None,
        num_heads=None,
        pyramid_levels=None,
        mlp_ratio=4.0,
        drop_path=0.0,
        n_steps_input=4,
        wavelet="bior2.2",
        boundary="reflect",
        predict_residual=False,
        registry=None,
        auto_compile=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if size is not None and size not in FM_PRESETS:
            raise ValueError(
                f"Unknown size {size!r}; WaveLiTFM presets are {sorted(FM_PRESETS)} "
                "(or give dim/depth/num_heads explicitly)."
            )
        arch = dict(_ARCH_DEFAULTS)
        if size is not None:
            arch.update(FM_PRESETS[size])
        given = {"dim": dim, "depth": depth, "num_heads": num_heads}
        given["pyramid_levels"] = pyramid_levels
        arch.update({k: v for k, v in given.items() if v is not None})
        if int(n_steps_input) != n_steps_input or n_steps_input < 1:
            raise ValueError(f"`n_steps_input` must be an integer >= 1, got {n_steps_input!r}.")
        self.registry = _as_specs(datasets, registry)
        self.datasets = self.registry.names
        self.size = size
        self.dim = arch["dim"]
        self.depth = arch["depth"]
        self.num_heads = arch["num_heads"]
        self.pyramid_levels = arch["pyramid_levels"]
        self.mlp_ratio = mlp_ratio
        self.drop_path = drop_path
        self.n_steps_input = int(n_steps_input)
        self.wavelet = wavelet
        self.boundary = boundary
        self.predict_residual = bool(predict_residual)
        self.auto_compile = auto_compile

        specs = [self.registry[n] for n in self.datasets]
        self._modes = [m for m in WAVELET_BOUNDARIES if any(s.boundary == m for s in specs)]
        mode_of = np.zeros((len(specs), len(self._modes)), "float32")
        for k, s in enumerate(specs):
            mode_of[k, self._modes.index(s.boundary)] = 1.0
        self._mode_table = mode_of
        self._field_map = _one_hot_maps(self.registry, "fields")
        self._constant_map = _one_hot_maps(self.registry, "constants")
        self.n_constant_channels = len(self.registry.constant_channels)

        policy = self.dtype_policy
        self.lifting = ChannelLifting(
            self.dim,
            len(self.registry.channels),
            steps=self.n_steps_input,
            wavelet=wavelet,
            boundary=self._modes[0],
            dtype=policy,
            name="lifting",
        )
        self.constant_lifting = None
        if self.n_constant_channels:
            self.constant_lifting = ChannelLifting(
                self.dim,
                self.n_constant_channels,
                steps=1,
                wavelet=wavelet,
                boundary=self._modes[0],
                dtype=policy,
                name="constant_lifting",
            )
        self.task_embedding = TaskEmbedding(
            len(specs), self.dim, dtype=policy, name="task_embedding"
        )
        self.backbone = WaveLiTBackbone(
            dim=self.dim,
            depth=self.depth,
            num_heads=self.num_heads,
            pyramid_levels=self.pyramid_levels,
            boundary=boundary,
            mlp_ratio=mlp_ratio,
            drop_path=drop_path,
            dtype=policy,
            name="backbone",
        )
        self.head = TaskHead(
            [len(s.fields) for s in specs],
            wavelet=wavelet,
            boundary=self._modes[0],
            dtype=policy,
            name="head",
        )
        self._tf_steps = {}
        # Not tracked: the views hold this model, not the other way around.
        object.__setattr__(self, "_views", {})
        self.input_noise = 0.0
        self.input_noise_seed_generator = None  # created by a compile with noise
        if auto_compile:
            self.compile()

    # ------------------------------------------------------------- compile
    def compile(
        self,
        optimizer="auto",
        loss="auto",
        metrics="auto",
        learning_rate=1e-3,
        warmup_steps=1000,
        weight_decay=1e-4,
        input_noise=0.0,
        **kwargs,
    ):
        """`keras.Model.compile` with the paper's recipe for `"auto"` arguments.

        `optimizer="auto"`: AdamW with linear warm-up and exponential decay,
        global clipping at 1 and EMA weights (paper Appendix E, see
        `keras_wavelit.models.paper_optimizer`); `loss="auto"`:
        `WaveletLoss(1, 1)` with the model's wavelet; `metrics="auto"`:
        The Well's VRMSE.

        Args:
            optimizer, loss, metrics: as in `keras.Model.compile`, or
                `"auto"`.
            learning_rate: peak learning rate of the automatic optimizer.
            warmup_steps: warm-up steps of the automatic optimizer.
            weight_decay: AdamW weight decay of the automatic optimizer.
            input_noise: float >= 0, training-time input noise in units of
                each sample's RMS one-step change, as
                `WaveLiT.compile(input_noise=...)` (paper section 5). Saved
                with the compile configuration. Defaults to 0 (off).
            **kwargs: other `keras.Model.compile` arguments.
        """
        from keras_wavelit.losses.wavelet_loss import WaveletLoss
        from keras_wavelit.metrics import VRMSE
        from keras_wavelit.models.recipe import paper_optimizer

        if isinstance(optimizer, str) and optimizer == "auto":
            optimizer = paper_optimizer(learning_rate, warmup_steps, weight_decay)
        if isinstance(loss, str) and loss == "auto":
            loss = WaveletLoss(1.0, 1.0, wavelet=self.wavelet)
        if isinstance(metrics, str) and metrics == "auto":
            metrics = [VRMSE()]
        check_noise_scale("WaveLiTFM.compile", "input_noise", input_noise)
        self.input_noise = float(input_noise)
        if self.input_noise > 0 and self.input_noise_seed_generator is None:
            attach_seed_generator(self, "input_noise_seed_generator")
        self._tf_steps = {}
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    def get_compile_config(self):
        config = super().get_compile_config()
        if config is not None:
            config["input_noise"] = self.input_noise
        return config

    def compile_from_config(self, config):
        """Recompiles a loaded model with its saved optimizer, loss and metrics."""
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**config)
        if self.built:
            self.optimizer.build(self.trainable_variables)

    # -------------------------------------------------------------- inputs
    @property
    def spatial_multiple(self):
        """Height and width must be multiples of this number."""
        return 2 ** (1 + self.pyramid_levels)

    def dataset_index(self, dataset):
        """Index of a dataset name (or a checked int) in `datasets`."""
        if isinstance(dataset, (int, np.integer)) and not isinstance(dataset, bool):
            if not 0 <= dataset < len(self.datasets):
                raise ValueError(
                    f"Dataset index {dataset} is out of range for {len(self.datasets)} datasets."
                )
            return int(dataset)
        if dataset not in self.datasets:
            raise ValueError(
                f"Unknown dataset {dataset!r}: this WaveLiTFM was built for {self.datasets}. "
                "Add a dataset with `expand`."
            )
        return self.datasets.index(dataset)

    def _split(self, inputs):
        if not isinstance(inputs, dict):
            raise ValueError(
                "WaveLiTFM takes a dict {'fields': x, 'constants': c, 'dataset': index}; "
                f"got {type(inputs).__name__}."
            )
        unknown = set(inputs) - set(INPUT_KEYS)
        if unknown or "fields" not in inputs or "dataset" not in inputs:
            raise ValueError(
                "WaveLiTFM inputs must have the keys 'fields' and 'dataset' and optionally "
                f"'constants'; got keys {sorted(map(str, inputs))}."
            )
        return inputs["fields"], inputs.get("constants"), inputs["dataset"]

    def _check_shapes(self, fields_shape, constants_shape, dataset=None):
        if len(fields_shape) != 5:
            hint = " (3D data is not supported: 2D only)" if len(fields_shape) == 6 else ""
            raise ValueError(
                "WaveLiTFM expects fields of shape (B, T_in, H, W, C); got shape "
                f"{tuple(fields_shape)}{hint}."
            )
        _, t, h, w, c = fields_shape
        if t is not None and t != self.n_steps_input:
            raise ValueError(
                f"This WaveLiTFM takes n_steps_input={self.n_steps_input} input steps; got "
                f"fields of shape {tuple(fields_shape)}."
            )
        m = self.spatial_multiple
        for n, name in ((h, "height"), (w, "width")):
            if n is not None and n % m:
                raise ValueError(
                    f"WaveLiTFM(pyramid_levels={self.pyramid_levels}) needs a {name} that is "
                    f"a multiple of {m}; got fields of shape {tuple(fields_shape)}."
                )
        if c is not None and c > self._field_map.shape[1]:
            raise ValueError(
                f"Fields have {c} channels; no dataset of this WaveLiTFM has more than "
                f"{self._field_map.shape[1]}."
            )
        if dataset is not None:
            spec = self.registry[self.datasets[dataset]]
            if c != len(spec.fields):
                raise ValueError(
                    f"Dataset {spec.name!r} has {len(spec.fields)} fields {list(spec.fields)}; "
                    f"got fields of shape {tuple(fields_shape)}."
                )
        if constants_shape is not None:
            if len(constants_shape) != 4 or tuple(constants_shape[1:3]) != (h, w):
                raise ValueError(
                    "Constant fields must have shape (B, H, W, C_const) on the grid of the "
                    f"fields {tuple(fields_shape)}; got {tuple(constants_shape)}."
                )
            if constants_shape[-1] > self._constant_map.shape[1]:
                raise ValueError(
                    f"Constant fields have {constants_shape[-1]} channels; no dataset of this "
                    f"WaveLiTFM has more than {self._constant_map.shape[1]}."
                )
            if dataset is not None:
                spec = self.registry[self.datasets[dataset]]
                if constants_shape[-1] < len(spec.constants):
                    raise ValueError(
                        f"Dataset {spec.name!r} has {len(spec.constants)} constant fields "
                        f"{list(spec.constants)}; got constants of shape "
                        f"{tuple(constants_shape)}."
                    )
        elif dataset is not None and self.registry[self.datasets[dataset]].constants:
            spec = self.registry[self.datasets[dataset]]
            raise ValueError(
                f"Dataset {spec.name!r} needs its constant fields {list(spec.constants)} "
                "(inputs['constants'])."
            )

    # -------------------------------------------------------------- build
    def build(self, input_shape):
        if not isinstance(input_shape, dict) or "fields" not in input_shape:
            raise ValueError(
                "WaveLiTFM builds from a dict of shapes with 'fields' (and 'constants', "
                f"'dataset'); got {input_shape!r}."
            )
        fields_shape = tuple(input_shape["fields"])
        const_shape = input_shape.get("constants")
        const_shape = None if const_shape is None else tuple(const_shape)
        self._check_shapes(fields_shape, const_shape)
        b, t, h, w, _ = fields_shape
        self.lifting.build((b, t, h, w, self.lifting.num_channels))
        if self.constant_lifting is not None:
            self.constant_lifting.build((b, 1, h, w, self.n_constant_channels))
        token_shape = (b, None if h is None else h // 2, None if w is None else w // 2, self.dim)
        self.task_embedding.build(token_shape)
        self.backbone.build(token_shape)
        self.head.build(token_shape)
        self.built = True

    # ------------------------------------------------------------ forward
    def _to_canonical(self, x, table, index, n_slots):
        """`(B, ..., n_slots)` dataset channels -> `(B, ..., C)` canonical channels."""
        m = ops.take(ops.convert_to_tensor(table, dtype=x.dtype), index, axis=0)
        m = m[:, :n_slots, :]  # (B, n_slots, C)
        lead = x.shape[1:-1]
        flat = ops.reshape(x, (-1, int(np.prod(lead)), n_slots))
        out = ops.matmul(flat, m)
        return ops.reshape(out, (-1,) + tuple(lead) + (table.shape[-1],))

    def _per_boundary(self, fn, index, dtype):
        """`fn(mode)` for the one mode in use, or the per-sample mix of each mode."""
        if len(self._modes) == 1:
            return fn(self._modes[0])
        weights = ops.take(ops.convert_to_tensor(self._mode_table, dtype=dtype), index, axis=0)
        out = None
        for j, mode in enumerate(self._modes):
            y = fn(mode) * ops.reshape(weights[:, j], (-1, 1, 1, 1))
            out = y if out is None else out + y
        return out

    def _index_tensor(self, dataset, batch):
        if isinstance(dataset, str):
            return np.full((batch,), self.dataset_index(dataset), "int32")
        if isinstance(dataset, (int, np.integer)):
            return np.full((batch,), self.dataset_index(int(dataset)), "int32")
        return ops.cast(ops.reshape(dataset, (-1,)), "int32")

    def call(self, inputs, training=None):
        fields, constants, dataset = self._split(inputs)
        self._check_shapes(_shape(fields), None if constants is None else _shape(constants))
        fields = ops.cast(fields, self.compute_dtype)
        if training and self.input_noise > 0:
            fields = add_relative_noise(
                fields, self.input_noise, seed=self.input_noise_seed_generator
            )
        index = self._index_tensor(dataset, fields.shape[0])
        c = fields.shape[-1]
        u = self._to_canonical(fields, self._field_map, index, c)
        x = self._per_boundary(lambda m: self.lifting(u, boundary=m), index, fields.dtype)
        if constants is not None and self.constant_lifting is not None:
            constants = ops.cast(constants, self.compute_dtype)
            v = self._to_canonical(constants, self._constant_map, index, constants.shape[-1])
            v = v[:, None]
            x = x + self._per_boundary(
                lambda m: self.constant_lifting(v, boundary=m), index, fields.dtype
            )
        x = self.task_embedding(x, task_index=index)
        x = self.backbone(x, training=training)
        y = self._per_boundary(
            lambda m: self.head(x, task_index=index, boundary=m), index, fields.dtype
        )
        y = y[..., :c][:, None]
        if self.predict_residual:
            y = y + fields[:, -1:]
        return y

    def compute_output_shape(self, input_shape):
        b, _, h, w, c = input_shape["fields"]
        return (b, 1, h, w, c)

    # --------------------------------------------------------- per dataset
    def _dataset_inputs(self, x, dataset):
        k = self.dataset_index(dataset)
        if isinstance(x, dict):
            fields, constants = x["fields"], x.get("constants")
        elif isinstance(x, (list, tuple)):
            fields, constants = x
        else:
            fields, constants = x, None
        fields = np.asarray(ops.convert_to_numpy(fields), dtype="float32")
        if constants is not None:
            constants = np.asarray(ops.convert_to_numpy(constants), dtype="float32")
        self._check_shapes(fields.shape, None if constants is None else constants.shape, k)
        inputs = {"fields": fields, "dataset": np.full((fields.shape[0],), k, "int32")}
        if constants is not None:
            inputs["constants"] = constants
        return inputs

    def predict_dataset(self, x, dataset):
        """Predicts the next step of samples of one dataset, by name.

        Args:
            x: fields `(B, T_in, H, W, C_k)` of dataset `dataset`, or a dict
                `{"fields": x, "constants": c}`.
            dataset: dataset name (or index).

        Returns:
            NumPy array `(B, 1, H, W, C_k)`.
        """
        inputs = self._dataset_inputs(x, dataset)
        return np.asarray(ops.convert_to_numpy(self.predict_on_batch(inputs)), "float32")

    def rollout(self, x0, steps, dataset, batch_size=None):
        """Autoregressive rollout of one dataset, by name.

        Args:
            x0: initial window `(B, T_in, H, W, C_k)` or a dict with
                `"fields"` and `"constants"` (constants stay fixed).
            steps: int >= 1.
            dataset: dataset name (or index).
            batch_size: optional int, rollout in chunks of this many samples.

        Returns:
            NumPy array `(B, steps, H, W, C_k)`.
        """
        if int(steps) < 1:
            raise ValueError(f"`steps` must be >= 1, got {steps}.")
        inputs = self._dataset_inputs(x0, dataset)
        fields = inputs["fields"]
        n = fields.shape[0]
        batch_size = batch_size or n
        out = np.empty((n, int(steps)) + fields.shape[2:], dtype="float32")
        for start in range(0, n, batch_size):
            sl = slice(start, start + batch_size)
            batch = {k: v[sl] for k, v in inputs.items()}
            for s in range(int(steps)):
                pred = np.asarray(ops.convert_to_numpy(self.predict_on_batch(batch)), "float32")
                out[sl, s] = pred[:, 0]
                batch["fields"] = np.concatenate([batch["fields"][:, 1:], pred], axis=1)
        return out

    def for_dataset(self, dataset):
        """A one-dataset view: a model with the bespoke `WaveLiT` input contract.

        The view takes `fields` or `{"fields", "constants"}` of dataset
        `dataset` and shares every weight with this model, so the tools made
        for one-dataset models work on the foundation model: rollout
        finetuning with `keras_wavelit.training.RolloutFinetuner` (which
        trains this model's weights), evaluation, `rollout`.

        Returns:
            A `WaveLiTFMDatasetView`.
        """
        return WaveLiTFMDatasetView(self, dataset)

    def evaluate_datasets(self, sequences, **kwargs):
        """`evaluate` on each dataset separately.

        Args:
            sequences: dict name -> data of that dataset (e.g. a
                `WellSequence`); plain `(x, y)` batches are accepted and
                given the dataset index.
            **kwargs: passed to `evaluate` (`verbose`, `steps`).

        Returns:
            dict name -> dict of metric values.
        """
        kwargs.setdefault("verbose", 0)
        results = {}
        for name, data in sequences.items():
            # One compiled view per dataset and loss, reused across calls
            # (e.g. every epoch of `DatasetSamplingCallback`).
            view = self._views.get((name, id(self.loss)))
            if view is None:
                view = self.for_dataset(name)
                view.compile(loss=self.loss, metrics=_fresh_metrics(self))
                self._views[(name, id(self.loss))] = view
            results[name] = view.evaluate(data, return_dict=True, **kwargs)
        return results

    # -------------------------------------------------------------- expand
    def expand(self, datasets, registry=None, freeze_backbone=False, **kwargs):
        """A model for more datasets that keeps every weight learned so far.

        The new model's datasets are this model's plus `datasets` (new
        names, `DatasetChannels` or config dicts). New canonical channels get
        new, freshly initialized lifting weights; every existing channel,
        dataset vector, head and the trunk keep their weights (matched by
        channel and dataset name). This is how a pretrained foundation
        model is finetuned on a new dataset with new fields.

        Args:
            datasets: datasets to add.
            registry: registry resolving new names (default: the
                process-wide one).
            freeze_backbone: bool, make the trunk non-trainable (train only
                the lifting, the task vectors and the heads).
            **kwargs: constructor overrides (e.g. `auto_compile=False`).

        Returns:
            A new, built `WaveLiTFM`.
        """
        new = _as_specs(datasets, registry)
        specs = [self.registry[n] for n in self.datasets]
        for s in [new[n] for n in new.names]:
            if s.name in self.datasets:
                if s != self.registry[s.name]:
                    raise ValueError(f"Dataset {s.name!r} is already in the model, differently.")
                continue
            specs.append(s)
        config = self.get_config()
        config["datasets"] = [s.get_config() for s in specs]
        config.update(kwargs)
        model = self.__class__.from_config(config)
        self._ensure_built()
        model._ensure_built()
        _copy_weights(self, model)
        if freeze_backbone:
            model.backbone.trainable = False
        if model.auto_compile:
            model.compile()
        return model

    def _ensure_built(self):
        """Creates the weights (no forward pass)."""
        if self.built:
            return
        s = 2 * self.spatial_multiple
        shapes = {
            "fields": (1, self.n_steps_input, s, s, self._field_map.shape[1]),
            "dataset": (1,),
        }
        if self.n_constant_channels:
            shapes["constants"] = (1, s, s, self._constant_map.shape[1])
        self.build(shapes)

    # -------------------------------------------- TensorFlow: one trace per shape
    # Keras's TensorFlow trainer would trace batches of several shapes under
    # one relaxed signature, which the wavelet transforms and RoPE cannot
    # trace; see `keras_wavelit.tensorflow_per_shape_steps`.
    def _tf_per_shape(self, kind, step):
        from keras_wavelit.tensorflow_per_shape_steps import per_shape_step

        return per_shape_step(step, self._tf_steps.setdefault(kind, {}), self.jit_compile)

    def make_train_function(self, force=False):
        if keras.backend.backend() != "tensorflow" or self.run_eagerly:
            return super().make_train_function(force)
        if self.train_function is not None and not force:
            return self.train_function
        run = self._tf_per_shape("train", self.train_step)
        self.train_function = lambda iterator: run(next(iter_of(iterator)))
        return self.train_function

    def make_test_function(self, force=False):
        if keras.backend.backend() != "tensorflow" or self.run_eagerly:
            return super().make_test_function(force)
        if self.test_function is not None and not force:
            return self.test_function
        run = self._tf_per_shape("test", self.test_step)
        self.test_function = lambda iterator: run(next(iter_of(iterator)))
        return self.test_function

    def make_predict_function(self, force=False):
        if keras.backend.backend() != "tensorflow" or self.run_eagerly:
            return super().make_predict_function(force)
        if self.predict_function is not None and not force:
            return self.predict_function
        run = self._tf_per_shape("predict", self.predict_step)
        self.predict_function = lambda data: run(data[0])
        return self.predict_function

    # -------------------------------------------------------------- fit
    def fit(self, *args, **kwargs):
        """`keras.Model.fit`; afterwards the weights are the EMA weights when
        the optimizer uses EMA (the paper's recipe)."""
        # Imported here: the training package imports this module.
        from keras_wavelit.training.interrupt import ctrl_c_stays_an_interrupt

        with ctrl_c_stays_an_interrupt(self):
            history = super().fit(*args, **kwargs)
        # With EMA, the end of `fit` assigns the averages to the weights, so
        # a weight and its average can share one buffer, which JAX's donating
        # step functions would free. Copies keep them apart.
        for v in self.trainable_variables:
            v.assign(ops.copy(v.value))
        return history

    # ------------------------------------------------------------- config
    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "datasets": [self.registry[n].get_config() for n in self.datasets],
                "size": self.size,
                "dim": self.dim,
                "depth": self.depth,
                "num_heads": self.num_heads,
                "pyramid_levels": self.pyramid_levels,
                "mlp_ratio": self.mlp_ratio,
                "drop_path": self.drop_path,
                "n_steps_input": self.n_steps_input,
                "wavelet": self.wavelet,
                "boundary": self.boundary,
                "predict_residual": self.predict_residual,
                "auto_compile": self.auto_compile,
            }
        )
        return config


def iter_of(iterator):
    """The iterator itself (tf.data iterators) or an iterator over a list of batches."""
    return iterator if hasattr(iterator, "__next__") else iter(iterator)


def _fresh_metrics(model):
    from keras_wavelit.metrics import VRMSE

    return [VRMSE()]


def _copy_weights(old, new):
    """Copies `old`'s weights into `new`, matching channels and datasets by name."""
    # NumPy copies: a variable must not share its buffer with another model's
    # (JAX's compiled steps donate, i.e. free, the buffers of their inputs).
    for src, dst in zip(old.backbone.weights, new.backbone.weights):
        dst.assign(np.array(ops.convert_to_numpy(src.value)))
    pairs = [(old.lifting, new.lifting, old.registry.channels, new.registry.channels)]
    if old.constant_lifting is not None and new.constant_lifting is not None:
        pairs.append(
            (
                old.constant_lifting,
                new.constant_lifting,
                old.registry.constant_channels,
                new.registry.constant_channels,
            )
        )
    for src, dst, src_names, dst_names in pairs:
        kernel = np.array(ops.convert_to_numpy(dst.kernel))
        old_kernel = np.asarray(ops.convert_to_numpy(src.kernel))
        for i, name in enumerate(src_names):
            kernel[dst_names.index(name)] = old_kernel[i]
        dst.kernel.assign(kernel)
    emb = np.array(ops.convert_to_numpy(new.task_embedding.embeddings))
    hk = np.array(ops.convert_to_numpy(new.head.kernel))
    hb = np.array(ops.convert_to_numpy(new.head.bias))
    old_emb = np.asarray(ops.convert_to_numpy(old.task_embedding.embeddings))
    old_hk = np.asarray(ops.convert_to_numpy(old.head.kernel))
    old_hb = np.asarray(ops.convert_to_numpy(old.head.bias))
    for i, name in enumerate(old.datasets):
        j = new.datasets.index(name)
        emb[j] = old_emb[i]
        n = old_hk.shape[-1]
        hk[j] = 0.0
        hb[j] = 0.0
        hk[j, :, :n] = old_hk[i]
        hb[j, :n] = old_hb[i]
    new.task_embedding.embeddings.assign(emb)
    new.head.kernel.assign(hk)
    new.head.bias.assign(hb)


@keras.saving.register_keras_serializable(package="keras_wavelit")
class WaveLiTFMDatasetView(keras.Model):
    """One dataset of a `WaveLiTFM`, with the one-dataset input contract.

    Calls the foundation model with the dataset index filled in; every
    weight is the foundation model's. Made by `WaveLiTFM.for_dataset`.

    Args:
        fm: the `WaveLiTFM`.
        dataset: dataset name.
        **kwargs: `keras.Model` keyword arguments.

    Call arguments:
        inputs: fields `(B, T_in, H, W, C_k)`, a dict
            `{"fields", "constants"}` or a tuple `(fields, constants)`.
        training: bool.

    Returns:
        Tensor `(B, 1, H, W, C_k)`.
    """

    def __init__(self, fm, dataset, **kwargs):
        kwargs.setdefault("name", f"{fm.name}_{dataset}")
        super().__init__(**kwargs)
        self.fm = fm
        self.dataset = dataset
        self.index = fm.dataset_index(dataset)
        spec = fm.registry[fm.datasets[self.index]]
        self.n_fields = len(spec.fields)
        self.n_steps_input = fm.n_steps_input

    def _inputs(self, inputs):
        if isinstance(inputs, dict):
            fields, constants = inputs["fields"], inputs.get("constants")
        elif isinstance(inputs, (list, tuple)):
            fields, constants = inputs
        else:
            fields, constants = inputs, None
        self.fm._check_shapes(
            _shape(fields), None if constants is None else _shape(constants), self.index
        )
        zero = ops.zeros_like(ops.reshape(fields, (ops.shape(fields)[0], -1))[:, 0])
        out = {"fields": fields, "dataset": ops.cast(zero, "int32") + self.index}
        if constants is not None:
            out["constants"] = constants
        return out

    def build(self, input_shape):
        self.fm._ensure_built()
        self.built = True

    def call(self, inputs, training=None):
        return self.fm(self._inputs(inputs), training=training)

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, dict):
            input_shape = input_shape["fields"]
        elif isinstance(input_shape[0], (list, tuple)):
            input_shape = input_shape[0]
        b, _, h, w, c = input_shape
        return (b, 1, h, w, c)

    def rollout(self, x0, steps, batch_size=None):
        """`WaveLiTFM.rollout` of this dataset."""
        return self.fm.rollout(x0, steps, self.dataset, batch_size=batch_size)

    def get_config(self):
        config = super().get_config()
        config.update({"fm": keras.saving.serialize_keras_object(self.fm), "dataset": self.dataset})
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        fm = keras.saving.deserialize_keras_object(config.pop("fm"))
        return cls(fm, **config)
