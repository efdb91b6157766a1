import numpy as np


def dropout_forward(x, dropout_param):
    # a generator of its own, seeded from dropout_param: the global one is left alone
    rng = np.random.default_rng(dropout_param.get("seed"))
    p = dropout_param["p"]
    if dropout_param["mode"] == "train":
        mask = (rng.random(x.shape) < p).astype(x.dtype)
        out = x * mask / p
        return out, (dropout_param, mask, p)
    return x, (dropout_param, None, p)


def dropout_backward(dout, cache):
    dropout_param, mask, p = cache
    if dropout_param["mode"] == "train":
        return dout * mask / p
    return dout
