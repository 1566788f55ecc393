"""Wavelet filter banks from PyWavelets, arranged for strided convolutions.

This module is pure NumPy: it turns `pywt.Wavelet(name).filter_bank` into
the fixed kernels and boundary extensions that `DWT2D`
and `IDWT2D` apply with `keras.ops`.

Conventions (paper section 3.1, `docs/design.md` §2.1). For a filter bank of even length
`F` (PyWavelets pads every bank to even length) one analysis level is

    a[i] = sum_j dec_lo[j] x[2i + F/2 - j],   d[i] = sum_j dec_hi[j] x[2i + F/2 - j]

and synthesis is `x[n] = sum_i a[i] rec_lo[n - 2i + F/2 - 1] + d[i] rec_hi[...]`.
With periodic extension this is exactly PyWavelets' `"periodization"` mode.
With whole-sample symmetric extension of `x` (`"reflect"`) the transform is
exact for symmetric odd-length biorthogonal banks (`bior2.2`, `bior4.4`,
...) and for `haar`; the coefficients then equal PyWavelets'
`mode="reflect"` output with `(F/2 - 1) / 2` coefficients dropped at each
end (one for `bior2.2`, two for `bior4.4`). The symmetric extension of `x`
makes the lowpass band whole-sample symmetric on the left and half-sample
symmetric on the right, and the highpass band the opposite, which is how
`IDWT2D` extends the coefficients before synthesis.
"""

import numpy as np

from keras_wavelit._deprecation import renamed_argument
from keras_wavelit.ops.boundary import check_boundary

#: The boundary modes (of `BOUNDARY_MODES`) the wavelet transforms support.
WAVELET_BOUNDARIES = ("reflect", "periodic")

#: Deprecated alias of `WAVELET_BOUNDARIES`.
WAVELET_MODES = WAVELET_BOUNDARIES


def _trim(f, tol=1e-12):
    nz = np.nonzero(np.abs(f) > tol)[0]
    return int(nz[0]), int(nz[-1])


class WaveletFilterBank:
    """The analysis and synthesis kernels of one wavelet, for one boundary mode.

    Pure NumPy, used by `DWT2D` and `IDWT2D` (paper section 3.1,
    `docs/design.md` §2.1).

    Args:
        wavelet: str, any discrete wavelet name PyWavelets knows
            (`pywt.wavelist(kind="discrete")`).
        boundary: `"reflect"` (whole-sample symmetric extension) or
            `"periodic"` (PyWavelets' `"periodization"`).
        **kwargs: `mode`, the deprecated name of `boundary`.

    Raises:
        ValueError: unknown wavelet or boundary mode, or a wavelet that cannot
            be made exact under `"reflect"` (only `haar` and symmetric
            odd-length biorthogonal banks can).

    Example:

    ```python
    from keras_wavelit.ops import WaveletFilterBank

    bank = WaveletFilterBank("bior2.2", "reflect")
    assert bank.analysis_kernels().shape == (2, 6)  # (lowpass, highpass) x taps
    ```
    """

    def __init__(self, wavelet="bior2.2", boundary="reflect", **kwargs):
        import pywt

        boundary = renamed_argument(
            "WaveletFilterBank",
            kwargs,
            "mode",
            "boundary",
            None if boundary == "reflect" else boundary,
            "reflect",
        )
        if kwargs:
            raise TypeError(f"WaveletFilterBank got unexpected arguments {sorted(kwargs)}.")
        mode = check_boundary(boundary, WAVELET_BOUNDARIES, "WaveletFilterBank")
        try:
            w = pywt.Wavelet(wavelet)
        except ValueError as e:
            raise ValueError(
                f"Unknown wavelet {wavelet!r}: PyWavelets knows "
                "pywt.wavelist(kind='discrete'), e.g. 'haar', 'bior2.2', "
                f"'bior4.4', 'db2'. ({e})"
            ) from None
        dec_lo, dec_hi, rec_lo, rec_hi = (np.asarray(f, dtype="float64") for f in w.filter_bank)
        if len(dec_lo) % 2:
            raise ValueError(
                f"Wavelet {wavelet!r} has an odd-length filter bank, which "
                "the strided-convolution transform does not support."
            )
        self.wavelet = wavelet
        self.boundary = mode
        self.dec_lo, self.dec_hi = dec_lo, dec_hi
        self.rec_lo, self.rec_hi = rec_lo, rec_hi
        self.length = len(dec_lo)
        self._check_reflect(wavelet, mode)
        error = self.roundtrip_error()
        if error > 1e-6:
            raise ValueError(
                f"Wavelet {wavelet!r} is not exactly invertible with "
                f"boundary={mode!r} (relative round-trip error {error:.1e}); "
                "choose an orthogonal or biorthogonal wavelet such as 'haar', "
                "'bior2.2', 'bior4.4' or 'db2'."
            )

    @property
    def mode(self):
        """Deprecated name of `boundary`."""
        return self.boundary

    def _check_reflect(self, wavelet, mode):
        if mode == "reflect" and not self.supports_reflect(wavelet):
            raise ValueError(
                f"Wavelet {wavelet!r} cannot be inverted exactly with "
                "boundary='reflect' (whole-sample symmetric extension). Supported "
                "pairs: boundary='reflect' with 'haar' or a symmetric odd-length "
                "biorthogonal bank such as 'bior2.2' (default), 'bior4.4', "
                "'bior6.8'; boundary='periodic' with any orthogonal or "
                "biorthogonal wavelet ('haar', 'db*', 'sym*', 'coif*', "
                "'bior*', ...)."
            )

    def roundtrip_error(self, n=32, seed=0):
        """Relative error of analysis then synthesis of a random 1D signal.

        Computed in float64 NumPy with this bank's own kernels and boundary
        extensions, so any wavelet whose filters are not a perfect
        reconstruction pair (`dmey`, an FIR approximation, for example)
        is detected at construction.
        """
        from keras_wavelit.ops.boundary import boundary_indices

        n = max(n, 2 * self.length)
        n += n % 2
        x = np.random.default_rng(seed).standard_normal(n)
        signal_mode = "periodic" if self.boundary == "periodic" else "reflect"
        p = self.analysis_pad
        xp = x[boundary_indices(n, p, p, signal_mode)]
        kernels = self.analysis_kernels()
        bands = [
            np.array([kernels[b] @ xp[2 * i : 2 * i + self.length] for i in range(n // 2)])
            for b in (0, 1)
        ]
        left, right = self.synthesis_pad
        synth = self.synthesis_kernels()
        k = synth.shape[-1]
        out = np.zeros(n)
        for b, c in enumerate(bands):
            lm, rm = self.coefficient_modes(b)
            cp = c[boundary_indices(n // 2, left, right, lm, rm)]
            for ph in (0, 1):
                out[ph::2] += np.array([synth[b, ph] @ cp[m : m + k] for m in range(n // 2)])
        return float(np.abs(out - x).max() / np.abs(x).max())

    @staticmethod
    def supports_reflect(wavelet):
        """Whether `wavelet` is exact under whole-sample symmetric extension."""
        import pywt

        w = pywt.Wavelet(wavelet)
        dec_lo, dec_hi = (np.asarray(f) for f in w.filter_bank[:2])
        n = len(dec_lo)
        if n == 2:  # haar-like: pairs never touch the boundary
            return True
        lo0, lo1 = _trim(dec_lo)
        hi0, hi1 = _trim(dec_hi)
        lo = dec_lo[lo0 : lo1 + 1]
        hi = dec_hi[hi0 : hi1 + 1]
        return (
            len(lo) % 2 == 1
            and len(hi) % 2 == 1
            and np.allclose(lo, lo[::-1])
            and np.allclose(hi, hi[::-1])
            # lowpass centred on even samples, highpass on odd ones
            and (lo0 + lo1) == n
            and (hi0 + hi1) == n - 2
        )

    # -- analysis ---------------------------------------------------------
    @property
    def analysis_pad(self):
        """Samples of extension needed on each side of the signal."""
        return self.length // 2 - 1

    def analysis_kernels(self):
        """Correlation kernels `(2, F)` (lowpass, highpass) for stride 2."""
        return np.stack([self.dec_lo[::-1], self.dec_hi[::-1]])

    def analysis_kernel_2d(self):
        """2D kernels `(F, F, 4)` in subband order LL, LH, HL, HH.

        The first letter is the filter along the width axis, the second the
        filter along the height axis, so the order equals PyWavelets'
        `(cA, cH, cV, cD)` from `pywt.dwt2`.
        """
        lo, hi = self.analysis_kernels()
        # (filter along H, filter along W) for LL, LH, HL, HH
        pairs = [(lo, lo), (hi, lo), (lo, hi), (hi, hi)]
        return np.stack([np.outer(kh, kw) for kh, kw in pairs], axis=-1)

    # -- synthesis --------------------------------------------------------
    def _synthesis_range(self):
        half = self.length // 2
        smin = min(-((half - p) // 2) for p in (0, 1))
        smax = max((p - 1 + half) // 2 for p in (0, 1))
        return smin, smax

    @property
    def synthesis_pad(self):
        """`(left, right)` extension of the coefficients before synthesis."""
        smin, smax = self._synthesis_range()
        return -smin, smax

    def synthesis_kernels(self):
        """Polyphase kernels `(2, 2, K)`: [lowpass/highpass, phase, tap].

        `x[2m + p] = sum_u K[band, p, u] * c_band_padded[m + u]`.
        """
        smin, smax = self._synthesis_range()
        half = self.length // 2
        k = smax - smin + 1
        out = np.zeros((2, 2, k))
        for b, g in enumerate((self.rec_lo, self.rec_hi)):
            for p in (0, 1):
                for u in range(k):
                    s = u + smin
                    j = p - 1 + half - 2 * s
                    if 0 <= j < self.length:
                        out[b, p, u] = g[j]
        return out

    def synthesis_kernel_2d(self):
        """2D synthesis kernel `(K, K, 4, 4)`: [tap_h, tap_w, subband, phase].

        Phases are ordered `(p_h, p_w)` = (0, 0), (0, 1), (1, 0), (1, 1).
        """
        ks = self.synthesis_kernels()
        # subband -> (band along H, band along W), matching analysis_kernel_2d
        bands = [(0, 0), (1, 0), (0, 1), (1, 1)]
        k = ks.shape[-1]
        out = np.zeros((k, k, 4, 4))
        for s, (bh, bw) in enumerate(bands):
            for ph in (0, 1):
                for pw in (0, 1):
                    out[:, :, s, 2 * ph + pw] = np.outer(ks[bh, ph], ks[bw, pw])
        return out

    def coefficient_modes(self, band):
        """`(left_mode, right_mode)` used to extend a band's coefficients.

        Args:
            band: 0 for lowpass, 1 for highpass.
        """
        if self.boundary == "periodic":
            return "periodic", "periodic"
        if band == 0:
            return "reflect", "symmetric"
        return "symmetric", "reflect"
