"""Field-error metrics with The Well's definitions (paper section 4.1;
`docs/design.md` §2.9).

Functions take `(y_true, y_pred)` in the Keras order, channels-last
`(..., H, W, C)`, any backend tensor or NumPy array, and return one value
per leading index and field (e.g. `(B, T, C)`). The classes are
`keras.metrics.Metric` objects for `model.compile(metrics=[...])`.
"""

from keras_wavelit.metrics.mse import mse
from keras_wavelit.metrics.nrmse import NRMSE
from keras_wavelit.metrics.nrmse import nrmse
from keras_wavelit.metrics.relative_l2 import RelativeL2
from keras_wavelit.metrics.relative_l2 import relative_l2
from keras_wavelit.metrics.vrmse import VRMSE
from keras_wavelit.metrics.vrmse import vrmse
