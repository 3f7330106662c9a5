"""NumPy re-computations of the LSTM and GRU gate equations, for the four frameworks' tests.

Weights are in the book's layout (inputs @ W); `p` maps the scratch layers' parameter names
(W_xi, W_hi, b_i, ...) to numpy arrays; inputs are time-major (num_steps, batch, num_inputs).
"""
import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def lstm(p, inputs, H=None, C=None):
    batch, n = inputs.shape[1], p['W_hi'].shape[0]
    H = np.zeros((batch, n)) if H is None else H
    C = np.zeros((batch, n)) if C is None else C
    outputs = []
    for X in inputs:
        gate = {g: X @ p[f'W_x{g}'] + H @ p[f'W_h{g}'] + p[f'b_{g}'] for g in 'ifoc'}
        C = sigmoid(gate['f']) * C + sigmoid(gate['i']) * np.tanh(gate['c'])
        H = sigmoid(gate['o']) * np.tanh(C)
        outputs.append(H)
    return np.stack(outputs), H, C


def gru(p, inputs, H=None):
    batch, n = inputs.shape[1], p['W_hz'].shape[0]
    H = np.zeros((batch, n)) if H is None else H
    outputs = []
    for X in inputs:
        Z = sigmoid(X @ p['W_xz'] + H @ p['W_hz'] + p['b_z'])
        R = sigmoid(X @ p['W_xr'] + H @ p['W_hr'] + p['b_r'])
        H_tilde = np.tanh(X @ p['W_xh'] + (R * H) @ p['W_hh'] + p['b_h'])
        H = Z * H + (1 - Z) * H_tilde
        outputs.append(H)
    return np.stack(outputs), H


def rnn(p, inputs, H=None):
    H = np.zeros((inputs.shape[1], p['W_hh'].shape[0])) if H is None else H
    outputs = []
    for X in inputs:
        H = np.tanh(X @ p['W_xh'] + H @ p['W_hh'] + p['b_h'])
        outputs.append(H)
    return np.stack(outputs), H


LSTM_NAMES = [f'{w}{g}' for g in 'ifoc' for w in ('W_x', 'W_h', 'b_')]
GRU_NAMES = [f'{w}{g}' for g in 'zrh' for w in ('W_x', 'W_h', 'b_')]
