"""`WaveLiTFMHyperModel`: the WaveLiT-FM search space under a parameter budget."""

import inspect

import keras
import numpy as np

from keras_wavelit.tuning.budget import ParameterCounter
from keras_wavelit.tuning.hypermodel import BudgetedHyperModel
from keras_wavelit.tuning.search_space import DEFAULT_SPACE

#: The default space of the foundation model: `DEFAULT_SPACE` without the
#: entries `WaveLiTFM` does not take (`wavelet_levels`: its lifting is one
#: wavelet level; `ridge_lambda`: the trunk's default ridge).
FM_DEFAULT_SPACE = {
    k: v for k, v in DEFAULT_SPACE.items() if k not in ("wavelet_levels", "ridge_lambda")
}

# WaveLiTFM arguments that the hypermodel sets itself.
_FIXED_FM_ARGUMENTS = ("self", "kwargs", "datasets", "registry", "n_steps_input", "auto_compile")


class FMParameterCounter(ParameterCounter):
    """`ParameterCounter` for `WaveLiTFM(**config)` (its datasets in `config`).

    The count of a WaveLiT-FM depends on its datasets' channels, not on the
    grid, and is affine in `depth` like WaveLiT's.

    Args:
        registry: optional `ChannelRegistry` resolving the dataset names.
    """

    def __init__(self, registry=None):
        self.registry = registry
        self._cache = {}

    def build(self, config):
        """`WaveLiTFM(**config)` with its weights created."""
        from keras_wavelit.models import WaveLiTFM

        model = WaveLiTFM(**config, registry=self.registry, auto_compile=False)
        s = 2 * model.spatial_multiple
        spec = model.registry[model.datasets[0]]
        shapes = {
            "fields": (1, model.n_steps_input, s, s, len(spec.fields)),
            "dataset": (1,),
        }
        if model.n_constant_channels:
            shapes["constants"] = (1, s, s, len(spec.constants) or 1)
        model.build(shapes)
        return model


class _ArrayBatches(keras.utils.PyDataset):
    """`(x, y)` arrays as a Keras dataset of batches."""

    def __init__(self, x, y, batch_size=8):
        super().__init__()
        self.x, self.y, self.batch_size = x, y, int(batch_size)

    def __len__(self):
        return -(-len(self.y) // self.batch_size)

    def __getitem__(self, i):
        sl = slice(i * self.batch_size, (i + 1) * self.batch_size)
        return self.x[sl], self.y[sl]


def _as_data(data):
    if isinstance(data, tuple) and len(data) == 2 and hasattr(data[1], "shape"):
        return _ArrayBatches(*data)
    return data


class MedianVRMSE(keras.callbacks.Callback):
    """Adds the median over datasets of the validation VRMSE to the epoch logs.

    At the end of every epoch, `model.evaluate_datasets` scores each
    dataset's validation data; `logs["val_vrmse_<name>"]` holds each and
    `logs[name]` (default `"val_median_vrmse"`) their median, the
    foundation model's objective (paper section 4.2 reports per-dataset
    scores; the median does not let one easy dataset dominate).

    Args:
        validation_data: dict dataset name -> data of that dataset: a
            `WellSequence` (or any Keras dataset) or a tuple `(x, y)` of
            arrays.
        steps: optional int, batches evaluated per dataset.
        name: log key. Defaults to `"val_median_vrmse"`.
    """

    def __init__(self, validation_data, steps=None, name="val_median_vrmse"):
        super().__init__()
        self.validation_data = {n: _as_data(d) for n, d in dict(validation_data).items()}
        self.steps = steps
        self.name = name

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        results = self.model.evaluate_datasets(self.validation_data, steps=self.steps)
        scores = {n: float(r["vrmse"]) for n, r in results.items()}
        for n, score in scores.items():
            logs[f"val_vrmse_{n}"] = score
        logs[self.name] = float(np.median(list(scores.values())))


class WaveLiTFMHyperModel(BudgetedHyperModel):
    """A KerasTuner hypermodel over `WaveLiTFM` and its training recipe.

    The foundation-model counterpart of `WaveLiTHyperModel` (paper sections
    3.5 and 4.2): each trial builds a `keras_wavelit.models.WaveLiTFM` over
    `datasets`, compiled with the paper's recipe at the trial's values, and
    is scored by `val_median_vrmse`, the median over the datasets of each
    one's validation VRMSE (`MedianVRMSE`, after every epoch). The space is
    `FM_DEFAULT_SPACE` (`dim`, `depth`, `num_heads`, `pyramid_levels`,
    `wavelet`, loss weights, learning rate, weight decay), fixed, narrowed
    or extended with `space` exactly as for `WaveLiTHyperModel`, and
    `max_params` is enforced the same way: over-budget proposals are redrawn
    within the trial, never trained. Train with a
    `keras_wavelit.data.MultiDatasetSequence` (`tuner.search(train,
    epochs=..., steps_per_epoch=...)`); no `validation_data` is needed.

    Args:
        datasets: dataset names (of `registry`, by default the process-wide
            channel registry), in the model's order.
        validation_data: dict name -> validation data of every dataset (a
            `WellSequence`, any Keras dataset or a tuple `(x, y)` of arrays).
        n_steps_input: int, input steps `T_in`. Defaults to 4.
        registry: optional `ChannelRegistry`.
        grid: optional `(H, W)` every dataset's grid is a multiple of; the
            pyramid levels must divide it.
        validation_steps: optional int, batches per dataset per evaluation.
        space, max_params, boundary, warmup_steps, max_resamples, seed,
            compile_kwargs, name, tunable: as for `WaveLiTHyperModel`. `warmup_steps`
            defaults to 1000 (`WaveLiTFM.compile`'s).

    Example:

    ```python
    import keras_tuner
    import numpy as np
    import keras_wavelit as kw

    xg = np.random.rand(2, 2, 16, 16, 2).astype("float32")  # Gray-Scott: 2 fields
    xk = np.random.rand(2, 2, 16, 16, 3).astype("float32")  # Kolmogorov: 3 fields
    valid = {"gray_scott_2d": (xg, xg[:, -1:]), "kolmogorov_2d": (xk, xk[:, -1:])}
    hypermodel = kw.tuning.WaveLiTFMHyperModel(
        ["gray_scott_2d", "kolmogorov_2d"], valid, n_steps_input=2,
        space={"dim": 16, "depth": (1, 3), "pyramid_levels": 0}, max_params=12_000,
    )
    model = hypermodel.build(keras_tuner.HyperParameters())
    assert hypermodel.objective.name == "val_median_vrmse"
    ```
    """

    model_name = "WaveLiTFM"
    default_space = FM_DEFAULT_SPACE

    def __init__(
        self,
        datasets,
        validation_data,
        n_steps_input=4,
        registry=None,
        grid=None,
        validation_steps=None,
        space=None,
        max_params=None,
        boundary="reflect",
        warmup_steps=1000,
        max_resamples=200,
        seed=0,
        compile_kwargs=None,
        name=None,
        tunable=True,
    ):
        self.datasets = [str(d) for d in datasets]
        self.validation_data = dict(validation_data)
        missing = sorted(set(self.datasets) - set(self.validation_data))
        if missing:
            raise ValueError(f"validation_data has no data for the datasets {missing}.")
        unknown = sorted(set(self.validation_data) - set(self.datasets))
        if unknown:
            raise ValueError(f"validation_data names datasets {unknown} not in `datasets`.")
        self.n_steps_input = int(n_steps_input)
        self.registry = registry
        self.grid = None if grid is None else tuple(int(g) for g in grid)
        self.validation_steps = validation_steps
        super().__init__(
            space=space,
            max_params=max_params,
            boundary=boundary,
            objective="val_median_vrmse",
            warmup_steps=warmup_steps,
            max_resamples=max_resamples,
            seed=seed,
            compile_kwargs=compile_kwargs,
            name=name,
            tunable=tunable,
        )

    def _make_counter(self):
        return FMParameterCounter(self.registry)

    def _argument_names(self):
        from keras_wavelit.models import WaveLiTFM

        return set(inspect.signature(WaveLiTFM.__init__).parameters) - set(_FIXED_FM_ARGUMENTS)

    def _grid(self):
        return self.grid

    def _model_config(self, values):
        config = super()._model_config(values)
        config["datasets"] = list(self.datasets)
        config["n_steps_input"] = self.n_steps_input
        return config

    def _new_model(self, model_config):
        from keras_wavelit.models import WaveLiTFM

        return WaveLiTFM(**model_config, registry=self.registry, auto_compile=False)

    def _callbacks(self):
        return [MedianVRMSE(self.validation_data, self.validation_steps, self.objective_name)]
