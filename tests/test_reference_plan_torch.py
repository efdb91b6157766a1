"""Cross-check of the course references (reference.layers, .spatial, .recurrent, .dls_deep,
.dls_rnn) against PyTorch (CPU, float64); skipped without torch.

PyTorch is not a project dependency. Where PyTorch has the layer it is used as is
(F.batch_norm, F.layer_norm, F.group_norm, F.cross_entropy, F.multi_margin_loss, F.embedding,
F.linear, F.binary_cross_entropy, nn.RNN / nn.RNNCell, nn.LSTM / nn.LSTMCell with the weights
copied in); each backward is ``torch.autograd.grad`` of the same scalar as the reference's
(``sum(G * output)`` with a random upstream G, or the loss), with the course's scalings stated
where they differ from PyTorch's (multi_margin_loss divides by the number of classes; the DLS
dA's are m times the gradient of the mean cost; PyTorch's running variance is unbiased).
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from reference import dls_deep, dls_rnn, layers, recurrent, spatial

torch = pytest.importorskip("torch")
F = torch.nn.functional

pytestmark = pytest.mark.torch
TOL = {"rtol": 1e-10, "atol": 1e-12}


def leaf(x: np.ndarray):
    """A float64 tensor holding a copy of x, requiring its gradient."""
    return torch.tensor(np.asarray(x, dtype=np.float64), dtype=torch.float64, requires_grad=True)


def grads_of(output, inputs, G: np.ndarray | None = None) -> list[np.ndarray]:
    """d sum(G * output) / d inputs (d output / d inputs for a scalar output, G None)."""
    upstream = None if G is None else torch.from_numpy(np.asarray(G, dtype=np.float64))
    return [g.numpy() for g in torch.autograd.grad(output, inputs, upstream)]


def copy_into(module, **values: np.ndarray) -> None:
    with torch.no_grad():
        for name, value in values.items():
            getattr(module, name).copy_(torch.from_numpy(np.asarray(value, dtype=np.float64)))


# --- normalisation ----------------------------------------------------------------------------


def test_batchnorm_train_matches_torch() -> None:
    rng = np.random.default_rng(1)
    N, D, momentum, eps = 6, 4, 0.9, 1e-5
    x, gamma, beta = 3 * rng.standard_normal((N, D)) + 1, rng.standard_normal(D), rng.standard_normal(D)
    running_mean, running_var = rng.standard_normal(D), rng.uniform(0.5, 2, D)
    bn_param = {"mode": "train", "momentum": momentum, "eps": eps,
                "running_mean": running_mean.copy(), "running_var": running_var.copy()}
    out, cache = layers.batchnorm_forward(x, gamma, beta, bn_param)
    G = rng.standard_normal(out.shape)

    tx, tg, tb = leaf(x), leaf(gamma), leaf(beta)
    t_mean, t_var = torch.tensor(running_mean), torch.tensor(running_var)
    t_out = F.batch_norm(tx, t_mean, t_var, tg, tb, training=True, momentum=1 - momentum, eps=eps)
    assert_allclose(out, t_out.detach().numpy(), **TOL)
    expected = grads_of(t_out, (tx, tg, tb), G)
    for backward in (layers.batchnorm_backward, layers.batchnorm_backward_alt):
        for ours, theirs in zip(backward(G, cache), expected, strict=True):
            assert_allclose(ours, theirs, **TOL)
    # running averages: the mean agrees; the course keeps the biased batch variance, PyTorch the unbiased
    assert_allclose(bn_param["running_mean"], t_mean.numpy(), **TOL)
    assert_allclose(bn_param["running_var"], momentum * running_var + (1 - momentum) * x.var(axis=0), **TOL)
    assert_allclose(t_var.numpy(), momentum * running_var + (1 - momentum) * x.var(axis=0, ddof=1), **TOL)


def test_batchnorm_test_mode_matches_torch() -> None:
    rng = np.random.default_rng(2)
    x, gamma, beta = rng.standard_normal((5, 3)), rng.standard_normal(3), rng.standard_normal(3)
    running_mean, running_var = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    param = {"mode": "test", "running_mean": running_mean, "running_var": running_var}
    out, _ = layers.batchnorm_forward(x, gamma, beta, param)
    expected = F.batch_norm(torch.tensor(x), torch.tensor(running_mean), torch.tensor(running_var),
                            torch.tensor(gamma), torch.tensor(beta), training=False, eps=1e-5)
    assert_allclose(out, expected.numpy(), **TOL)
    spatial_x = rng.standard_normal((2, 3, 2, 2))
    out, _ = spatial.spatial_batchnorm_forward(spatial_x, gamma, beta, dict(param))
    expected = F.batch_norm(torch.tensor(spatial_x), torch.tensor(running_mean), torch.tensor(running_var),
                            torch.tensor(gamma), torch.tensor(beta), training=False, eps=1e-5)
    assert_allclose(out, expected.numpy(), **TOL)


def test_spatial_batchnorm_matches_torch() -> None:
    rng = np.random.default_rng(3)
    x, gamma, beta = 2 * rng.standard_normal((3, 4, 2, 3)) - 1, rng.standard_normal(4), rng.standard_normal(4)
    bn_param = {"mode": "train"}
    out, cache = spatial.spatial_batchnorm_forward(x, gamma, beta, bn_param)
    G = rng.standard_normal(out.shape)
    tx, tg, tb = leaf(x), leaf(gamma), leaf(beta)
    t_mean, t_var = torch.zeros(4, dtype=torch.float64), torch.zeros(4, dtype=torch.float64)
    t_out = F.batch_norm(tx, t_mean, t_var, tg, tb, training=True, momentum=0.1, eps=1e-5)
    assert_allclose(out, t_out.detach().numpy(), **TOL)
    for ours, theirs in zip(spatial.spatial_batchnorm_backward(G, cache), grads_of(t_out, (tx, tg, tb), G),
                            strict=True):
        assert_allclose(ours, theirs, **TOL)
    assert_allclose(bn_param["running_mean"], t_mean.numpy(), **TOL)


def test_layernorm_matches_torch() -> None:
    rng = np.random.default_rng(4)
    x, gamma, beta = 2 * rng.standard_normal((4, 6)) + 3, rng.standard_normal(6), rng.standard_normal(6)
    out, cache = layers.layernorm_forward(x, gamma, beta, {"eps": 1e-5})
    G = rng.standard_normal(out.shape)
    tx, tg, tb = leaf(x), leaf(gamma), leaf(beta)
    t_out = F.layer_norm(tx, (6,), tg, tb, eps=1e-5)
    assert_allclose(out, t_out.detach().numpy(), **TOL)
    for ours, theirs in zip(layers.layernorm_backward(G, cache), grads_of(t_out, (tx, tg, tb), G), strict=True):
        assert_allclose(ours, theirs, **TOL)


@pytest.mark.parametrize("param_shape", ["(1, C, 1, 1)", "(C,)"])
@pytest.mark.parametrize("G_groups", [1, 2, 3, 6])
def test_spatial_groupnorm_matches_torch(G_groups: int, param_shape: str) -> None:
    rng = np.random.default_rng(5 + G_groups)
    C = 6
    shape = (1, C, 1, 1) if param_shape == "(1, C, 1, 1)" else (C,)
    x = 5 * rng.standard_normal((2, C, 3, 2)) + 4
    gamma, beta = rng.standard_normal(shape), rng.standard_normal(shape)
    out, cache = spatial.spatial_groupnorm_forward(x, gamma, beta, G_groups, {"eps": 1e-5})
    G = rng.standard_normal(out.shape)
    tx, tg, tb = leaf(x), leaf(gamma), leaf(beta)
    t_out = F.group_norm(tx, G_groups, tg.reshape(C), tb.reshape(C), eps=1e-5)
    assert_allclose(out, t_out.detach().numpy(), **TOL)
    ours = spatial.spatial_groupnorm_backward(G, cache)
    for mine, theirs in zip(ours, grads_of(t_out, (tx, tg, tb), G), strict=True):
        assert mine.shape == theirs.shape
        assert_allclose(mine, theirs, **TOL)


# --- losses ------------------------------------------------------------------------------------


def test_softmax_loss_matches_cross_entropy() -> None:
    rng = np.random.default_rng(11)
    x, y = 3 * rng.standard_normal((6, 5)), rng.integers(0, 5, size=6)
    loss, dx = layers.softmax_loss(x, y)
    tx = leaf(x)
    t_loss = F.cross_entropy(tx, torch.from_numpy(y))
    assert loss == pytest.approx(t_loss.item(), rel=1e-12)
    assert_allclose(dx, grads_of(t_loss, (tx,))[0], **TOL)


def test_svm_loss_matches_multi_margin_loss() -> None:
    """multi_margin_loss divides each example's hinge sum by the number of classes C; the course does not."""
    rng = np.random.default_rng(12)
    N, C = 6, 5
    x, y = rng.standard_normal((N, C)), rng.integers(0, C, size=N)
    loss, dx = layers.svm_loss(x, y)
    tx = leaf(x)
    t_loss = C * F.multi_margin_loss(tx, torch.from_numpy(y), p=1, margin=1.0)
    assert loss == pytest.approx(t_loss.item(), rel=1e-12)
    assert_allclose(dx, grads_of(t_loss, (tx,))[0], **TOL)


@pytest.mark.parametrize("name", ["softmax_loss_vectorized", "softmax_loss_naive", "svm_loss_vectorized",
                                  "svm_loss_naive"])
def test_linear_classifier_losses_match_torch(name: str) -> None:
    rng = np.random.default_rng(13)
    N, D, C, reg = 7, 4, 3, 0.3
    W, X, y = rng.standard_normal((D, C)), rng.standard_normal((N, D)), rng.integers(0, C, size=N)
    loss, dW = getattr(layers, name)(W, X, y, reg)
    tW = leaf(W)
    scores, labels = torch.from_numpy(X) @ tW, torch.from_numpy(y)
    data = F.cross_entropy(scores, labels) if name.startswith("softmax") else C * F.multi_margin_loss(scores, labels)
    t_loss = data + reg * (tW**2).sum()
    assert loss == pytest.approx(t_loss.item(), rel=1e-12)
    assert_allclose(dW, grads_of(t_loss, (tW,))[0], **TOL)


def test_temporal_softmax_loss_matches_masked_cross_entropy() -> None:
    rng = np.random.default_rng(14)
    N, T, V = 3, 4, 6
    x, y, mask = rng.standard_normal((N, T, V)), rng.integers(0, V, size=(N, T)), rng.random((N, T)) < 0.6
    loss, dx = recurrent.temporal_softmax_loss(x, y, mask)
    tx = leaf(x)
    per_step = F.cross_entropy(tx.reshape(N * T, V), torch.from_numpy(y).reshape(N * T), reduction="none")
    t_loss = (per_step * torch.from_numpy(mask.reshape(N * T).astype(np.float64))).sum() / N
    assert loss == pytest.approx(t_loss.item(), rel=1e-12)
    assert_allclose(dx, grads_of(t_loss, (tx,))[0], **TOL)


# --- embedding, linear ---------------------------------------------------------------------------------


def test_word_embedding_matches_torch() -> None:
    rng = np.random.default_rng(21)
    x, W = rng.integers(0, 5, size=(3, 4)), rng.standard_normal((6, 3))
    out, cache = recurrent.word_embedding_forward(x, W)
    G = rng.standard_normal(out.shape)
    tW = leaf(W)
    t_out = F.embedding(torch.from_numpy(x), tW)
    assert_allclose(out, t_out.detach().numpy(), **TOL)
    assert_allclose(recurrent.word_embedding_backward(G, cache), grads_of(t_out, (tW,), G)[0], **TOL)


def test_temporal_affine_matches_linear() -> None:
    rng = np.random.default_rng(22)
    x, w, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 5)), rng.standard_normal(5)
    out, cache = recurrent.temporal_affine_forward(x, w, b)
    G = rng.standard_normal(out.shape)
    tx, tw, tb = leaf(x), leaf(w), leaf(b)
    t_out = F.linear(tx, tw.T, tb)
    assert_allclose(out, t_out.detach().numpy(), **TOL)
    for ours, theirs in zip(recurrent.temporal_affine_backward(G, cache), grads_of(t_out, (tx, tw, tb), G),
                            strict=True):
        assert_allclose(ours, theirs, **TOL)


# --- CS231n RNN and LSTM against nn.RNN / nn.LSTM ----------------------------------------------------------


def test_rnn_step_matches_rnn_cell() -> None:
    rng = np.random.default_rng(31)
    N, D, H = 3, 4, 5
    x, prev_h = rng.standard_normal((N, D)), rng.standard_normal((N, H))
    Wx, Wh, b = rng.standard_normal((D, H)), rng.standard_normal((H, H)) / 2, rng.standard_normal(H)
    next_h, cache = recurrent.rnn_step_forward(x, prev_h, Wx, Wh, b)
    G = rng.standard_normal(next_h.shape)
    cell = torch.nn.RNNCell(D, H).double()
    copy_into(cell, weight_ih=Wx.T, weight_hh=Wh.T, bias_ih=b, bias_hh=np.zeros(H))
    tx, th = leaf(x), leaf(prev_h)
    t_out = cell(tx, th)
    assert_allclose(next_h, t_out.detach().numpy(), **TOL)
    dx, dprev_h, dWx, dWh, db = recurrent.rnn_step_backward(G, cache)
    t_dx, t_dh, t_dWih, t_dWhh, t_db = grads_of(t_out, (tx, th, cell.weight_ih, cell.weight_hh, cell.bias_ih), G)
    for ours, theirs in ((dx, t_dx), (dprev_h, t_dh), (dWx, t_dWih.T), (dWh, t_dWhh.T), (db, t_db)):
        assert_allclose(ours, theirs, **TOL)


def test_rnn_sequence_matches_nn_rnn() -> None:
    rng = np.random.default_rng(32)
    N, T, D, H = 2, 5, 3, 4
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    Wx, Wh, b = rng.standard_normal((D, H)), rng.standard_normal((H, H)) / 2, rng.standard_normal(H)
    h, cache = recurrent.rnn_forward(x, h0, Wx, Wh, b)
    G = rng.standard_normal(h.shape)
    rnn = torch.nn.RNN(D, H, batch_first=True).double()
    copy_into(rnn, weight_ih_l0=Wx.T, weight_hh_l0=Wh.T, bias_ih_l0=b, bias_hh_l0=np.zeros(H))
    tx, th0 = leaf(x), leaf(h0)
    t_h, _ = rnn(tx, th0.unsqueeze(0))
    assert_allclose(h, t_h.detach().numpy(), **TOL)
    dx, dh0, dWx, dWh, db = recurrent.rnn_backward(G, cache)
    t_dx, t_dh0, t_dWih, t_dWhh, t_db = grads_of(t_h, (tx, th0, rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0), G)
    for ours, theirs in ((dx, t_dx), (dh0, t_dh0), (dWx, t_dWih.T), (dWh, t_dWhh.T), (db, t_db)):
        assert_allclose(ours, theirs, **TOL)


TORCH_GATES = (0, 1, 3, 2)  # PyTorch's rows are i, f, g, o; CS231n's columns i, f, o, g


def _to_torch_gates(W: np.ndarray, H: int) -> np.ndarray:
    """CS231n (.., 4H) columns i, f, o, g -> PyTorch (4H, ..) rows i, f, g, o."""
    return np.concatenate([W[..., k * H:(k + 1) * H].T for k in TORCH_GATES], axis=0)


def _from_torch_gates(W: np.ndarray, H: int) -> np.ndarray:
    blocks = {k: W[j * H:(j + 1) * H] for j, k in enumerate(TORCH_GATES)}
    return np.concatenate([blocks[k].T for k in range(4)], axis=-1)


def test_lstm_step_matches_lstm_cell() -> None:
    rng = np.random.default_rng(33)
    N, D, H = 3, 4, 5
    x, prev_h, prev_c = rng.standard_normal((N, D)), rng.standard_normal((N, H)), rng.standard_normal((N, H))
    Wx, Wh, b = rng.standard_normal((D, 4 * H)), rng.standard_normal((H, 4 * H)) / 2, rng.standard_normal(4 * H)
    next_h, next_c, cache = recurrent.lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)
    Gh, Gc = rng.standard_normal(next_h.shape), rng.standard_normal(next_c.shape)
    cell = torch.nn.LSTMCell(D, H).double()
    copy_into(cell, weight_ih=_to_torch_gates(Wx, H), weight_hh=_to_torch_gates(Wh, H),
              bias_ih=_to_torch_gates(b, H), bias_hh=np.zeros(4 * H))
    tx, th, tc = leaf(x), leaf(prev_h), leaf(prev_c)
    t_h, t_c = cell(tx, (th, tc))
    assert_allclose(next_h, t_h.detach().numpy(), **TOL)
    assert_allclose(next_c, t_c.detach().numpy(), **TOL)
    loss = (t_h * torch.from_numpy(Gh)).sum() + (t_c * torch.from_numpy(Gc)).sum()
    t_dx, t_dh, t_dc, t_dWih, t_dWhh, t_db = grads_of(loss, (tx, th, tc, cell.weight_ih, cell.weight_hh, cell.bias_ih))
    dx, dprev_h, dprev_c, dWx, dWh, db = recurrent.lstm_step_backward(Gh, Gc, cache)
    for ours, theirs in ((dx, t_dx), (dprev_h, t_dh), (dprev_c, t_dc), (dWx, _from_torch_gates(t_dWih, H)),
                         (dWh, _from_torch_gates(t_dWhh, H)), (db, _from_torch_gates(t_db, H))):
        assert_allclose(ours, theirs, **TOL)


def test_lstm_sequence_matches_nn_lstm() -> None:
    rng = np.random.default_rng(34)
    N, T, D, H = 2, 4, 3, 3
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    Wx, Wh, b = rng.standard_normal((D, 4 * H)), rng.standard_normal((H, 4 * H)) / 2, rng.standard_normal(4 * H)
    h, cache = recurrent.lstm_forward(x, h0, Wx, Wh, b)
    G = rng.standard_normal(h.shape)
    lstm = torch.nn.LSTM(D, H, batch_first=True).double()
    copy_into(lstm, weight_ih_l0=_to_torch_gates(Wx, H), weight_hh_l0=_to_torch_gates(Wh, H),
              bias_ih_l0=_to_torch_gates(b, H), bias_hh_l0=np.zeros(4 * H))
    tx, th0 = leaf(x), leaf(h0)
    t_h, _ = lstm(tx, (th0.unsqueeze(0), torch.zeros(1, N, H, dtype=torch.float64)))
    assert_allclose(h, t_h.detach().numpy(), **TOL)
    dx, dh0, dWx, dWh, db = recurrent.lstm_backward(G, cache)
    t_dx, t_dh0, t_dWih, t_dWhh, t_db = grads_of(
        t_h, (tx, th0, lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0), G)
    for ours, theirs in ((dx, t_dx), (dh0, t_dh0), (dWx, _from_torch_gates(t_dWih, H)),
                         (dWh, _from_torch_gates(t_dWhh, H)), (db, _from_torch_gates(t_db, H))):
        assert_allclose(ours, theirs, **TOL)


# --- DLS course 1 week 4 ------------------------------------------------------------------------------


def test_dls_deep_network_matches_torch_bce() -> None:
    """dW, db: the gradient of the mean cross-entropy; dA{l}: m times its gradient (the summed cost's)."""
    rng = np.random.default_rng(41)
    dims, m = (4, 5, 3, 1), 6
    X = rng.standard_normal((dims[0], m))
    params = {}
    for k in range(1, len(dims)):
        params[f"W{k}"] = rng.standard_normal((dims[k], dims[k - 1])) / np.sqrt(dims[k - 1])
        params[f"b{k}"] = 0.3 * rng.standard_normal((dims[k], 1))
    Y = (rng.random((1, m)) < 0.5).astype(np.float64)
    AL, caches = dls_deep.L_model_forward(X, params)
    grads = dls_deep.L_model_backward(AL, Y, caches)

    t_params = {key: leaf(value) for key, value in params.items()}
    activations = [leaf(X)]
    L = len(dims) - 1
    for k in range(1, L + 1):
        Z = t_params[f"W{k}"] @ activations[-1] + t_params[f"b{k}"]
        activations.append(torch.sigmoid(Z) if k == L else torch.relu(Z))
        if k < L:
            activations[-1].retain_grad()
    t_cost = F.binary_cross_entropy(activations[-1], torch.from_numpy(Y))
    t_cost.backward()
    assert_allclose(AL, activations[-1].detach().numpy(), **TOL)
    assert float(dls_deep.compute_cost(AL, Y)) == pytest.approx(t_cost.item(), rel=1e-12)
    for key, value in t_params.items():
        assert_allclose(grads[f"d{key}"], value.grad.numpy(), **TOL)
    for k in range(L):
        assert_allclose(grads[f"dA{k}"], m * activations[k].grad.numpy(), **TOL)


def test_dls_linear_matches_f_linear() -> None:
    """linear_backward: dA_prev the gradient of sum(dZ * Z), dW and db that gradient divided by m."""
    rng = np.random.default_rng(42)
    A, W, b = rng.standard_normal((4, 6)), rng.standard_normal((3, 4)), rng.standard_normal((3, 1))
    Z, cache = dls_deep.linear_forward(A, W, b)
    dZ = rng.standard_normal(Z.shape)
    tA, tW, tb = leaf(A), leaf(W), leaf(b)
    t_Z = F.linear(tA.T, tW, tb.reshape(3)).T
    assert_allclose(Z, t_Z.detach().numpy(), **TOL)
    t_dA, t_dW, t_db = grads_of(t_Z, (tA, tW, tb), dZ)
    dA_prev, dW, db = dls_deep.linear_backward(dZ, cache)
    assert_allclose(dA_prev, t_dA, **TOL)
    assert_allclose(dW, t_dW / 6, **TOL)
    assert_allclose(db, t_db / 6, **TOL)


# --- DLS course 5 week 1 -------------------------------------------------------------------------------


def _dls_rnn_parts(rng, n_x=3, n_a=4, n_y=2, m=3, T=4):
    x, a0 = rng.standard_normal((n_x, m, T)), rng.standard_normal((n_a, m))
    params = {"Wax": rng.standard_normal((n_a, n_x)), "Waa": rng.standard_normal((n_a, n_a)) / 2,
              "Wya": rng.standard_normal((n_y, n_a)), "ba": rng.standard_normal((n_a, 1)),
              "by": rng.standard_normal((n_y, 1))}
    return x, a0, params


def test_dls_rnn_matches_nn_rnn() -> None:
    rng = np.random.default_rng(51)
    x, a0, params = _dls_rnn_parts(rng)
    a, y_pred, caches = dls_rnn.rnn_forward(x, a0, params)
    da = rng.standard_normal(a.shape)
    grads = dls_rnn.rnn_backward(da, caches)
    n_x, n_a = params["Wax"].shape[1], params["Wax"].shape[0]
    rnn = torch.nn.RNN(n_x, n_a, batch_first=True).double()
    copy_into(rnn, weight_ih_l0=params["Wax"], weight_hh_l0=params["Waa"], bias_ih_l0=params["ba"].ravel(),
              bias_hh_l0=np.zeros(n_a))
    tx, ta0 = leaf(x.transpose(1, 2, 0)), leaf(a0.T)  # (m, T, n_x), (m, n_a)
    t_a, _ = rnn(tx, ta0.unsqueeze(0))
    assert_allclose(a, t_a.detach().numpy().transpose(2, 0, 1), **TOL)
    t_y = F.softmax(torch.from_numpy(params["Wya"]) @ t_a.detach().permute(2, 0, 1).reshape(n_a, -1)
                    + torch.from_numpy(params["by"]), dim=0)
    assert_allclose(y_pred.reshape(y_pred.shape[0], -1), t_y.numpy(), **TOL)
    t_dx, t_da0, t_dWax, t_dWaa, t_dba = grads_of(
        t_a, (tx, ta0, rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0), da.transpose(1, 2, 0))
    for ours, theirs in ((grads["dx"], t_dx.transpose(2, 0, 1)), (grads["da0"], t_da0.T),
                         (grads["dWax"], t_dWax), (grads["dWaa"], t_dWaa), (grads["dba"], t_dba[:, None])):
        assert_allclose(ours, theirs, **TOL)


def _dls_lstm_parts(rng, n_x=3, n_a=4, n_y=2, m=3, T=4):
    x, a0 = rng.standard_normal((n_x, m, T)), rng.standard_normal((n_a, m))
    params = {}
    for gate in "fico":
        params[f"W{gate}"] = rng.standard_normal((n_a, n_a + n_x)) / 2
        params[f"b{gate}"] = rng.standard_normal((n_a, 1))
    params["Wy"], params["by"] = rng.standard_normal((n_y, n_a)), rng.standard_normal((n_y, 1))
    return x, a0, params


DLS_TORCH_ORDER = "ifco"  # PyTorch's rows i, f, g, o are DLS's gates i, f, c (candidate), o


def _dls_lstm_module(module, params, n_a: int, suffix: str) -> None:
    copy_into(module, **{
        f"weight_ih{suffix}": np.concatenate([params[f"W{g}"][:, n_a:] for g in DLS_TORCH_ORDER]),
        f"weight_hh{suffix}": np.concatenate([params[f"W{g}"][:, :n_a] for g in DLS_TORCH_ORDER]),
        f"bias_ih{suffix}": np.concatenate([params[f"b{g}"].ravel() for g in DLS_TORCH_ORDER]),
        f"bias_hh{suffix}": np.zeros(4 * n_a)})


def _dls_lstm_weight_grads(t_dWih, t_dWhh, t_db, n_a: int) -> dict[str, np.ndarray]:
    out = {}
    for k, g in enumerate(DLS_TORCH_ORDER):
        rows = slice(k * n_a, (k + 1) * n_a)
        out[f"dW{g}"] = np.concatenate([t_dWhh[rows], t_dWih[rows]], axis=1)  # [a_prev; xt] columns
        out[f"db{g}"] = t_db[rows][:, None]
    return out


def test_dls_lstm_cell_matches_lstm_cell() -> None:
    rng = np.random.default_rng(52)
    x, a_prev, params = _dls_lstm_parts(rng)
    xt, c_prev = x[:, :, 0], rng.standard_normal(a_prev.shape)
    n_a, n_x = a_prev.shape[0], xt.shape[0]
    a_next, c_next, _, cache = dls_rnn.lstm_cell_forward(xt, a_prev, c_prev, params)
    da, dc = rng.standard_normal(a_next.shape), rng.standard_normal(c_next.shape)
    grads = dls_rnn.lstm_cell_backward(da, dc, cache)
    cell = torch.nn.LSTMCell(n_x, n_a).double()
    _dls_lstm_module(cell, params, n_a, "")
    tx, ta, tc = leaf(xt.T), leaf(a_prev.T), leaf(c_prev.T)
    t_a, t_c = cell(tx, (ta, tc))
    assert_allclose(a_next, t_a.detach().numpy().T, **TOL)
    assert_allclose(c_next, t_c.detach().numpy().T, **TOL)
    loss = (t_a * torch.from_numpy(da.T)).sum() + (t_c * torch.from_numpy(dc.T)).sum()
    t_dx, t_da, t_dc, *weights = grads_of(loss, (tx, ta, tc, cell.weight_ih, cell.weight_hh, cell.bias_ih))
    expected = {"dxt": t_dx.T, "da_prev": t_da.T, "dc_prev": t_dc.T, **_dls_lstm_weight_grads(*weights, n_a)}
    assert set(grads) == set(expected)
    for key, value in expected.items():
        assert_allclose(grads[key], value, **TOL)


@pytest.mark.parametrize("variant", ["lstm_backward", "lstm_backward_legacy"])
def test_dls_lstm_sequence_matches_torch(variant: str) -> None:
    """lstm_backward: nn.LSTM's gradient of sum(da * a); the legacy variant: nn.LSTMCell steps whose
    a_prev and c_prev are detached (no gradient through time), as the pre-2021 expected output."""
    rng = np.random.default_rng(53)
    x, a0, params = _dls_lstm_parts(rng)
    n_x, m, T = x.shape
    n_a = a0.shape[0]
    a, _, c, caches = dls_rnn.lstm_forward(x, a0, params)
    da = rng.standard_normal(a.shape)
    grads = getattr(dls_rnn, variant)(da, caches)
    tx, ta0 = leaf(x.transpose(1, 2, 0)), leaf(a0.T)
    if variant == "lstm_backward":
        module = torch.nn.LSTM(n_x, n_a, batch_first=True).double()
        _dls_lstm_module(module, params, n_a, "_l0")
        t_a, (_, t_c_last) = module(tx, (ta0.unsqueeze(0), torch.zeros(1, m, n_a, dtype=torch.float64)))
        assert_allclose(c[:, :, -1], t_c_last[0].detach().numpy().T, **TOL)
        weights = (module.weight_ih_l0, module.weight_hh_l0, module.bias_ih_l0)
    else:
        module = torch.nn.LSTMCell(n_x, n_a).double()
        _dls_lstm_module(module, params, n_a, "")
        steps, h, cell_state = [], ta0, torch.zeros(m, n_a, dtype=torch.float64)
        for t in range(T):
            h, cell_state = module(tx[:, t], (h if t == 0 else h.detach(), cell_state.detach()))
            steps.append(h)
        t_a = torch.stack(steps, dim=1)
        weights = (module.weight_ih, module.weight_hh, module.bias_ih)
    assert_allclose(a, t_a.detach().numpy().transpose(2, 0, 1), **TOL)
    t_dx, t_da0, *t_weights = grads_of(t_a, (tx, ta0, *weights), da.transpose(1, 2, 0))
    expected = {"dx": t_dx.transpose(2, 0, 1), "da0": t_da0.T, **_dls_lstm_weight_grads(*t_weights, n_a)}
    assert set(grads) == set(expected)
    for key, value in expected.items():
        assert_allclose(grads[key], value, **TOL, err_msg=key)
