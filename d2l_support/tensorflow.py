"""TensorFlow (Keras 3) part of d2l_support: ``from d2l_support import tensorflow as d2l``.

Only what differs per framework lives here; the rest comes from `d2l_support.core`.

Training steps run compiled with `tf.function`. `Module.plot` still works inside them: while a
step is traced, plotted values are collected and returned by the compiled step, and the Trainer
puts them on the board eagerly once per epoch (so nothing syncs or draws per step).
"""
import os

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')  # keep TensorFlow's C++ info lines out of pages

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from . import core  # noqa: E402
from .core import (  # noqa: E402,F401  (re-exported names of the contract)
    TIME_MACHINE, DataError, HyperParameters, ProgressBoard, Vocab, add_to_class, data_dir,
    download, tokenize)



def _limit_threads(count):
    """Let TensorFlow's operators use `count` threads (D2L_NUM_THREADS, else every CPU).
    TensorFlow fixes its thread pools when it first runs an operation; after that this does
    nothing."""
    try:
        tf.config.threading.set_intra_op_parallelism_threads(count)
        tf.config.threading.set_inter_op_parallelism_threads(count)
    except RuntimeError:  # TensorFlow is already running
        pass


_limit_threads(core.num_threads())

# --------------------------------------------------------------------------------------------
# Tensors, devices, seeds
# --------------------------------------------------------------------------------------------
tensor = tf.constant
zeros, ones, arange, normal = tf.zeros, tf.ones, tf.range, tf.random.normal
reshape, transpose, swapaxes = tf.reshape, tf.transpose, tf.experimental.numpy.swapaxes
stack, concat, matmul, exp, tanh = tf.stack, tf.concat, tf.matmul, tf.exp, tf.tanh
argmax, astype, one_hot = tf.argmax, tf.cast, tf.one_hot
float32, int32 = tf.float32, tf.int32


def numpy(x):
    return np.asarray(x)


class Device(str):
    """A device name such as '/GPU:0' that is also a `with` scope placing operations on it."""

    def __enter__(self):
        scope = tf.device(self)
        self.__dict__.setdefault('scopes', []).append(scope)
        scope.__enter__()
        return self

    def __exit__(self, *exc_info):
        return self.scopes.pop().__exit__(*exc_info)


def cpu():
    return Device('/CPU:0')


def gpu(i=0):
    return Device(f'/GPU:{i}')


def num_gpus():
    return len(tf.config.list_physical_devices('GPU'))


def try_gpu(i=0):
    return gpu(i) if num_gpus() > i else cpu()


def try_all_gpus():
    return [gpu(i) for i in range(num_gpus())]


def to(x, device):
    with tf.device(device):
        return tf.identity(x)


def set_seed(seed):
    """Seed Python, numpy, TensorFlow and Keras so that a CPU run repeats exactly."""
    core.seed_everything(seed)
    tf.keras.utils.set_random_seed(seed)


def framework_version():
    return tf.__version__


# --------------------------------------------------------------------------------------------
# Module, data, trainer
# --------------------------------------------------------------------------------------------
class Module(tf.keras.Model, core.HyperParameters, core.PlotMixin,
             core.EagerSteps):
    """The base of models: a Keras model with d2l's `forward`, steps, optimizer and board."""

    def __init__(self, plot_train_per_epoch=2, plot_valid_per_epoch=1):
        super().__init__()
        self.save_hyperparameters()
        del self.loss  # Keras sets a `loss` placeholder attribute that would hide our method
        self.built = True  # Keras need not trace `call`: sublayers build on their first call
        self.board = core.ProgressBoard()

    def __setattr__(self, name, value):
        # Pages create parameters as plain tf.Variables; Keras 3 tracks only its own variables.
        if isinstance(value, tf.Variable) and not isinstance(value, tf.keras.Variable):
            value = tf.keras.Variable(value.read_value(), trainable=value.trainable, name=name)
        super().__setattr__(name, value)

    def loss(self, y_hat, y):
        raise NotImplementedError

    # The Trainer sets `training` while it runs (or compiles) a training step, and only then:
    # a model called with it true passes training=True to Keras, which hands the flag on to
    # every layer the model calls, so that dropout is applied in training and nowhere else.
    training = False

    def __call__(self, *args, **kwargs):
        if self.training and 'training' not in kwargs:
            kwargs['training'] = True
        return super().__call__(*args, **kwargs)

    def call(self, *args, training=None, **kwargs):
        # `training` is named so that Keras sets it for the layers called inside; `forward`
        # does not take it (a layer that needs it, like _StackedKerasRNN, takes it in `call`).
        return self.forward(*args, **kwargs)

    def forward(self, X):
        return self.net(X)

    def plot(self, key, value, train):
        if tf.inside_function():  # being compiled: the Trainer plots the value after the step
            self.trainer.captured[key, train] = value
        else:
            super().plot(key, value, train)

    def configure_optimizers(self):
        return tf.keras.optimizers.SGD(float(self.lr))


class DataModule(core.DataModuleBase):
    def get_tensorloader(self, tensors, train, indices=slice(0, None)):
        # Minibatches are gathered in numpy (tensors do not take index arrays), then converted.
        arrays = tuple(np.asarray(a)[indices] for a in tensors)
        return core.ArrayLoader(arrays, self.batch_size, shuffle=train,
                                convert=tf.convert_to_tensor)


class Trainer(core.TrainerBase):
    framework, package = 'tensorflow', 'tensorflow'

    def available_gpus(self):
        return [device.name for device in tf.config.list_physical_devices('GPU')]

    def device_name(self):
        """Where the model's parameters live (TensorFlow places ops itself); before they are
        built, where TensorFlow will put them: its first GPU if it sees one, else the CPU."""
        variables = self.model.trainable_variables if getattr(self, 'model', None) else []
        if not variables:
            gpus = tf.config.list_physical_devices('GPU')
            return core.device_label('gpu', 0) if gpus else core.device_label('cpu')
        spec = tf.DeviceSpec.from_string(variables[0].value.device)
        if spec.device_type == 'CPU':
            return core.device_label('cpu')
        return core.device_label('gpu', spec.device_index or 0)

    def prepare_batch(self, batch):
        return batch

    def prepare_model(self, model):
        super().prepare_model(model)
        self.steps = {}  # compiled train/val steps of this fit, made from the first batch

    def fit_epoch(self):
        records = []  # (train_batch_idx, values plotted in the step): plotted after the epoch
        for batch in self.train_dataloader:
            records.append((self.train_batch_idx, self.run_step('train', batch)))
            self.train_batch_idx += 1
        if self.val_dataloader is not None:
            for batch in self.val_dataloader:
                records.append((self.train_batch_idx, self.run_step('val', batch)))
                self.val_batch_idx += 1
        last = self.train_batch_idx
        for self.train_batch_idx, captured in records:
            for (key, train), value in captured.items():
                self.model.plot(key, value, train)
        self.train_batch_idx = last

    def run_step(self, kind, batch):
        batch = self.prepare_batch(batch)
        if kind not in self.steps:
            self.steps[kind] = self.compile_step(kind, batch)
        return self.steps[kind](*batch)

    def compile_step(self, kind, batch):
        """`tf.function` of a train or val step; one trace, as the batch size is left open."""
        if kind == 'train':  # create lazily built variables before compiling
            self.model(*batch[:-1])
            self.optim.build(self.model.trainable_variables)
        step = self.train_step if kind == 'train' else self.model.validation_step

        def in_mode(batch):
            self.model.training = kind == 'train'  # dropout on in training steps only
            try:
                step(batch)
            finally:
                self.model.training = False

        def captured_step(*batch):
            self.captured = {}
            in_mode(batch)
            return self.captured

        signature = [tf.TensorSpec((None, *t.shape[1:]), t.dtype) for t in batch]
        compiled = tf.function(captured_step, input_signature=signature)
        try:
            compiled.get_concrete_function()
        except Exception as err:  # code that only runs eagerly, e.g. iterating over a tensor
            core._note_once(f'tensorflow: the {kind} step of {type(self.model).__name__} cannot '
                            f'be compiled with tf.function ({type(err).__name__}); running it '
                            f'eagerly, which is slower.')

            def eager_step(*batch):
                in_mode(batch)
                return {}
            return eager_step
        return compiled

    def train_step(self, batch):
        variables = self.model.trainable_variables
        with tf.GradientTape() as tape:
            loss = self.model.training_step(batch)
        grads = tape.gradient(loss, variables)
        if self.gradient_clip_val > 0:
            grads = self.clip_gradients(self.gradient_clip_val, grads)
        self.optim.apply_gradients(zip(grads, variables))

    def clip_gradients(self, grad_clip_val, grads):
        """Scale the gradients so that their global norm is at most `grad_clip_val`."""
        return tf.clip_by_global_norm(grads, grad_clip_val)[0]


# --------------------------------------------------------------------------------------------
# Classification and language models
# --------------------------------------------------------------------------------------------
class Classifier(core.ClassifierSteps, Module):
    """A Module for classification: cross-entropy loss, accuracy on validation."""

    def accuracy(self, Y_hat, Y, averaged=True):
        preds = tf.argmax(tf.reshape(Y_hat, (-1, Y_hat.shape[-1])), axis=1)
        correct = tf.cast(tf.equal(preds, tf.cast(tf.reshape(Y, (-1,)), preds.dtype)), tf.float32)
        return tf.reduce_mean(correct) if averaged else correct

    def loss(self, Y_hat, Y, averaged=True):
        """Cross-entropy of the logits `Y_hat` and labels `Y`, over all flattened positions."""
        Y_hat = tf.reshape(Y_hat, (-1, Y_hat.shape[-1]))
        # log-sum-exp minus the label's logit: on CPU several times faster (with its gradient)
        # than sparse_softmax_cross_entropy_with_logits or a gather, for few classes
        label_logits = tf.reduce_sum(Y_hat * tf.one_hot(tf.reshape(Y, (-1,)), Y_hat.shape[-1]), 1)
        l = tf.reduce_logsumexp(Y_hat, axis=1) - label_logits
        return tf.reduce_mean(l) if averaged else l


class TimeMachine(core.TimeMachineData, DataModule):
    """Character windows of The Time Machine (see core.TimeMachineData); numpy arrays, turned
    into tensors batch by batch."""


class RNNScratch(Module):
    """An RNN from scratch; time-major inputs (num_steps, batch, num_inputs)."""

    def __init__(self, num_inputs, num_hiddens, sigma=0.01):
        super().__init__()
        self.save_hyperparameters()
        self.W_xh = tf.Variable(tf.random.normal((num_inputs, num_hiddens)) * sigma)
        self.W_hh = tf.Variable(tf.random.normal((num_hiddens, num_hiddens)) * sigma)
        self.b_h = tf.Variable(tf.zeros(num_hiddens))

    def forward(self, inputs, state=None):
        if state is None:
            state = tf.zeros((tf.shape(inputs)[1], self.num_hiddens))
        outputs = []
        for XW in tf.unstack(tf.tensordot(inputs, self.W_xh, 1) + self.b_h):  # all steps at once
            state = tf.tanh(XW + tf.matmul(state, self.W_hh))
            outputs.append(state)
        return tf.stack(outputs), state


class RNNLMScratch(core.PerplexitySteps, Classifier, core.LanguageModelMixin):
    """A character language model on top of an RNN, from scratch."""

    predict = core.LanguageModelMixin.predict  # not Keras's Model.predict

    def __init__(self, rnn, vocab_size, lr=0.01):
        super().__init__()
        self.save_hyperparameters()
        self.init_params()

    def init_params(self):
        self.W_hq = tf.Variable(
            tf.random.normal((self.rnn.num_hiddens, self.vocab_size)) * self.rnn.sigma)
        self.b_q = tf.Variable(tf.zeros(self.vocab_size))

    exp = staticmethod(tf.exp)  # perplexity, for core.PerplexitySteps

    def one_hot(self, X):
        return tf.one_hot(tf.transpose(X), self.vocab_size)

    def output_layer(self, rnn_outputs):
        H = tf.convert_to_tensor(rnn_outputs)  # a list of per-step states is stacked
        return tf.transpose(tf.tensordot(H, self.W_hq, 1) + self.b_q, (1, 0, 2))

    def forward(self, X, state=None):
        rnn_outputs, _ = self.rnn(self.one_hot(X), state)
        return self.output_layer(rnn_outputs)

    def next_logits(self, indices, state, where):
        with tf.device(where):
            X = tf.constant([indices], dtype=tf.int64)  # the dtype of the training data
            rnn_outputs, state = self.rnn(self.one_hot(X), state)
            return self.output_layer(rnn_outputs)[0, -1].numpy(), state


class RNN(Module):
    """The concise RNN: Keras's SimpleRNN, time-major in and out (Keras 3 wants batch-major)."""

    def __init__(self, num_hiddens):
        super().__init__()
        self.save_hyperparameters()
        # unroll: the steps become a plain graph, clearly cheaper than Keras's while loop here
        self.rnn = tf.keras.layers.SimpleRNN(num_hiddens, return_sequences=True,
                                             return_state=True, unroll=True)

    def forward(self, inputs, H=None):
        outputs, H = self.rnn(tf.transpose(inputs, (1, 0, 2)), H)
        return tf.transpose(outputs, (1, 0, 2)), H


class RNNLM(RNNLMScratch):
    """The concise language model: the RNN followed by a dense output layer."""

    def init_params(self):
        self.linear = tf.keras.layers.Dense(self.vocab_size)

    def output_layer(self, hiddens):
        return tf.transpose(self.linear(hiddens), (1, 0, 2))


# --------------------------------------------------------------------------------------------
# Modern recurrent layers: LSTM, GRU, deep and bidirectional RNNs (time-major, like RNN)
# --------------------------------------------------------------------------------------------
def _gate_params(num_inputs, num_hiddens, sigma):
    """(input weight, hidden weight, bias) of one gate, the weights drawn N(0, sigma^2)."""
    return (tf.Variable(tf.random.normal((num_inputs, num_hiddens)) * sigma),
            tf.Variable(tf.random.normal((num_hiddens, num_hiddens)) * sigma),
            tf.Variable(tf.zeros(num_hiddens)))


class LSTMScratch(Module):
    """A one-layer LSTM with its gates and memory cell written out; the state is (H, C)."""

    def __init__(self, num_inputs, num_hiddens, sigma=0.01):
        super().__init__()
        self.save_hyperparameters()
        self.W_xi, self.W_hi, self.b_i = _gate_params(num_inputs, num_hiddens, sigma)  # input
        self.W_xf, self.W_hf, self.b_f = _gate_params(num_inputs, num_hiddens, sigma)  # forget
        self.W_xo, self.W_ho, self.b_o = _gate_params(num_inputs, num_hiddens, sigma)  # output
        self.W_xc, self.W_hc, self.b_c = _gate_params(num_inputs, num_hiddens, sigma)  # cell

    def forward(self, inputs, H_C=None):
        if H_C is None:
            zeros = tf.zeros((tf.shape(inputs)[1], self.num_hiddens))
            H_C = (zeros, zeros)
        H, C = H_C
        outputs = []
        for X in tf.unstack(inputs):
            I = tf.sigmoid(tf.matmul(X, self.W_xi) + tf.matmul(H, self.W_hi) + self.b_i)
            F = tf.sigmoid(tf.matmul(X, self.W_xf) + tf.matmul(H, self.W_hf) + self.b_f)
            O = tf.sigmoid(tf.matmul(X, self.W_xo) + tf.matmul(H, self.W_ho) + self.b_o)
            C_tilde = tf.tanh(tf.matmul(X, self.W_xc) + tf.matmul(H, self.W_hc) + self.b_c)
            C = F * C + I * C_tilde
            H = O * tf.tanh(C)
            outputs.append(H)
        return tf.stack(outputs), (H, C)


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
            H = tf.zeros((tf.shape(inputs)[1], self.num_hiddens))
        outputs = []
        for X in tf.unstack(inputs):
            Z = tf.sigmoid(tf.matmul(X, self.W_xz) + tf.matmul(H, self.W_hz) + self.b_z)
            R = tf.sigmoid(tf.matmul(X, self.W_xr) + tf.matmul(H, self.W_hr) + self.b_r)
            H_tilde = tf.tanh(tf.matmul(X, self.W_xh) + tf.matmul(R * H, self.W_hh) + self.b_h)
            H = Z * H + (1 - Z) * H_tilde
            outputs.append(H)
        return tf.stack(outputs), H


class _StackedKerasRNN(Module):
    """`num_layers` Keras recurrent layers, dropout between them when `training` is true; the
    state holds one entry per layer stacked on a leading axis, as torch and Gluon have it."""

    def __init__(self, num_hiddens, num_layers=1, dropout=0):
        super().__init__()
        self.save_hyperparameters()
        # unroll: a plain graph of the steps, cheaper than Keras's while loop for short windows
        self.rnns = [self.keras_layer(num_hiddens, return_sequences=True, return_state=True,
                                      unroll=True) for _ in range(num_layers)]
        self.drop = tf.keras.layers.Dropout(dropout)

    def call(self, inputs, state=None, training=None):
        # spelled out, so that Keras hands this layer the `training` flag it is called with
        # (or the one of the model that calls it)
        return self.forward(inputs, state, training=training)

    def forward(self, inputs, state=None, training=None):
        X = tf.transpose(inputs, (1, 0, 2))  # Keras 3 wants batch-major
        per_layer = [None] * self.num_layers if state is None else self.split_state(state)
        finals = []
        for i, layer in enumerate(self.rnns):
            if i > 0 and self.dropout > 0:
                X = self.drop(X, training=training)
            X, *final = layer(X, initial_state=per_layer[i])
            finals.append(final)
        return tf.transpose(X, (1, 0, 2)), self.join_state(finals)


class LSTM(_StackedKerasRNN):
    """The concise LSTM: Keras LSTM layers; the state is (H, C), each (num_layers, batch,
    num_hiddens)."""
    keras_layer = tf.keras.layers.LSTM

    def split_state(self, H_C):
        return [[H, C] for H, C in zip(tf.unstack(H_C[0]), tf.unstack(H_C[1]))]

    def join_state(self, finals):
        return tf.stack([H for H, _ in finals]), tf.stack([C for _, C in finals])


class GRU(_StackedKerasRNN):
    """The concise GRU: Keras GRU layers; the state is (num_layers, batch, num_hiddens)."""
    keras_layer = tf.keras.layers.GRU

    def split_state(self, H):
        return [[h] for h in tf.unstack(H)]

    def join_state(self, finals):
        return tf.stack([H for H, in finals])


class StackedRNNScratch(Module):
    """`num_layers` RNNScratch layers, each one's outputs the next one's inputs; the state is
    the list of the layers' states."""

    def __init__(self, num_inputs, num_hiddens, num_layers, sigma=0.01):
        super().__init__()
        self.save_hyperparameters()
        self.rnns = [RNNScratch(num_inputs if i == 0 else num_hiddens, num_hiddens, sigma)
                     for i in range(num_layers)]

    def forward(self, inputs, Hs=None):
        outputs = inputs
        Hs = [None] * self.num_layers if Hs is None else list(Hs)
        for i, layer in enumerate(self.rnns):
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
        b_outputs, b_H = self.b_rnn(tf.reverse(inputs, [0]), b_H)
        # the backward pass read the steps last to first: reverse its outputs into step order
        return tf.concat([f_outputs, tf.reverse(b_outputs, [0])], -1), (f_H, b_H)
