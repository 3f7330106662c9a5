"""JAX/Flax part of d2l_support: ``from d2l_support import jax as d2l``.

Flax conventions hold throughout: modules are dataclasses whose fields are their hyperparameters
(no ``save_hyperparameters``), parameters are created in ``setup`` and live outside the module, in
the trainer's ``state`` or in a dict from ``get_init_params``. Methods that need parameters take
them explicitly: ``training_step(params, batch)``, ``predict(prefix, num_preds, vocab, params)``.
Randomness is explicit as well: the Trainer gives a ``training_step`` that takes ``rngs`` a new
'dropout' key each step, and runs a model that has a ``training`` field (the language models)
with it true in training steps and false in validation.

The whole training step (loss, gradients, clipping, update) is one ``jax.jit`` function; the
values a model wants plotted come back from it and are put on the board outside it.
"""
from __future__ import annotations

import dataclasses
import functools
import inspect
import os

# XLA's CPU backend spreads even tiny matrix products over every core; for the book's models one
# thread is as fast (the section's concise fit: 0.31 s per epoch on one thread, 0.35 s on two, on
# a 2-CPU machine) and steadier beside other kernels, so this module uses one whatever
# D2L_NUM_THREADS allows. This applies only if JAX has not run anything yet, and XLA_FLAGS that
# set threading win.
if 'multi_thread_eigen' not in os.environ.get('XLA_FLAGS', ''):
    os.environ['XLA_FLAGS'] = (os.environ.get('XLA_FLAGS', '') + ' --xla_cpu_multi_thread_eigen'
                               '=false intra_op_parallelism_threads=1').strip()

import flax
import jax
import numpy as np
import optax
from flax import linen as nn
from flax.training import train_state
from jax import numpy as jnp

from . import core
from .core import (DataError, HyperParameters, ProgressBoard, TIME_MACHINE, Vocab, add_to_class,
                   data_dir, download, tokenize)

__all__ = [
    'HyperParameters', 'add_to_class', 'ProgressBoard', 'Vocab', 'DataError', 'download',
    'data_dir', 'TIME_MACHINE', 'tokenize', 'Module', 'DataModule', 'Trainer', 'Classifier',
    'TimeMachine', 'RNNScratch', 'RNNLMScratch', 'RNN', 'RNNLM', 'LSTMScratch', 'LSTM',
    'GRUScratch', 'GRU', 'StackedRNNScratch', 'BiRNNScratch', 'cpu', 'gpu', 'num_gpus',
    'try_gpu', 'try_all_gpus', 'set_seed', 'get_key', 'framework_version', 'tensor', 'zeros',
    'ones', 'arange', 'reshape', 'swapaxes', 'transpose', 'stack', 'concat', 'matmul', 'exp',
    'tanh', 'argmax', 'astype', 'numpy', 'to', 'float32', 'int32', 'one_hot',
]


def _use_compilation_cache():
    """Keep XLA's compiled programs on disk, so that running a notebook again (or the next
    model of the same shape) loads them instead of compiling for seconds.

    The folder is $D2L_JAX_CACHE, else ~/.cache/d2l_support/jax; D2L_JAX_CACHE=off turns the
    cache off. A cache folder set through JAX's own configuration is left as it is.
    """
    setting = os.environ.get('D2L_JAX_CACHE', '').strip()
    if setting.lower() in ('off', '0', 'no') or jax.config.jax_compilation_cache_dir:
        return
    folder = os.path.expanduser(setting or os.path.join(core.DEFAULT_DATA_DIR, 'jax'))
    jax.config.update('jax_compilation_cache_dir', folder)
    # Training and validation steps compile in 0.2-1 s each: keep those, not the tiny helpers.
    jax.config.update('jax_persistent_cache_min_compile_time_secs', 0.1)


_use_compilation_cache()

# Tensor aliases used by the pages.
tensor, zeros, ones, arange = jnp.array, jnp.zeros, jnp.ones, jnp.arange
reshape, swapaxes, transpose, stack, concat = (jnp.reshape, jnp.swapaxes, jnp.transpose,
                                               jnp.stack, jnp.concatenate)
matmul, exp, tanh, argmax = jnp.matmul, jnp.exp, jnp.tanh, jnp.argmax
float32, int32, one_hot = jnp.float32, jnp.int32, jax.nn.one_hot
numpy, to = np.asarray, jax.device_put


def astype(x, dtype):
    return x.astype(dtype)


def framework_version():
    return f'jax {jax.__version__}, flax {flax.__version__}, optax {optax.__version__}'


# --------------------------------------------------------------------------------------------
# Devices and randomness
# --------------------------------------------------------------------------------------------
def cpu():
    return jax.devices('cpu')[0]


def gpu(i=0):
    return jax.devices('gpu')[i]


def _gpus():
    return [d for d in jax.devices() if d.platform == 'gpu']


def num_gpus():
    return len(_gpus())


def try_gpu(i=0):
    return gpu(i) if num_gpus() > i else cpu()


def try_all_gpus():
    return _gpus() or [cpu()]


_key = jax.random.PRNGKey(0)


def set_seed(seed):
    """Seed Python, numpy and the PRNG key that `get_key` splits; returns that key."""
    global _key
    core.seed_everything(seed)
    _key = jax.random.PRNGKey(seed)
    return _key


def get_key():
    """A fresh PRNG key, split off the one `set_seed` set."""
    global _key
    _key, key = jax.random.split(_key)
    return key


# --------------------------------------------------------------------------------------------
# Module, data, trainer
# --------------------------------------------------------------------------------------------
class Module(nn.Module, HyperParameters, core.PlotMixin):
    """Base of the book's Flax models.

    `training_step` and `validation_step` are pure (they run inside jit): they return the loss
    and a dict of values to plot, which the Trainer passes to `plot` outside jit.
    """
    # Flax modules are frozen dataclasses: the board is a field made once per instance (a clone
    # that Flax makes while applying the module gets its own, unused board).
    board: ProgressBoard = dataclasses.field(default_factory=ProgressBoard, init=False,
                                             compare=False, repr=False)

    def loss(self, y_hat, y):
        raise NotImplementedError

    def forward(self, X, *args):
        return self.net(X, *args)

    def __call__(self, X, *args, **kwargs):
        return self.forward(X, *args, **kwargs)

    def batch_loss(self, params, batch, rngs=None):
        """The loss of one batch; `rngs` (e.g. {'dropout': key}) for layers that draw."""
        return self.loss(self.apply({'params': params}, *batch[:-1], rngs=rngs), batch[-1])

    def training_step(self, params, batch, rngs=None):
        """The Trainer passes `rngs` ({'dropout': a new key each step}) to a `training_step`
        that takes it, and calls it on a copy of the model with `training=True` where the
        model has that field (see `Trainer.prepare_model`)."""
        l = self.batch_loss(params, batch, rngs)
        return l, {'loss': l}

    def validation_step(self, params, batch):
        return {'loss': self.batch_loss(params, batch)}

    def configure_optimizers(self):
        return optax.sgd(self.lr)

    def get_init_params(self, *inputs, key=None):
        """Freshly initialized parameters for example `inputs` (key: from `get_key()`). A
        'dropout' key is given too, for a model whose forward applies dropout when it inits."""
        params_key, dropout_key = jax.random.split(get_key() if key is None else key)
        rngs = {'params': params_key, 'dropout': dropout_key}
        return jax.jit(self.init)(rngs, *inputs)['params']


def in_mode(model, training):
    """`model` with its `training` field set to `training`, if it has that field (a language
    model passes it on to its recurrent layers, which apply dropout only in training); `model`
    itself otherwise, or when the field already has that value."""
    names = {field.name for field in dataclasses.fields(model)}
    if 'training' not in names or model.training == training:
        return model
    return model.clone(training=training)


def _takes_rngs(step):
    return 'rngs' in inspect.signature(step).parameters


class DataModule(core.DataModuleBase):
    def get_tensorloader(self, tensors, train, indices=slice(0, None)):
        arrays = [np.asarray(t[indices]) for t in tensors]  # minibatches are gathered in numpy
        return core.ArrayLoader(arrays, self.batch_size, shuffle=train, convert=jnp.asarray)


class Trainer(core.TrainerBase):
    """Trains a Flax Module; its parameters and optimizer state are in `trainer.state`."""

    framework = 'jax'
    package = 'jax'

    def available_gpus(self):
        return _gpus()

    @property
    def device(self):
        return self.gpus[0] if self.gpus else cpu()

    def device_name(self):
        if self.device.platform == 'cpu':
            return core.device_label('cpu')
        return core.device_label('gpu', self.device.id)

    def prepare_batch(self, batch):
        return jax.device_put(batch, self.device)

    def prepare_model(self, model):
        super().prepare_model(model)
        example = self.prepare_batch(next(iter(self.train_dataloader)))
        params = jax.device_put(model.get_init_params(*example[:-1]), self.device)
        state = train_state.TrainState.create(apply_fn=model.apply, params=params,
                                              tx=model.configure_optimizers())
        # All of the state on the device, as the steps will return it: a step counter left as a
        # Python 0 would make the second step compile again.
        self.state = jax.device_put(state, self.device)
        # Training steps run the model with training=True (dropout on) and a 'dropout' key of
        # their own, derived from the step number; validation runs it with training=False.
        train_model, eval_model = in_mode(model, True), in_mode(model, False)
        grad_fn = jax.value_and_grad(train_model.training_step, has_aux=True)
        with_rngs = _takes_rngs(train_model.training_step)
        dropout_key = get_key()

        def train_step(state, batch):
            args = (state.params, batch)
            if with_rngs:
                args += ({'dropout': jax.random.fold_in(dropout_key, state.step)},)
            (_, values), grads = grad_fn(*args)
            if self.gradient_clip_val > 0:
                grads = self.clip_gradients(self.gradient_clip_val, grads)
            return state.apply_gradients(grads=grads), values

        self.train_step = jax.jit(train_step)
        self.val_step = jax.jit(eval_model.validation_step)

    def clip_gradients(self, grad_clip_val, grads):
        """`grads` scaled so that their global norm is at most `grad_clip_val`."""
        scale = jnp.minimum(1.0, grad_clip_val / optax.tree.norm(grads))
        return jax.tree.map(lambda g: g * scale, grads)

    def _plot(self, values, train):
        for key, value in values.items():
            self.model.plot(key, value, train=train)

    def fit_epoch(self):
        for batch in self.train_dataloader:
            self.state, values = self.train_step(self.state, self.prepare_batch(batch))
            self._plot(values, train=True)
            self.train_batch_idx += 1
        if self.val_dataloader is None:
            return
        for batch in self.val_dataloader:
            self._plot(self.val_step(self.state.params, self.prepare_batch(batch)), train=False)
            self.val_batch_idx += 1


class Classifier(Module):
    def loss(self, Y_hat, Y, averaged=True):
        l = optax.softmax_cross_entropy_with_integer_labels(
            Y_hat.reshape(-1, Y_hat.shape[-1]), Y.reshape(-1))
        return l.mean() if averaged else l

    def accuracy(self, Y_hat, Y, averaged=True):
        correct = (Y_hat.reshape(-1, Y_hat.shape[-1]).argmax(axis=1) == Y.reshape(-1))
        correct = correct.astype(jnp.float32)
        return correct.mean() if averaged else correct


# --------------------------------------------------------------------------------------------
# Language models
# --------------------------------------------------------------------------------------------
class TimeMachine(core.TimeMachineData, DataModule):
    """Character windows of The Time Machine as JAX arrays (see core.TimeMachineData)."""

    def as_tensor(self, array):
        return jnp.asarray(array, dtype=jnp.int32)


class RNNScratch(Module):
    """A vanilla RNN from scratch; inputs and outputs are time-major."""
    num_inputs: int
    num_hiddens: int
    sigma: float = 0.01

    def setup(self):
        normal = nn.initializers.normal(self.sigma)
        self.W_xh = self.param('W_xh', normal, (self.num_inputs, self.num_hiddens))
        self.W_hh = self.param('W_hh', normal, (self.num_hiddens, self.num_hiddens))
        self.b_h = self.param('b_h', nn.initializers.zeros, (self.num_hiddens,))

    def forward(self, inputs, state=None, training=False):
        # `training` is the flag later models pass to every recurrent layer (it switches
        # dropout between stacked layers); a single layer has no dropout and ignores it.
        del training
        if state is None:
            state = jnp.zeros((inputs.shape[1], self.num_hiddens))
        outputs = []
        for X in inputs:  # one time step at a time
            state = jnp.tanh(jnp.matmul(X, self.W_xh) + jnp.matmul(state, self.W_hh) + self.b_h)
            outputs.append(state)
        return outputs, state


class RNNLMScratch(Classifier, core.LanguageModelMixin):
    """A character language model on top of `rnn`; plots perplexity `ppl`."""
    rnn: nn.Module
    vocab_size: int
    lr: float = 0.01

    def setup(self):  # d2l's init_params: the output layer
        normal = nn.initializers.normal(self.rnn.sigma)
        self.W_hq = self.param('W_hq', normal, (self.rnn.num_hiddens, self.vocab_size))
        self.b_q = self.param('b_q', nn.initializers.zeros, (self.vocab_size,))

    def training_step(self, params, batch, rngs=None):
        l = self.batch_loss(params, batch, rngs)
        return l, {'ppl': jnp.exp(l)}

    def validation_step(self, params, batch):
        return {'ppl': jnp.exp(self.batch_loss(params, batch))}

    def one_hot(self, X):
        """(batch, num_steps) indices -> (num_steps, batch, vocab_size) float32."""
        return jax.nn.one_hot(X.T, self.vocab_size)

    def output_layer(self, rnn_outputs):
        # One product over all steps (a list of per-step states is stacked first): the same
        # numbers as a product per step, and a smaller program for jit to compile.
        H = jnp.stack(rnn_outputs) if isinstance(rnn_outputs, (list, tuple)) else rnn_outputs
        return swapaxes(jnp.matmul(H, self.W_hq) + self.b_q, 0, 1)

    def forward(self, X, state=None):
        rnn_outputs, _ = self.rnn(self.one_hot(X), state)
        return self.output_layer(rnn_outputs)

    def next_logits(self, indices, state, params):
        if params is None:
            raise ValueError('a Flax model keeps no parameters: call '
                             'predict(prefix, num_preds, vocab, params)')
        logits, state = _decode(self, params, jnp.array([indices]), state)
        return np.asarray(logits), state


@functools.partial(jax.jit, static_argnums=0)
def _decode(model, params, X, state):
    """Logits of the last position of X and the new state (compiled once per model and shape)."""
    def run(module):
        rnn_outputs, new_state = module.rnn(module.one_hot(X), state)
        return module.output_layer(rnn_outputs)[0, -1], new_state
    return model.apply({'params': params}, method=run)


class RNN(Module):
    """The RNN of Flax's high-level API; inputs and outputs are time-major."""
    num_hiddens: int

    def setup(self):
        self.rnn = nn.RNN(nn.SimpleCell(self.num_hiddens), time_major=True, return_carry=True)

    def forward(self, inputs, H=None, training=False):
        del training  # accepted as the language models pass it; one layer has no dropout
        H, outputs = self.rnn(inputs, initial_carry=H)
        return outputs, H


class RNNLM(RNNLMScratch):
    """The RNN language model with a dense output layer from Flax. Its forward passes
    `training` on to the recurrent layer (dropout between stacked layers): the Trainer runs
    training steps with training=True and validation with training=False; predictions never
    apply dropout."""
    training: bool = False

    def setup(self):
        self.linear = nn.Dense(self.vocab_size)

    def forward(self, X, state=None):
        rnn_outputs, _ = self.rnn(self.one_hot(X), state, self.training)
        return self.output_layer(rnn_outputs)

    def output_layer(self, hiddens):
        return swapaxes(self.linear(hiddens), 0, 1)


# --------------------------------------------------------------------------------------------
# Modern recurrent layers: LSTM, GRU, deep and bidirectional RNNs (time-major, like RNN; each
# forward takes `training`, which switches the dropout between stacked layers and needs a
# 'dropout' rng when true)
# --------------------------------------------------------------------------------------------
class LSTMScratch(Module):
    """A one-layer LSTM with its gates and memory cell written out; the state is (H, C) and
    the outputs the list of the per-step hidden states, as RNNScratch returns them."""
    num_inputs: int
    num_hiddens: int
    sigma: float = 0.01

    def setup(self):
        normal = nn.initializers.normal(self.sigma)
        shapes = {'W_x': (self.num_inputs, self.num_hiddens),
                  'W_h': (self.num_hiddens, self.num_hiddens)}
        for gate in 'ifoc':  # input, forget and output gates, candidate memory cell
            for w, shape in shapes.items():
                setattr(self, w + gate, self.param(w + gate, normal, shape))
            setattr(self, 'b_' + gate,
                    self.param('b_' + gate, nn.initializers.zeros, (self.num_hiddens,)))

    def forward(self, inputs, H_C=None, training=False):
        del training  # one layer: no dropout
        if H_C is None:
            zeros = jnp.zeros((inputs.shape[1], self.num_hiddens))
            H_C = (zeros, zeros)
        H, C = H_C
        outputs = []
        for X in inputs:
            I = jax.nn.sigmoid(jnp.matmul(X, self.W_xi) + jnp.matmul(H, self.W_hi) + self.b_i)
            F = jax.nn.sigmoid(jnp.matmul(X, self.W_xf) + jnp.matmul(H, self.W_hf) + self.b_f)
            O = jax.nn.sigmoid(jnp.matmul(X, self.W_xo) + jnp.matmul(H, self.W_ho) + self.b_o)
            C_tilde = jnp.tanh(jnp.matmul(X, self.W_xc) + jnp.matmul(H, self.W_hc) + self.b_c)
            C = F * C + I * C_tilde
            H = O * jnp.tanh(C)
            outputs.append(H)
        return outputs, (H, C)


class GRUScratch(Module):
    """A one-layer GRU with its reset and update gates written out; the state is H."""
    num_inputs: int
    num_hiddens: int
    sigma: float = 0.01

    def setup(self):
        normal = nn.initializers.normal(self.sigma)
        shapes = {'W_x': (self.num_inputs, self.num_hiddens),
                  'W_h': (self.num_hiddens, self.num_hiddens)}
        for gate in 'zrh':  # update and reset gates, candidate hidden state
            for w, shape in shapes.items():
                setattr(self, w + gate, self.param(w + gate, normal, shape))
            setattr(self, 'b_' + gate,
                    self.param('b_' + gate, nn.initializers.zeros, (self.num_hiddens,)))

    def forward(self, inputs, H=None, training=False):
        del training  # one layer: no dropout
        if H is None:
            H = jnp.zeros((inputs.shape[1], self.num_hiddens))
        outputs = []
        for X in inputs:
            Z = jax.nn.sigmoid(jnp.matmul(X, self.W_xz) + jnp.matmul(H, self.W_hz) + self.b_z)
            R = jax.nn.sigmoid(jnp.matmul(X, self.W_xr) + jnp.matmul(H, self.W_hr) + self.b_r)
            H_tilde = jnp.tanh(jnp.matmul(X, self.W_xh) + jnp.matmul(R * H, self.W_hh)
                               + self.b_h)
            H = Z * H + (1 - Z) * H_tilde
            outputs.append(H)
        return outputs, H


class _StackedFlaxRNN(Module):
    """`num_layers` Flax `nn.RNN` layers of one cell type, with dropout between them when
    `training` is true; the state holds one entry per layer stacked on a leading axis."""
    num_hiddens: int
    num_layers: int = 1
    dropout: float = 0

    def setup(self):
        self.rnns = [nn.RNN(self.make_cell(self.num_hiddens), time_major=True,
                            return_carry=True) for _ in range(self.num_layers)]
        self.drop = nn.Dropout(self.dropout)

    def run_layers(self, inputs, carries, training):
        X, finals = inputs, []
        for i, layer in enumerate(self.rnns):
            if i > 0 and self.dropout > 0:
                X = self.drop(X, deterministic=not training)
            carry, X = layer(X, initial_carry=None if carries is None else carries[i])
            finals.append(carry)
        return X, finals


class LSTM(_StackedFlaxRNN):
    """The concise LSTM: Flax's OptimizedLSTMCell in nn.RNN; the state is (H, C), each
    (num_layers, batch, num_hiddens)."""
    make_cell = staticmethod(nn.OptimizedLSTMCell)

    def forward(self, inputs, H_C=None, training=False):
        # Flax's LSTM carry is (c, h)
        carries = None if H_C is None else [(C, H) for H, C in zip(*H_C)]
        outputs, finals = self.run_layers(inputs, carries, training)
        return outputs, (jnp.stack([h for _, h in finals]), jnp.stack([c for c, _ in finals]))


class GRU(_StackedFlaxRNN):
    """The concise GRU: Flax's GRUCell in nn.RNN; the state is (num_layers, batch,
    num_hiddens)."""
    make_cell = staticmethod(nn.GRUCell)

    def forward(self, inputs, H=None, training=False):
        outputs, finals = self.run_layers(inputs, None if H is None else list(H), training)
        return outputs, jnp.stack(finals)


class StackedRNNScratch(Module):
    """`num_layers` RNNScratch layers, each one's outputs the next one's inputs; the state is
    the list of the layers' states."""
    num_inputs: int
    num_hiddens: int
    num_layers: int
    sigma: float = 0.01

    def setup(self):
        self.rnns = [RNNScratch(self.num_inputs if i == 0 else self.num_hiddens,
                                self.num_hiddens, self.sigma) for i in range(self.num_layers)]

    def forward(self, inputs, Hs=None, training=False):
        del training  # no dropout between these layers
        outputs = inputs
        Hs = [None] * self.num_layers if Hs is None else list(Hs)
        for i, layer in enumerate(self.rnns):
            if i > 0:
                outputs = jnp.stack(outputs)  # the list of steps, as the next layer's inputs
            outputs, Hs[i] = layer(outputs, Hs[i])
        return outputs, Hs


class BiRNNScratch(Module):
    """A forward and a backward RNNScratch; outputs concatenated on the feature axis. As in
    d2l, `num_hiddens` (what an output layer reads) becomes twice the per-direction size
    given: BiRNNScratch(num_inputs, 4).num_hiddens == 8. The state is (forward, backward)."""
    num_inputs: int
    num_hiddens: int
    sigma: float = 0.01
    # Flax rebuilds a module from its fields (clones): this marks `num_hiddens` as already
    # doubled, so that a clone does not double it again.
    doubled: bool = dataclasses.field(default=False, repr=False)

    def __post_init__(self):
        if not self.doubled:
            object.__setattr__(self, 'num_hiddens', 2 * self.num_hiddens)
            object.__setattr__(self, 'doubled', True)
        super().__post_init__()

    def setup(self):
        per_direction = self.num_hiddens // 2
        self.f_rnn = RNNScratch(self.num_inputs, per_direction, self.sigma)
        self.b_rnn = RNNScratch(self.num_inputs, per_direction, self.sigma)

    def forward(self, inputs, Hs=None, training=False):
        del training
        f_H, b_H = (None, None) if Hs is None else Hs
        f_outputs, f_H = self.f_rnn(inputs, f_H)
        b_outputs, b_H = self.b_rnn(jnp.flip(inputs, 0), b_H)
        # the backward pass read the steps last to first: pair step t with its output T-1-t
        outputs = [jnp.concatenate((f, b), -1) for f, b in zip(f_outputs, reversed(b_outputs))]
        return outputs, (f_H, b_H)
