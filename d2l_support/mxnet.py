"""MXNet (Gluon, numpy interface) part of d2l_support: ``from d2l_support import mxnet as d2l``.

Only what differs between frameworks lives here; the rest comes from `core`.
"""
import os
import sys
import warnings

import numpy as _onp

from . import core
from .core import (DataError, HyperParameters, ProgressBoard, TIME_MACHINE, Vocab,  # noqa: F401
                   add_to_class, data_dir, download, tokenize)

# MXNet 1.9.1 uses numpy aliases that numpy 1.24 removed (`numpy.bool` while it imports,
# `numpy.int` in mxnet.test_utils). Put back only those that are missing, as the builtins they
# named, so MXNet also imports with numpy 1.24-1.26 (e.g. Python 3.12 as in Colab).
_REMOVED_NUMPY_ALIASES = {'bool': bool, 'int': int}


def _restore_numpy_aliases(numpy_module):
    """Set the removed aliases MXNet needs that `numpy_module` lacks; return their names."""
    restored = []
    for name, value in _REMOVED_NUMPY_ALIASES.items():
        with warnings.catch_warnings():  # numpy < 1.24 still has them, with a DeprecationWarning
            warnings.simplefilter('ignore')
            present = hasattr(numpy_module, name)
        if not present:
            setattr(numpy_module, name, value)
            restored.append(name)
    return restored


# MXNet reads its threading settings once, when it is imported (an explicit setting wins):
# - operators use `core.num_threads()` OpenMP threads (every CPU unless D2L_NUM_THREADS says less);
# - the operators run in the calling thread (NaiveEngine): the book's training loops wait for
#   every step's loss anyway, and MXNet's default threaded engine adds a worker thread that,
#   beside the OpenMP threads, oversubscribes a small machine (on 2 CPUs the section's concise
#   fit took 0.46 s per epoch this way, against 0.6-0.66 s with the default engine). A GPU build
#   of MXNet is better served by its threaded engine: set MXNET_ENGINE_TYPE=ThreadedEnginePerDevice.
os.environ.setdefault('OMP_NUM_THREADS', str(core.num_threads()))
_CHOSE_ENGINE = 'MXNET_ENGINE_TYPE' not in os.environ
os.environ.setdefault('MXNET_ENGINE_TYPE', 'NaiveEngine')
_restore_numpy_aliases(_onp)
try:
    import mxnet as mx
except ModuleNotFoundError as err:  # Python >= 3.12 without setuptools
    if err.name != 'distutils':
        raise
    raise ImportError('MXNet 1.9.1 imports distutils, which Python 3.12 no longer ships: '
                      'install setuptools (pip install setuptools), which provides it') from err
from mxnet import autograd, gluon, np, npx  # noqa: E402
from mxnet.gluon import nn, rnn  # noqa: E402


def _start_engine_quietly():
    """Start MXNet's engine now, with the process's stderr pointed at /dev/null: a non-default
    engine announces itself there ("MXNet start using engine: ...") the first time it runs, and
    that line would otherwise land in a notebook cell's output."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, 'w') as devnull:
            os.dup2(devnull.fileno(), 2)
            mx.nd.waitall()
    finally:
        os.dup2(saved, 2)
        os.close(saved)


if _CHOSE_ENGINE:
    _start_engine_quietly()

npx.set_np()


# --------------------------------------------------------------------------------------------
# Devices, tensors, seeds
# --------------------------------------------------------------------------------------------
def cpu():
    return mx.cpu()


def gpu(i=0):
    return mx.gpu(i)


def num_gpus():
    return mx.context.num_gpus()


def try_gpu(i=0):
    return gpu(i) if num_gpus() >= i + 1 else cpu()


def try_all_gpus():
    return [gpu(i) for i in range(num_gpus())] or [cpu()]


def framework_version():
    return mx.__version__


def set_seed(seed):
    """Seed Python, numpy and MXNet so that a run on the CPU repeats exactly."""
    core.seed_everything(seed)
    mx.random.seed(seed)


tensor = np.array
zeros, ones, arange = np.zeros, np.ones, np.arange
reshape, swapaxes, transpose = np.reshape, np.swapaxes, np.transpose
stack, concat, matmul = np.stack, np.concatenate, np.dot
exp, tanh, argmax = np.exp, np.tanh, np.argmax
float32, int32 = np.float32, np.int32
one_hot = npx.one_hot


def astype(x, dtype):
    return x.astype(dtype)


def numpy(x):
    return x.asnumpy()


def to(x, ctx):
    return x.as_in_ctx(ctx)


# --------------------------------------------------------------------------------------------
# Module, data, trainer
# --------------------------------------------------------------------------------------------
class Module(nn.Block, core.HyperParameters, core.PlotMixin,
             core.EagerSteps):
    """Base of the models: a Gluon Block whose parameters are Gluon Parameters and/or plain
    arrays held as attributes ("scratch" parameters, trained once their gradient is attached)."""

    def __init__(self, plot_train_per_epoch=2, plot_valid_per_epoch=1):
        super().__init__()
        self.save_hyperparameters()
        self.board = ProgressBoard()

    def loss(self, y_hat, y):
        raise NotImplementedError

    def forward(self, X):
        if not hasattr(self, 'net'):
            raise NotImplementedError(f'{type(self).__name__}: set self.net or define forward')
        return self.net(X)

    def configure_optimizers(self):
        return SGD(self.parameters(), self.lr)

    def _scratch_slots(self):
        """(owner, attribute name) of every array attribute, in this block and its children."""
        for name, value in vars(self).items():
            if isinstance(value, np.ndarray):
                yield self, name
            elif isinstance(value, Module):
                yield from value._scratch_slots()

    def scratch_params(self):
        return [getattr(owner, name) for owner, name in self._scratch_slots()]

    def parameters(self):
        """Gluon Parameters and scratch arrays, all that training updates."""
        return list(self.collect_params().values()) + self.scratch_params()

    def prepare_params(self):
        """Attach gradients to scratch arrays that lack one and initialize (on the CPU) the
        Gluon Parameters not yet initialized, so models need no `initialize()` call."""
        for p in self.scratch_params():
            if p.grad is None:
                p.attach_grad()
        for p in self.collect_params().values():
            try:
                p.list_ctx()
            except RuntimeError:  # never initialized
                p.initialize()

    def move_to(self, ctx):
        """Put every parameter, Gluon and scratch, on the device `ctx`."""
        self.collect_params().reset_ctx(ctx)
        for owner, name in list(self._scratch_slots()):
            value = getattr(owner, name)
            if value.ctx != ctx:
                moved = value.as_in_ctx(ctx)
                moved.attach_grad()
                setattr(owner, name, moved)


def _weights_and_grads(params):
    for p in params:
        if isinstance(p, gluon.Parameter):
            if p.grad_req != 'null':
                yield p.data(), p.grad()
        else:
            yield p, p.grad


class SGD(core.HyperParameters):
    """Minibatch stochastic gradient descent over Gluon Parameters and scratch arrays."""

    def __init__(self, params, lr):
        self.save_hyperparameters()

    def step(self, batch_size=1):
        for weight, grad in _weights_and_grads(self.params):
            weight -= (self.lr / batch_size) * grad


class DataModule(core.DataModuleBase):
    def get_tensorloader(self, tensors, train, indices=slice(0, None)):
        arrays = [t.asnumpy()[indices] for t in tensors]
        return core.ArrayLoader(arrays, self.batch_size, shuffle=train, convert=np.array)


class Trainer(core.TrainerBase):
    framework, package = 'mxnet', 'mxnet'

    def available_gpus(self):
        return [gpu(i) for i in range(num_gpus())]

    def device_name(self):
        if self.gpus:
            return core.device_label('gpu', self.gpus[0].device_id)
        return core.device_label('cpu')

    def prepare_batch(self, batch):
        if self.gpus:
            return [a.as_in_ctx(self.gpus[0]) for a in batch]
        return batch

    def prepare_model(self, model):
        super().prepare_model(model)
        model.prepare_params()
        if self.gpus:
            model.move_to(self.gpus[0])
        model.hybridize()  # caches the graphs of the Gluon layers; scratch code stays imperative

    def fit_epoch(self):
        for batch in self.train_dataloader:
            with autograd.record():
                loss = self.model.training_step(self.prepare_batch(batch))
            loss.backward()
            if self.gradient_clip_val > 0:
                self.clip_gradients(self.gradient_clip_val, self.model)
            self.optim.step(1)
            self.train_batch_idx += 1
        if self.val_dataloader is None:
            return
        for batch in self.val_dataloader:
            self.model.validation_step(self.prepare_batch(batch))
            self.val_batch_idx += 1

    def clip_gradients(self, grad_clip_val, model_or_grads):
        """Scale the gradients (of a Module, or a list of gradient arrays) in place so that
        their global norm is at most `grad_clip_val`."""
        if isinstance(model_or_grads, Module):
            grads = [g for _, g in _weights_and_grads(model_or_grads.parameters())]
        else:
            grads = list(model_or_grads)
        gluon.utils.clip_global_norm([g.as_nd_ndarray() for g in grads], grad_clip_val,
                                     check_isfinite=False)


class Classifier(core.ClassifierSteps, Module):
    """A Module for classification: cross-entropy loss, accuracy on validation."""

    def accuracy(self, Y_hat, Y, averaged=True):
        preds = Y_hat.reshape(-1, Y_hat.shape[-1]).argmax(axis=1)
        correct = (preds.astype(Y.dtype) == Y.reshape(-1)).astype(np.float32)
        return correct.mean() if averaged else correct

    # Below this probability of the right class, -log(p) is computed from log_softmax instead.
    SMALLEST_FAST_PROB = 1e-30

    def loss(self, Y_hat, Y, averaged=True):
        """Cross-entropy of the logits `Y_hat` (last axis: classes) and the labels `Y`.

        It is -log(p) of the right class's softmax probability p: on the CPU, MXNet's softmax
        with its backward pass takes about 40% less time than log_softmax, whose backward pass
        computes an exponential per element again. That is exact while every p is a normal
        float32; if one is below SMALLEST_FAST_PROB (its logit some 69 below the largest, as in a
        diverging run), where -log(p) and its gradient 1/p would lose precision or overflow,
        the batch's loss is computed from log_softmax, which stays finite.
        """
        logits, labels = Y_hat.reshape(-1, Y_hat.shape[-1]), Y.reshape(-1)
        probs = npx.pick(npx.softmax(logits), labels)
        if float(probs.min()) >= self.SMALLEST_FAST_PROB:
            l = -np.log(probs)
        else:
            l = -npx.pick(npx.log_softmax(logits), labels)
        return l.mean() if averaged else l


class TimeMachine(core.TimeMachineData, DataModule):
    """Character windows of The Time Machine as MXNet arrays (see core.TimeMachineData)."""

    def as_tensor(self, array):
        return np.array(array, dtype=np.int32)


class RNNScratch(Module):
    """A one-layer tanh RNN written with matrix products."""

    def __init__(self, num_inputs, num_hiddens, sigma=0.01):
        super().__init__()
        self.save_hyperparameters()
        self.W_xh = np.random.randn(num_inputs, num_hiddens) * sigma
        self.W_hh = np.random.randn(num_hiddens, num_hiddens) * sigma
        self.b_h = np.zeros(num_hiddens)

    def forward(self, inputs, state=None):
        """`inputs`: (num_steps, batch, num_inputs); returns the list of the num_steps hidden
        states, each (batch, num_hiddens), and the last one."""
        if state is None:
            state = np.zeros((inputs.shape[1], self.num_hiddens), ctx=inputs.ctx)
        # H_t = tanh(X_t W_xh + H_{t-1} W_hh + b_h), with MXNet's fused operators (on the CPU
        # they are about twice as fast as np.dot, + and np.tanh); they take (out, in) weights.
        W_xh, W_hh, n = self.W_xh.T, self.W_hh.T, self.num_hiddens
        outputs = []
        for X in inputs:
            state = npx.activation(npx.fully_connected(X, W_xh, self.b_h, num_hidden=n) +
                                   npx.fully_connected(state, W_hh, None, num_hidden=n,
                                                       no_bias=True), act_type='tanh')
            outputs.append(state)
        return outputs, state


class RNNLMScratch(core.PerplexitySteps, Classifier, core.LanguageModelMixin):
    """A character language model: one-hot inputs, an RNN, and a dense output layer."""

    def __init__(self, rnn, vocab_size, lr=0.01):
        super().__init__()
        self.save_hyperparameters()
        self.init_params()
        self.prepare_params()

    def init_params(self):
        self.W_hq = np.random.randn(self.rnn.num_hiddens, self.vocab_size) * self.rnn.sigma
        self.b_q = np.zeros(self.vocab_size)
        for param in self.scratch_params():
            param.attach_grad()

    exp = staticmethod(np.exp)  # perplexity, for core.PerplexitySteps

    def one_hot(self, X):
        """(batch, num_steps) indices -> (num_steps, batch, vocab_size) float32."""
        return npx.one_hot(X.T, self.vocab_size, dtype=np.float32)

    def output_layer(self, rnn_outputs):
        """(batch, num_steps, vocab_size) logits of the hidden states (num_steps of them)."""
        return npx.fully_connected(np.stack(rnn_outputs, 1), self.W_hq.T, self.b_q,
                                   num_hidden=self.vocab_size, flatten=False)

    def forward(self, X, state=None):
        rnn_outputs, _ = self.rnn(self.one_hot(X), state)
        return self.output_layer(rnn_outputs)

    def next_logits(self, indices, state, device):
        X = np.array([indices], dtype=np.int32, ctx=device or cpu())
        rnn_outputs, state = self.rnn(self.one_hot(X), state)
        return self.output_layer(rnn_outputs)[0, -1].asnumpy(), state


class RNN(Module):
    """The RNN of Gluon's high-level API (time-major in and out)."""

    def __init__(self, num_hiddens):
        super().__init__()
        self.save_hyperparameters()
        self.rnn = rnn.RNN(num_hiddens)

    def forward(self, inputs, H=None):
        if H is None:
            H, = self.rnn.begin_state(inputs.shape[1], ctx=inputs.ctx)
        outputs, (H, ) = self.rnn(inputs, (H, ))
        return outputs, H


class RNNLM(RNNLMScratch):
    """The language model with Gluon's RNN and Dense layers."""

    def init_params(self):
        self.linear = nn.Dense(self.vocab_size, flatten=False)

    def output_layer(self, hiddens):
        return np.swapaxes(self.linear(hiddens), 0, 1)


# --------------------------------------------------------------------------------------------
# Modern recurrent layers: LSTM, GRU, deep and bidirectional RNNs (time-major, like RNN)
# --------------------------------------------------------------------------------------------
def _gate_params(num_inputs, num_hiddens, sigma):
    """(input weight, hidden weight, bias) of one gate, the weights drawn N(0, sigma^2)."""
    return (np.random.randn(num_inputs, num_hiddens) * sigma,
            np.random.randn(num_hiddens, num_hiddens) * sigma, np.zeros(num_hiddens))


class LSTMScratch(Module):
    """A one-layer LSTM with its gates and memory cell written out; the state is (H, C) and
    the outputs are the list of the per-step hidden states, as RNNScratch returns them."""

    def __init__(self, num_inputs, num_hiddens, sigma=0.01):
        super().__init__()
        self.save_hyperparameters()
        self.W_xi, self.W_hi, self.b_i = _gate_params(num_inputs, num_hiddens, sigma)  # input
        self.W_xf, self.W_hf, self.b_f = _gate_params(num_inputs, num_hiddens, sigma)  # forget
        self.W_xo, self.W_ho, self.b_o = _gate_params(num_inputs, num_hiddens, sigma)  # output
        self.W_xc, self.W_hc, self.b_c = _gate_params(num_inputs, num_hiddens, sigma)  # cell

    def forward(self, inputs, H_C=None):
        if H_C is None:
            zeros = np.zeros((inputs.shape[1], self.num_hiddens), ctx=inputs.ctx)
            H_C = (zeros, zeros)
        H, C = H_C
        outputs = []
        for X in inputs:
            I = npx.sigmoid(np.dot(X, self.W_xi) + np.dot(H, self.W_hi) + self.b_i)
            F = npx.sigmoid(np.dot(X, self.W_xf) + np.dot(H, self.W_hf) + self.b_f)
            O = npx.sigmoid(np.dot(X, self.W_xo) + np.dot(H, self.W_ho) + self.b_o)
            C_tilde = np.tanh(np.dot(X, self.W_xc) + np.dot(H, self.W_hc) + self.b_c)
            C = F * C + I * C_tilde
            H = O * np.tanh(C)
            outputs.append(H)
        return outputs, (H, C)


class GRUScratch(Module):
    """A one-layer GRU with its reset and update gates written out; the state is H."""

    def __init__(self, num_inputs, num_hiddens, sigma=0.01):
        super().__init__()
        self.save_hyperparameters()
        self.W_xz, self.W_hz, self.b_z = _gate_params(num_inputs, num_hiddens, sigma)  # update
        self.W_xr, self.W_hr, self.b_r = _gate_params(num_inputs, num_hiddens, sigma)  # reset
        self.W_xh, self.W_hh, self.b_h = _gate_params(num_inputs, num_hiddens, sigma)  # candidate

    def forward(self, inputs, H=None):
        if H is None:
            H = np.zeros((inputs.shape[1], self.num_hiddens), ctx=inputs.ctx)
        outputs = []
        for X in inputs:
            Z = npx.sigmoid(np.dot(X, self.W_xz) + np.dot(H, self.W_hz) + self.b_z)
            R = npx.sigmoid(np.dot(X, self.W_xr) + np.dot(H, self.W_hr) + self.b_r)
            H_tilde = np.tanh(np.dot(X, self.W_xh) + np.dot(R * H, self.W_hh) + self.b_h)
            H = Z * H + (1 - Z) * H_tilde
            outputs.append(H)
        return outputs, H


class _StackedGluonRNN(Module):
    """`num_layers` one-layer Gluon recurrent layers with dropout between them while recording
    in training mode (autograd.record()). Gluon's own multi-layer `dropout` is not used: its
    fused CPU kernel ignores it (MXNet 1.9.1). The state holds one entry per layer stacked on a
    leading axis, as Gluon's multi-layer state has it."""

    def __init__(self, num_hiddens, num_layers=1, dropout=0):
        super().__init__()
        self.save_hyperparameters()
        for i in range(num_layers):  # attributes, so that Gluon registers them
            setattr(self, f'layer{i}', self.gluon_layer(num_hiddens))

    @property
    def layers(self):
        return [getattr(self, f'layer{i}') for i in range(self.num_layers)]

    def run_layers(self, inputs, per_layer):
        """per_layer: one list of state arrays per layer, each (1, batch, num_hiddens)."""
        X, finals = inputs, []
        for i, layer in enumerate(self.layers):
            if i > 0 and self.dropout > 0 and autograd.is_training():
                X = npx.dropout(X, p=self.dropout)
            if per_layer is None:
                state = layer.begin_state(inputs.shape[1], ctx=inputs.ctx)
            else:
                state = per_layer[i]
            X, final = layer(X, state)
            finals.append(final)
        return X, finals


class LSTM(_StackedGluonRNN):
    """The concise LSTM: Gluon's `rnn.LSTM` layers; the state is (H, C), each (num_layers,
    batch, num_hiddens)."""
    gluon_layer = staticmethod(rnn.LSTM)

    def forward(self, inputs, H_C=None):
        per_layer = None if H_C is None else [
            [H_C[0][i:i + 1], H_C[1][i:i + 1]] for i in range(self.num_layers)]
        outputs, finals = self.run_layers(inputs, per_layer)
        return outputs, (np.concatenate([H for H, _ in finals]),
                         np.concatenate([C for _, C in finals]))


class GRU(_StackedGluonRNN):
    """The concise GRU: Gluon's `rnn.GRU` layers; the state is (num_layers, batch,
    num_hiddens)."""
    gluon_layer = staticmethod(rnn.GRU)

    def forward(self, inputs, H=None):
        per_layer = None if H is None else [[H[i:i + 1]] for i in range(self.num_layers)]
        outputs, finals = self.run_layers(inputs, per_layer)
        return outputs, np.concatenate([H for H, in finals])


class StackedRNNScratch(Module):
    """`num_layers` RNNScratch layers, each one's outputs the next one's inputs; the state is
    the list of the layers' states."""

    def __init__(self, num_inputs, num_hiddens, num_layers, sigma=0.01):
        super().__init__()
        self.save_hyperparameters()
        for i in range(num_layers):  # attributes, so that Gluon and scratch_params see them
            setattr(self, f'rnn{i}', RNNScratch(num_inputs if i == 0 else num_hiddens,
                                                num_hiddens, sigma))

    @property
    def rnns(self):
        return [getattr(self, f'rnn{i}') for i in range(self.num_layers)]

    def forward(self, inputs, Hs=None):
        outputs = inputs
        Hs = [None] * self.num_layers if Hs is None else list(Hs)
        for i, layer in enumerate(self.rnns):
            if i > 0:
                outputs = np.stack(outputs)  # the list of steps, as the next layer's inputs
            outputs, Hs[i] = layer(outputs, Hs[i])
        return outputs, Hs


class BiRNNScratch(Module):
    """A forward and a backward RNNScratch; outputs concatenated on the feature axis, so that
    `num_hiddens` (what an output layer reads) is twice the per-direction size. The state is
    (forward state, backward state)."""

    def __init__(self, num_inputs, num_hiddens, sigma=0.01):
        super().__init__()
        self.save_hyperparameters()
        self.f_rnn = RNNScratch(num_inputs, num_hiddens, sigma)
        self.b_rnn = RNNScratch(num_inputs, num_hiddens, sigma)
        self.num_hiddens *= 2

    def forward(self, inputs, Hs=None):
        f_H, b_H = (None, None) if Hs is None else Hs
        f_outputs, f_H = self.f_rnn(inputs, f_H)
        b_outputs, b_H = self.b_rnn(np.flip(inputs, 0), b_H)
        # the backward pass read the steps last to first: pair step t with its output T-1-t
        outputs = [np.concatenate((f, b), -1) for f, b in zip(f_outputs, reversed(b_outputs))]
        return outputs, (f_H, b_H)
