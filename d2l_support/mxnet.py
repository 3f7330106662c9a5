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
