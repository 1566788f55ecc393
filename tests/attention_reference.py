"""NumPy float64 references for the attention states of paper Appendix A (`docs/design.md` §2.2)."""

import numpy as np

from keras_wavelit.layers.rotary_embedding_2d import rope_2d_tables


def elu_plus_one(x):
    return np.where(x > 0, x + 1.0, np.exp(np.minimum(x, 0)))


def rope(x, h, w):
    """x: (N, heads, d) float64."""
    d = x.shape[-1]
    cos, sin = rope_2d_tables(h, w, d)
    cos = cos.astype("float64")[:, None, :]
    sin = sin.astype("float64")[:, None, :]
    q = d // 4
    r1, r2, c1, c2 = x[..., :q], x[..., q : 2 * q], x[..., 2 * q : 3 * q], x[..., 3 * q :]
    cr, cc, sr, sc = cos[..., :q], cos[..., q:], sin[..., :q], sin[..., q:]
    return np.concatenate(
        [r1 * cr - r2 * sr, r2 * cr + r1 * sr, c1 * cc - c2 * sc, c2 * cc + c1 * sc], -1
    )


def project(layer, x):
    """Un-rotated q, k (after phi) and v for one sample x (h, w, dim)."""
    h, w, dim = x.shape
    heads = layer.num_heads
    t = x.reshape(h * w, dim).astype("float64")
    wq, bq = (np.asarray(v, "float64") for v in layer.query_dense.get_weights())
    wk, bk = (np.asarray(v, "float64") for v in layer.key_dense.get_weights())
    q = (t @ wq + bq).reshape(h * w, heads, -1)
    k = (t @ wk + bk).reshape(h * w, heads, -1)
    v = t.reshape(h * w, heads, -1)
    return q, k, v


def ridge_attention(layer, x, lambdas):
    h, w, dim = x.shape
    q, k, v = project(layer, x)
    q, k = elu_plus_one(q), elu_plus_one(k)
    qr, kr = rope(q, h, w), rope(k, h, w)
    n = h * w
    out = np.zeros_like(v)
    for i in range(layer.num_heads):
        K, V = kr[:, i], v[:, i]
        a = K.T @ K / n + lambdas[i] * np.eye(K.shape[1])
        s = np.linalg.solve(a, K.T @ V / n)
        out[:, i] = qr[:, i] @ s
    return out.reshape(h, w, dim)


def vanilla_attention(layer, x):
    """The paper's Eq. 5: `o_n = q~_n^T K~^T V / N`, no normaliser."""
    h, w, dim = x.shape
    q, k, v = project(layer, x)
    qr, kr = rope(elu_plus_one(q), h, w), rope(elu_plus_one(k), h, w)
    n = h * w
    out = np.zeros_like(v)
    for i in range(layer.num_heads):
        out[:, i] = qr[:, i] @ (kr[:, i].T @ v[:, i] / n)
    return out.reshape(h, w, dim)


def mlla_attention(layer, x):
    """Vanilla with MLLA's normaliser `z_n = 1 / (q_n . mean_m k_m + 1e-6)`."""
    h, w, dim = x.shape
    q, k, v = project(layer, x)
    q, k = elu_plus_one(q), elu_plus_one(k)
    qr, kr = rope(q, h, w), rope(k, h, w)
    n = h * w
    out = np.zeros_like(v)
    for i in range(layer.num_heads):
        s = kr[:, i].T @ v[:, i] / n
        z = 1.0 / (q[:, i] @ k[:, i].mean(0) + 1e-6)
        out[:, i] = z[:, None] * (qr[:, i] @ s)
    return out.reshape(h, w, dim)


def softmax_attention(layer, x):
    h, w, dim = x.shape
    q, k, v = project(layer, x)
    qr, kr = rope(q, h, w), rope(k, h, w)
    out = np.zeros_like(v)
    d = q.shape[-1]
    for i in range(layer.num_heads):
        logits = qr[:, i] @ kr[:, i].T / np.sqrt(d)
        p = np.exp(logits - logits.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        out[:, i] = p @ v[:, i]
    return out.reshape(h, w, dim)
