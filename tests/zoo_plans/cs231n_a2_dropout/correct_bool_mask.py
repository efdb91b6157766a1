import numpy as np


def dropout_forward(x, dropout_param):
    keep_prob = dropout_param['p']
    if 'seed' in dropout_param:
        np.random.seed(dropout_param['seed'])
    if dropout_param['mode'] == 'train':
        keep = np.random.random_sample(x.shape) < keep_prob   # boolean mask
        out = np.where(keep, x / keep_prob, 0.0)
        cache = {'param': dropout_param, 'keep': keep, 'p': keep_prob}
    else:
        out = x
        cache = {'param': dropout_param, 'keep': None, 'p': keep_prob}
    return out, cache


def dropout_backward(dout, cache):
    if cache['param']['mode'] == 'train':
        return np.where(cache['keep'], dout / cache['p'], 0.0)
    return dout
