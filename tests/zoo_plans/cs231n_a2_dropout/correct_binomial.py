import numpy as np


def dropout_forward(x, dropout_param):
    p = dropout_param["p"]
    mode = dropout_param["mode"]
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])
    if mode == "train":
        # one Bernoulli(p) draw per neuron, scaled so that the expected output is x
        mask = np.random.binomial(1, p, size=x.shape) / p
        out = x * mask
    else:
        mask = None
        out = x.copy()
    return out, (dropout_param, mask)


def dropout_backward(dout, cache):
    dropout_param, mask = cache
    if dropout_param["mode"] == "train":
        return dout * mask
    return dout.copy()
