"""WaveLiT presets: the one place that defines the paper's two model sizes.

Paper section 4.1 trains a 1.2M- and a 9.5M-parameter WaveLiT; the paper does
not list their widths, so `dim`, `depth` and `num_heads` here are this
library's choices that hit the names within 5% for `C = 4` fields, `T_in = 4`
input steps and no constant fields (`docs/models.md` lists the exact counts).
`"1.2M-fast"` is this library's own design for a fixed budget of machine time
(paper section 3.1's DWT taken two levels deep: a quarter of the tokens, four
times the channels per token): the same parameter budget as `"1.2M"`, 2.3-3
times its training steps per second on a CPU
(`benchmarks/vs_well_baselines.py --budget-seconds`, `docs/models.md`).
The architecture defaults of `WaveLiT` are those of `DEFAULT_PRESET`.
"""

#: Name -> `{"metadata": {...}, "config": {...}}` (keras-hub's preset layout;
#: architecture only, these presets carry no weights).
WAVELIT_PRESETS = {
    "1.2M": {
        "metadata": {
            "description": "WaveLiT-1.2M: 9 blocks of width 96, 4 heads, one pyramid level.",
            "params": 1216774,
        },
        "config": {
            "dim": 96,
            "depth": 9,
            "num_heads": 4,
            "pyramid_levels": 1,
            "wavelet_levels": 1,
        },
    },
    "1.2M-fast": {
        "metadata": {
            "description": "WaveLiT-1.2M-fast: 5 blocks of width 128, 1 head, no pyramid, "
            "two wavelet levels (16x fewer tokens than the grid has points).",
            "params": 1223498,
        },
        "config": {
            "dim": 128,
            "depth": 5,
            "num_heads": 1,
            "pyramid_levels": 0,
            "wavelet_levels": 2,
        },
    },
    "9.5M": {
        "metadata": {
            "description": "WaveLiT-9.5M: 10 blocks of width 256, 8 heads, one pyramid level.",
            "params": 9337204,
        },
        "config": {
            "dim": 256,
            "depth": 10,
            "num_heads": 8,
            "pyramid_levels": 1,
            "wavelet_levels": 1,
        },
    },
}

#: The preset whose architecture `WaveLiT()` uses when no size is given.
DEFAULT_PRESET = "1.2M"

#: Name -> architecture arguments (a view of `WAVELIT_PRESETS`).
PRESETS = {name: dict(preset["config"]) for name, preset in WAVELIT_PRESETS.items()}

#: The arguments a preset sets.
PRESET_ARGUMENTS = tuple(WAVELIT_PRESETS[DEFAULT_PRESET]["config"])


def preset_config(name):
    """The architecture arguments of the preset `name` (a fresh dict).

    Raises:
        ValueError: for an unknown name, listing the presets.
    """
    if name not in WAVELIT_PRESETS:
        raise ValueError(
            f"Unknown WaveLiT preset {name!r}; presets are {sorted(WAVELIT_PRESETS)} "
            "(or give dim/depth/num_heads explicitly)."
        )
    return dict(WAVELIT_PRESETS[name]["config"])
