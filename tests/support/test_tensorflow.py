"""Tests of d2l_support.tensorflow (run in .venv/tensorflow).

    D2L_DATA_DIR=/work/shared/data .venv/tensorflow/bin/python -m pytest \
        tests/support/test_tensorflow.py          (-m "not slow" skips the 100-epoch fits)
"""
import random

import numpy as np
import pytest

from d2l_support import tensorflow as d2l
import tensorflow as tf

HIDDENS = 16


@pytest.fixture(scope='module')
def data():
    """A small Time Machine: 8-step windows, a last partial batch in both loaders."""
    return d2l.TimeMachine(batch_size=100, num_steps=8, num_train=950, num_val=420)


# The section's TensorFlow cells (rnn-concise), with the init lines the seed text lost restored
# and the cut-off SimpleRNN cell completed for Keras 3 (no time_major: transpose in and out).
class PageRNN(d2l.Module):
    def __init__(self, num_hiddens):
        super().__init__()
        self.save_hyperparameters()
        self.rnn = tf.keras.layers.SimpleRNN(
            num_hiddens, return_sequences=True, return_state=True, unroll=True)

    def forward(self, inputs, H=None):
        outputs, H = self.rnn(d2l.transpose(inputs, (1, 0, 2)), H)
        return d2l.transpose(outputs, (1, 0, 2)), H


class PageRNNLM(d2l.RNNLMScratch):
    def init_params(self):
        self.linear = tf.keras.layers.Dense(self.vocab_size)

    def output_layer(self, hiddens):
        return d2l.transpose(self.linear(hiddens), (1, 0, 2))


def scratch_lm(vocab_size, hiddens=HIDDENS):
    return d2l.RNNLMScratch(d2l.RNNScratch(num_inputs=vocab_size, num_hiddens=hiddens),
                            vocab_size=vocab_size, lr=1)


def concise_lm(vocab_size, hiddens=HIDDENS):
    return d2l.RNNLM(d2l.RNN(num_hiddens=hiddens), vocab_size=vocab_size, lr=1)


def page_lm(vocab_size, hiddens=HIDDENS):
    return PageRNNLM(PageRNN(num_hiddens=hiddens), vocab_size=vocab_size, lr=1)


MODELS = [scratch_lm, concise_lm, page_lm]


def global_norm(grads):
    return float(tf.linalg.global_norm(grads))


# ---------------------------------------------------------------- data
def test_time_machine_arrays(data):
    assert len(data.vocab) == 28
    assert data.X.shape == data.Y.shape == (950 + 420, 8)
    np.testing.assert_array_equal(data.X[:, 1:], data.Y[:, :-1])  # targets are shifted inputs
    # training windows start at tokens 0..949, validation windows after the last training token
    np.testing.assert_array_equal(data.X[:950, 0], data.corpus[:950])
    assert data.val_start == 950 + 8
    np.testing.assert_array_equal(data.X[950:, 0], data.corpus[958:958 + 420])


def test_train_loader_shuffles_every_example_once(data):
    def epoch():
        batches = list(data.train_dataloader())
        assert [len(X) for X, _ in batches] == [100] * 9 + [50]
        assert all(isinstance(t, tf.Tensor) and t.dtype == tf.int64 for b in batches for t in b)
        return np.concatenate([X.numpy() for X, _ in batches])

    first, second = epoch(), epoch()
    rows = {tuple(r) for r in data.X[:950]}
    assert {tuple(r) for r in first} == rows and len(first) == 950
    assert not np.array_equal(first, data.X[:950])  # shuffled
    assert not np.array_equal(first, second)        # and reshuffled each epoch


def test_validation_loader_is_ordered(data):
    batches = list(data.val_dataloader())
    assert [len(X) for X, _ in batches] == [100] * 4 + [20]
    np.testing.assert_array_equal(np.concatenate([X.numpy() for X, _ in batches]), data.X[950:])
    np.testing.assert_array_equal(np.concatenate([Y.numpy() for _, Y in batches]), data.Y[950:])


def test_loader_accepts_tensors():
    """Pages build data modules from TensorFlow tensors (e.g. synthetic regression data)."""
    class Tensors(d2l.DataModule):
        def __init__(self):
            super().__init__()
            self.batch_size = 4
            self.X = tf.reshape(tf.range(20, dtype=tf.float32), (10, 2))
            self.y = tf.range(10)

        def get_dataloader(self, train):
            return self.get_tensorloader((self.X, self.y), train, slice(2, 10))

    X, y = next(iter(Tensors().val_dataloader()))
    assert isinstance(X, tf.Tensor) and X.shape == (4, 2)
    np.testing.assert_array_equal(y.numpy(), [2, 3, 4, 5])


# ---------------------------------------------------------------- models
def test_one_hot(data):
    model = scratch_lm(len(data.vocab))
    X = tf.constant(data.X[:3])
    H = model.one_hot(X)
    assert H.shape == (8, 3, 28) and H.dtype == tf.float32
    np.testing.assert_array_equal(tf.argmax(H, axis=2).numpy(), data.X[:3].T)
    np.testing.assert_array_equal(tf.reduce_sum(H, axis=2).numpy(), np.ones((8, 3)))


@pytest.mark.parametrize('make_rnn', [lambda: d2l.RNNScratch(5, HIDDENS), lambda: d2l.RNN(HIDDENS),
                                      lambda: PageRNN(HIDDENS)])
def test_rnn_shapes_and_state_carry(make_rnn):
    rnn = make_rnn()
    inputs = tf.random.normal((6, 4, 5))  # time-major
    outputs, state = rnn(inputs)
    outputs = tf.convert_to_tensor(outputs)
    assert outputs.shape == (6, 4, HIDDENS) and outputs.dtype == tf.float32
    assert state.shape == (4, HIDDENS)
    np.testing.assert_allclose(state.numpy(), outputs[-1].numpy(), rtol=1e-6)
    # running the first 2 steps, then the rest from the returned state, is the same computation
    head, mid = rnn(inputs[:2])
    tail, last = rnn(inputs[2:], mid)
    np.testing.assert_allclose(tf.concat([head, tail], 0).numpy(), outputs.numpy(), atol=1e-6)
    np.testing.assert_allclose(last.numpy(), state.numpy(), atol=1e-6)


def test_scratch_params_are_tracked():
    rnn = d2l.RNNScratch(num_inputs=28, num_hiddens=HIDDENS, sigma=0.01)
    model = d2l.RNNLMScratch(rnn, vocab_size=28)
    shapes = {v.name: tuple(v.shape) for v in model.trainable_variables}
    assert shapes == {'W_xh': (28, HIDDENS), 'W_hh': (HIDDENS, HIDDENS), 'b_h': (HIDDENS,),
                      'W_hq': (HIDDENS, 28), 'b_q': (28,)}
    assert 0 < float(tf.math.reduce_std(rnn.W_xh)) < 0.02  # sigma scales the initial weights


@pytest.mark.parametrize('make', [concise_lm, page_lm])
def test_concise_params_are_tracked_once(data, make):
    model = make(len(data.vocab))
    model(tf.constant(data.X[:2]))
    assert sorted(tuple(v.shape) for v in model.trainable_variables) == sorted(
        [(28, HIDDENS), (HIDDENS, HIDDENS), (HIDDENS,), (HIDDENS, 28), (28,)])


def test_concise_rnn_matches_scratch_with_same_weights():
    scratch, concise = d2l.RNNScratch(5, HIDDENS, sigma=0.5), d2l.RNN(HIDDENS)
    inputs = tf.random.normal((7, 3, 5))
    concise(inputs)
    concise.rnn.set_weights([scratch.W_xh.numpy(), scratch.W_hh.numpy(), scratch.b_h.numpy()])
    for a, b in zip(scratch(inputs), concise(inputs)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-5)


@pytest.mark.parametrize('make', MODELS)
def test_language_model_shapes(data, make):
    model = make(len(data.vocab))
    X = tf.constant(data.X[:4])
    Y_hat = model(X)
    assert Y_hat.shape == (4, 8, 28) and Y_hat.dtype == tf.float32
    rnn_outputs, _ = model.rnn(model.one_hot(X))
    assert model.output_layer(rnn_outputs).shape == (4, 8, 28)


def test_loss_is_cross_entropy_and_accuracy_counts_hits():
    model = d2l.Classifier()
    Y_hat = tf.random.normal((3, 5, 7)) * 4
    Y = tf.random.uniform((3, 5), 0, 7, dtype=tf.int64)
    expected = tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.reshape(Y, (-1,)), logits=tf.reshape(Y_hat, (-1, 7))).numpy()
    np.testing.assert_allclose(model.loss(Y_hat, Y, averaged=False).numpy(), expected, rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(float(model.loss(Y_hat, Y)), expected.mean(), rtol=1e-5)
    hits = tf.argmax(Y_hat, axis=2).numpy() == Y.numpy()
    assert float(model.accuracy(Y_hat, Y)) == pytest.approx(hits.mean())
    np.testing.assert_array_equal(model.accuracy(Y_hat, Y, averaged=False).numpy(), hits.ravel())


@pytest.mark.parametrize('make', MODELS)
def test_predict(data, make):
    d2l.set_seed(1)
    model = make(len(data.vocab))
    text = model.predict('it has', 20, data.vocab)
    tokens = text.replace('<unk>', '_')  # an untrained model may predict <unk> (5 characters)
    assert tokens.startswith('it has') and len(tokens) == len('it has') + 20
    assert set(tokens) <= set(data.vocab.idx_to_token) | {'_'}
    assert model.predict('it has', 20, data.vocab, d2l.cpu()) == text  # greedy: repeatable
    # the state is carried from token to token: a longer prediction extends a shorter one
    assert model.predict('it has', 30, data.vocab).startswith(text)
    assert model.predict('it has', 0, data.vocab) == 'it has'


@pytest.mark.parametrize('scale, clipped', [(100.0, True), (1e-3, False)])
def test_clip_gradients(scale, clipped):
    grads = [tf.random.normal((28, 16)) * scale, tf.random.normal((16,)) * scale]
    out = d2l.Trainer(max_epochs=1).clip_gradients(1, grads)
    if clipped:
        assert global_norm(grads) > 1 and global_norm(out) == pytest.approx(1, rel=1e-5)
    else:
        for g, o in zip(grads, out):
            np.testing.assert_array_equal(g.numpy(), o.numpy())


def test_training_clips_the_step():
    """One SGD step (lr 1) moves the parameters by the clipped gradient: global norm 1."""
    data = d2l.TimeMachine(batch_size=100, num_steps=8, num_train=100, num_val=100)

    def step_norm(clip):
        d2l.set_seed(0)  # large weights: the raw gradient's norm is far above 1
        model = d2l.RNNLMScratch(d2l.RNNScratch(28, HIDDENS, sigma=3.0), vocab_size=28, lr=1)
        before = [v.numpy().copy() for v in model.trainable_variables]
        d2l.Trainer(max_epochs=1, gradient_clip_val=clip).fit(model, data)  # a single batch
        return global_norm([v.numpy() - b for v, b in zip(model.trainable_variables, before)])

    assert step_norm(0) > 10
    assert step_norm(1) == pytest.approx(1, rel=1e-4)


# ---------------------------------------------------------------- devices, seeds, aliases
def test_no_gpu_means_cpu(data, capsys):
    assert d2l.num_gpus() == 0 and d2l.try_all_gpus() == []  # tensorflow-cpu
    assert d2l.try_gpu() == d2l.cpu() == '/CPU:0'
    with d2l.try_gpu():  # the section's TensorFlow cell
        trainer = d2l.Trainer(max_epochs=1, gradient_clip_val=1, num_gpus=1)
        x = d2l.to(d2l.ones(2), d2l.try_gpu())
    assert 'CPU:0' in x.device
    assert capsys.readouterr().out == ''  # the device is said by each fit
    trainer.fit(scratch_lm(28), data)
    assert trainer.summary()['device'] == 'cpu' and trainer.summary()['framework'] == 'tensorflow'
    assert capsys.readouterr().out.startswith('tensorflow: training on cpu (no GPU is available)\n')


def test_set_seed_repeats_all_generators():
    def draw():
        d2l.set_seed(7)
        return random.random(), np.random.rand(), float(tf.random.normal(()))

    assert draw() == draw()
    d2l.set_seed(7)
    a = d2l.RNN(4)
    a(tf.zeros((1, 1, 2)))
    d2l.set_seed(7)
    b = d2l.RNN(4)
    b(tf.zeros((1, 1, 2)))
    for va, vb in zip(a.trainable_variables, b.trainable_variables):
        np.testing.assert_array_equal(va.numpy(), vb.numpy())


def test_aliases():
    x = d2l.reshape(d2l.arange(6, dtype=d2l.float32), (2, 3))
    assert d2l.swapaxes(x, 0, 1).shape == (3, 2) == d2l.transpose(x).shape
    assert d2l.astype(x, d2l.int32).dtype == tf.int32
    np.testing.assert_array_equal(d2l.numpy(d2l.argmax(x, 1)), [2, 2])
    assert d2l.concat([x, x], 0).shape == (4, 3) and d2l.stack([x, x]).shape == (2, 2, 3)
    assert d2l.one_hot(d2l.tensor([1]), 3).numpy().tolist() == [[0, 1, 0]]
    assert d2l.framework_version() == tf.__version__


# ---------------------------------------------------------------- training
def fit(data, make, epochs, seed=0):
    d2l.set_seed(seed)
    model = make(len(data.vocab))
    trainer = d2l.Trainer(max_epochs=epochs, gradient_clip_val=1)
    trainer.fit(model, data)
    return model, trainer


@pytest.mark.filterwarnings('error')  # a fit warns about nothing
@pytest.mark.parametrize('make', MODELS)
def test_fit_is_compiled_plots_and_repeats(data, make):
    model, trainer = fit(data, make, epochs=3)
    # one trace per step although the last batch of each loader is smaller
    assert {kind: step.experimental_get_tracing_count() for kind, step in trainer.steps.items()} \
        == {'train': 1, 'val': 1}
    train, val = model.board.data['train_ppl'], model.board.data['val_ppl']
    assert [x for x, _ in val] == [1, 2, 3]
    # 2 points per epoch, each at the last of its 5 batches (x = batch index / 10 before the step)
    assert [x for x, _ in train] == pytest.approx([0.4, 0.9, 1.4, 1.9, 2.4, 2.9])
    assert 1 < val[-1][1] < val[0][1] < 28  # learns something, better than uniform guessing
    again, _ = fit(data, make, epochs=3)
    assert again.board.data == model.board.data  # the same numbers after the same seed


class EagerOnlyRNN(d2l.RNNScratch):
    """d2l's original scratch forward: iterating over a tensor, which graphs cannot do."""

    def forward(self, inputs, state=None):
        state = tf.zeros((inputs.shape[1], self.num_hiddens)) if state is None else state
        outputs = []
        for X in inputs:
            state = tf.tanh(tf.matmul(X, self.W_xh) + tf.matmul(state, self.W_hh) + self.b_h)
            outputs.append(state)
        return outputs, state


def test_step_that_cannot_be_compiled_runs_eagerly(data, capsys):
    make = lambda vocab_size: d2l.RNNLMScratch(EagerOnlyRNN(vocab_size, HIDDENS), vocab_size, lr=1)
    model, trainer = fit(data, make, epochs=2)
    assert 'cannot be compiled with tf.function' in capsys.readouterr().out
    assert len(model.board.data['train_ppl']) == 4 and len(model.board.data['val_ppl']) == 2
    compiled, _ = fit(data, scratch_lm, epochs=2)  # same numbers as the compiled scratch model
    for (xa, ya), (xb, yb) in zip(model.board.data['val_ppl'], compiled.board.data['val_ppl']):
        assert xa == xb and ya == pytest.approx(yb, rel=1e-4)


@pytest.mark.slow
def test_section_fit_reaches_perplexity():
    """The section's settings: 100 epochs, batch 1024, 32 steps, 32 hidden units, lr 1, clip 1."""
    data = d2l.TimeMachine(batch_size=1024, num_steps=32)
    final = {}
    for name, make in [('scratch', scratch_lm), ('concise', page_lm)]:
        d2l.set_seed(0)
        model = make(len(data.vocab), hiddens=32)
        trainer = d2l.Trainer(max_epochs=100, gradient_clip_val=1)
        trainer.fit(model, data)
        final[name] = model.board.last('val_ppl')
        assert len(model.predict('it has', 20, data.vocab)) == 26
    assert final['scratch'] < 8.0 and final['concise'] < 8.0, final
    assert abs(final['scratch'] - final['concise']) < 0.6, final


# ---------------------------------------------------------------- modern recurrent layers
import rnn_numpy_reference as ref  # noqa: E402  (tests/support is on sys.path)


def _inputs(seed=0, steps=5, batch=3, n=7):
    return tf.constant(np.random.default_rng(seed).normal(size=(steps, batch, n)), tf.float32)


def _np_params(layer, names, sigma=0.3):
    """Give the scratch layer larger random weights (sigma 0.01 would make every gate ~0.5) and
    return them as numpy arrays."""
    rng = np.random.default_rng(1)
    for name in names:
        var = getattr(layer, name)
        var.assign(rng.normal(size=var.shape).astype(np.float32) * sigma)
    return {name: np.asarray(getattr(layer, name).numpy(), np.float64) for name in names}


def _rnn_params(layer):
    return {n: np.asarray(getattr(layer, n).numpy(), np.float64) for n in ('W_xh', 'W_hh', 'b_h')}


def test_lstm_scratch_equals_numpy_gates():
    lstm = d2l.LSTMScratch(num_inputs=7, num_hiddens=4)
    p = _np_params(lstm, ref.LSTM_NAMES)
    assert len(lstm.trainable_variables) == 12
    X = _inputs()
    outputs, (H, C) = lstm(X)
    want, want_H, want_C = ref.lstm(p, X.numpy().astype(np.float64))
    assert outputs.shape == (5, 3, 4) and H.shape == C.shape == (3, 4)
    np.testing.assert_allclose(outputs.numpy(), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(C.numpy(), want_C, rtol=1e-5, atol=1e-6)
    first, state = lstm(X[:2])
    second, (H2, C2) = lstm(X[2:], state)
    np.testing.assert_allclose(tf.concat([first, second], 0).numpy(), outputs.numpy(), rtol=1e-6)
    np.testing.assert_allclose(C2.numpy(), C.numpy(), rtol=1e-6)


def test_gru_scratch_equals_numpy_gates():
    gru = d2l.GRUScratch(num_inputs=7, num_hiddens=4)
    p = _np_params(gru, ref.GRU_NAMES)
    assert len(gru.trainable_variables) == 9
    X = _inputs()
    outputs, H = gru(X)
    want, want_H = ref.gru(p, X.numpy().astype(np.float64))
    assert outputs.shape == (5, 3, 4) and H.shape == (3, 4)
    np.testing.assert_allclose(outputs.numpy(), want, rtol=1e-5, atol=1e-6)
    first, state = gru(X[:2])
    second, H2 = gru(X[2:], state)
    np.testing.assert_allclose(tf.concat([first, second], 0).numpy(), outputs.numpy(), rtol=1e-6)
    np.testing.assert_allclose(H2.numpy(), H.numpy(), rtol=1e-6)


@pytest.mark.parametrize('cls, gates', [(d2l.LSTM, 4), (d2l.GRU, 3)])
def test_concise_lstm_gru_shapes_states_and_carry(cls, gates):
    layer = cls(num_hiddens=4, num_layers=2)
    X = _inputs()
    outputs, state = layer(X)
    shapes = [tuple(v.shape) for v in layer.trainable_variables]
    bias = (gates * 4,) if cls is d2l.LSTM else (2, gates * 4)  # Keras's GRU: reset_after
    assert shapes == [(7, gates * 4), (4, gates * 4), bias, (4, gates * 4), (4, gates * 4), bias]
    assert outputs.shape == (5, 3, 4)
    if cls is d2l.LSTM:
        H, C = state  # a pair
        assert H.shape == C.shape == (2, 3, 4)
    else:
        assert state.shape == (2, 3, 4)
    first, mid = layer(X[:2])
    second, _ = layer(X[2:], mid)
    np.testing.assert_allclose(tf.concat([first, second], 0).numpy(), outputs.numpy(),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('cls', [d2l.LSTM, d2l.GRU])
def test_dropout_between_layers_in_training_only(cls):
    tf.random.set_seed(0)
    layer = cls(num_hiddens=16, num_layers=2, dropout=0.5)
    X = _inputs()
    a, b = layer(X, training=True)[0], layer(X, None, training=True)[0]
    assert not np.allclose(a.numpy(), b.numpy())
    c, d = layer(X)[0], layer(X, training=False)[0]
    np.testing.assert_array_equal(c.numpy(), d.numpy())
    assert not np.allclose(a.numpy(), c.numpy())


def test_stacked_rnn_scratch_feeds_layers_and_keeps_states():
    deep = d2l.StackedRNNScratch(num_inputs=7, num_hiddens=4, num_layers=3, sigma=0.5)
    assert len(deep.trainable_variables) == 9
    X = _inputs()
    outputs, Hs = deep(X)
    assert outputs.shape == (5, 3, 4) and len(Hs) == 3
    Y = X.numpy().astype(np.float64)
    for layer, H in zip(deep.rnns, Hs):
        Y, want_H = ref.rnn(_rnn_params(layer), Y)
        np.testing.assert_allclose(H.numpy(), want_H, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(outputs.numpy(), Y, rtol=1e-5, atol=1e-6)
    first, mid = deep(X[:2])
    second, _ = deep(X[2:], mid)
    np.testing.assert_allclose(tf.concat([first, second], 0).numpy(), outputs.numpy(), rtol=1e-6)


def test_bi_rnn_scratch_concatenates_both_directions():
    bi = d2l.BiRNNScratch(num_inputs=7, num_hiddens=4, sigma=0.5)
    assert bi.num_hiddens == 8 and len(bi.trainable_variables) == 6
    X = _inputs()
    outputs, (f_H, b_H) = bi(X)
    assert outputs.shape == (5, 3, 8)
    x = X.numpy().astype(np.float64)
    fwd, _ = ref.rnn(_rnn_params(bi.f_rnn), x)
    bwd, _ = ref.rnn(_rnn_params(bi.b_rnn), x[::-1])
    np.testing.assert_allclose(outputs.numpy(), np.concatenate([fwd, bwd[::-1]], -1),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(outputs[0, :, 4:].numpy(), b_H.numpy(), rtol=1e-6)
    assert d2l.RNNLMScratch(bi, vocab_size=28).W_hq.shape == (8, 28)


MODERN = {
    'lstm_scratch': lambda v: d2l.RNNLMScratch(d2l.LSTMScratch(v, 16), v, lr=4),
    'lstm': lambda v: d2l.RNNLM(d2l.LSTM(16), v, lr=4),
    'gru_scratch': lambda v: d2l.RNNLMScratch(d2l.GRUScratch(v, 16), v, lr=4),
    'gru': lambda v: d2l.RNNLM(d2l.GRU(16), v, lr=4),
}


@pytest.mark.parametrize('name', MODERN)
def test_modern_language_models_learn_and_predict(data, name):
    d2l.set_seed(0)
    model = MODERN[name](len(data.vocab))
    d2l.Trainer(max_epochs=2, gradient_clip_val=1).fit(model, data)
    ppl = [y for _, y in model.board.data['train_ppl']]
    assert ppl[-1] < ppl[0]
    text = model.predict('it has', 20, data.vocab)
    assert text.startswith('it has') and len(text) == 26


# ---------------------------------------------------------------- dropout in fits
class RecordingGRU(d2l.GRU):
    """Records the `training` flag Keras hands the layer (while a step is traced, or run)."""
    seen = []

    def call(self, inputs, state=None, training=None):
        RecordingGRU.seen.append(training)
        return super().call(inputs, state, training=training)


def test_fit_applies_dropout_in_training_steps_only(data):
    RecordingGRU.seen = []
    model = d2l.RNNLM(RecordingGRU(HIDDENS, num_layers=2, dropout=0.5), vocab_size=len(data.vocab),
                      lr=1)
    d2l.set_seed(0)
    trainer = d2l.Trainer(max_epochs=1, gradient_clip_val=1)
    trainer.fit(model, data)
    assert True in RecordingGRU.seen  # the training step's trace
    assert RecordingGRU.seen[-1] is not True  # the validation step's trace came after it
    assert model.training is False  # the flag is set only while a training step runs
    X = tf.constant(data.X[:8])
    np.testing.assert_array_equal(model(X).numpy(), model(X).numpy())  # no dropout outside
    a, b = model(X, training=True).numpy(), model(X, training=True).numpy()
    assert not np.allclose(a, b)  # the flag reaches the stacked layers' dropout
