"""keras-wavelit quickstart: a tiny WaveLiT surrogate, end to end.

Learns one time step of a periodic 2D advection-diffusion problem for two
fields on a 32 x 32 grid:

    fields (B, 32, 32, 2) -> WaveletEncoder            (B, 16, 16, dim)
                          -> WaveLiTBackbone: 2 x SharedFPN(RidgeMILABlock) + LayerNorm
                          -> WaveletDecoder -> fields at the next step (B, 32, 32, 2)

trains it with `model.fit` (AdamW, WaveletLoss), then saves it to a
`.keras` file, loads it back and checks that the predictions are identical.
Small enough for a laptop CPU; on JAX and TensorFlow most of the time is XLA
compiling the training step. Any Keras backend:

    KERAS_BACKEND=jax python examples/quickstart.py
    KERAS_BACKEND=tensorflow python examples/quickstart.py
    KERAS_BACKEND=torch python examples/quickstart.py
"""

import os
import sys
import tempfile
import time

# A model this small runs fastest on one intra-op thread: on a small or busy
# CPU, several threads mostly wait for each other (PyTorch's OpenMP threads
# especially). Set these variables yourself to override.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")

import keras  # noqa: E402
import numpy as np  # noqa: E402

# Run from a source checkout without installing the package.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from keras_wavelit.layers import WaveletDecoder  # noqa: E402
from keras_wavelit.layers import WaveletEncoder  # noqa: E402
from keras_wavelit.losses import WaveletLoss  # noqa: E402
from keras_wavelit.models import WaveLiTBackbone  # noqa: E402


# ---------------------------------------------------------------------------
# Data: exact spectral steps of u_t + c . grad(u) = nu * laplacian(u).
# ---------------------------------------------------------------------------
def advection_diffusion_pairs(samples, size=32, channels=2, dt=0.05, seed=0):
    """Random smooth periodic fields `x` and the fields one step later `y`.

    Each channel is advected with its own constant velocity and diffused with
    its own viscosity; the step is exact in Fourier space.
    """
    rng = np.random.default_rng(seed)
    k = 2 * np.pi * np.fft.fftfreq(size, d=1.0 / size)  # wavenumbers on [0, 1)
    kx, ky = np.meshgrid(k, k, indexing="ij")
    k2 = kx**2 + ky**2
    # Smooth random initial conditions: white noise with a decaying spectrum.
    noise = rng.standard_normal((samples, size, size, channels))
    spectrum = np.exp(-k2 / (2 * (2 * np.pi * 3) ** 2))[None, :, :, None]
    x = np.real(np.fft.ifft2(np.fft.fft2(noise, axes=(1, 2)) * spectrum, axes=(1, 2)))
    x /= x.std(axis=(1, 2), keepdims=True)
    velocity = np.array([[1.0, 0.5], [-0.5, 1.0]])[:channels]  # (C, 2)
    viscosity = np.array([2e-3, 5e-3])[:channels]
    phase = (
        -1j * (velocity[:, 0, None, None] * kx + velocity[:, 1, None, None] * ky)
        - viscosity[:, None, None] * k2
    ) * dt  # (C, H, W)
    step = np.exp(np.moveaxis(phase, 0, -1))[None]  # (1, H, W, C)
    y = np.real(np.fft.ifft2(np.fft.fft2(x, axes=(1, 2)) * step, axes=(1, 2)))
    return x.astype("float32"), y.astype("float32")


# ---------------------------------------------------------------------------
# Model: the library's encoder, backbone and decoder in a small keras.Model.
# ---------------------------------------------------------------------------
@keras.saving.register_keras_serializable(package="quickstart")
class TinyWaveLiT(keras.Model):
    """Wavelet tokens -> WaveLiTBackbone (shared-pyramid RidgeMILA blocks) -> fields.

    Predicts the residual: `y = x + decoder(backbone(encoder(x)))`.
    """

    def __init__(
        self,
        channels,
        dim=32,
        depth=2,
        num_heads=4,
        pyramid_levels=1,
        boundary="periodic",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.channels = channels
        self.dim = dim
        self.depth = depth
        self.num_heads = num_heads
        self.pyramid_levels = pyramid_levels
        self.boundary = boundary
        self.encoder = WaveletEncoder(dim, boundary=boundary, name="encoder")
        self.backbone = WaveLiTBackbone(
            dim=dim,
            depth=depth,
            num_heads=num_heads,
            pyramid_levels=pyramid_levels,
            boundary=boundary,
            name="backbone",
        )
        self.decoder = WaveletDecoder(channels, boundary=boundary, name="decoder")

    def build(self, input_shape):
        self.encoder.build(input_shape)
        tokens = self.encoder.compute_output_shape(input_shape)
        self.backbone.build(tokens)
        self.decoder.build(tokens)

    def call(self, inputs, training=None):
        tokens = self.backbone(self.encoder(inputs), training=training)
        return inputs + self.decoder(tokens)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "channels": self.channels,
                "dim": self.dim,
                "depth": self.depth,
                "num_heads": self.num_heads,
                "pyramid_levels": self.pyramid_levels,
                "boundary": self.boundary,
            }
        )
        return config


def main():
    start = time.perf_counter()
    keras.utils.set_random_seed(0)
    print(f"Keras {keras.__version__}, backend {keras.backend.backend()}")

    x, y = advection_diffusion_pairs(80)
    x_train, y_train, x_test = x[:64], y[:64], x[64:]
    loss = WaveletLoss(alpha=1.0, beta=1.0, boundary="periodic")
    persistence = float(keras.ops.convert_to_numpy(loss(y_train, x_train)))
    print(
        f"data: x {x_train.shape} -> y {y_train.shape}; "
        f"loss of predicting 'no change': {persistence:.4f}"
    )

    model = TinyWaveLiT(channels=x.shape[-1])
    model.build(x_train.shape)
    model.compile(
        optimizer=keras.optimizers.AdamW(learning_rate=3e-3, weight_decay=1e-4),
        loss=loss,
    )
    print(f"TinyWaveLiT: {model.count_params():,} parameters")

    history = model.fit(x_train, y_train, batch_size=8, epochs=4, verbose=0)
    losses = history.history["loss"]
    for epoch, value in enumerate(losses, 1):
        print(f"epoch {epoch}: loss {value:.4f}")
    if not losses[-1] < losses[0]:
        raise SystemExit(f"loss did not go down: {losses}")

    pred = model.predict(x_test, verbose=0)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "tiny_wavelit.keras")
        model.save(path)
        reloaded = keras.saving.load_model(path)
    pred_reloaded = reloaded.predict(x_test, verbose=0)
    diff = float(np.max(np.abs(pred - pred_reloaded)))
    print(f"saved and reloaded tiny_wavelit.keras: max |prediction difference| = {diff:g}")
    if diff != 0.0:
        raise SystemExit("reloaded model predicts differently")
    print(f"done in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
