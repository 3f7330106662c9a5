"""Tests of d2l_support.mxnet. Run in the MXNet environment:

    D2L_DATA_DIR=/work/shared/data .venv/mxnet/bin/python -m pytest tests/support/test_mxnet.py
"""
import types
import warnings

import numpy as onp
import pytest

from d2l_support import core
from d2l_support import mxnet as d2l
from d2l_support.mxnet import autograd, gluon, np, npx
from mxnet.gluon import nn, rnn

VOCAB, BATCH, STEPS, HIDDENS = 28, 4, 5, 8


# --------------------------------------------------------------------------------------------
# The concise-RNN section's MXNet code as written, with the lost init lines put back
# --------------------------------------------------------------------------------------------
class PageRNN(d2l.Module):
    """The RNN model implemented with high-level APIs."""
    def __init__(self, num_hiddens):
        super().__init__()
        self.save_hyperparameters()
        self.rnn = rnn.RNN(num_hiddens)

    def forward(self, inputs, H=None):
        if H is None:
            H, = self.rnn.begin_state(inputs.shape[1], ctx=inputs.ctx)
        outputs, (H, ) = self.rnn(inputs, (H, ))
        return outputs, H


class PageRNNLM(d2l.RNNLMScratch):
    """The RNN-based language model implemented with high-level APIs."""
    def init_params(self):
        self.linear = nn.Dense(self.vocab_size, flatten=False)

    def output_layer(self, hiddens):
        return d2l.swapaxes(self.linear(hiddens), 0, 1)


def scratch_lm(vocab_size=VOCAB, num_hiddens=HIDDENS, lr=1):
    return d2l.RNNLMScratch(d2l.RNNScratch(num_inputs=vocab_size, num_hiddens=num_hiddens),
                            vocab_size=vocab_size, lr=lr)


def concise_lm(vocab_size=VOCAB, num_hiddens=HIDDENS, lr=1, page=False):
    if page:
        return PageRNNLM(PageRNN(num_hiddens=num_hiddens), vocab_size=vocab_size, lr=lr)
    return d2l.RNNLM(d2l.RNN(num_hiddens=num_hiddens), vocab_size=vocab_size, lr=lr)


def predicted_tokens(text):
    """Tokens of a prediction: characters, counting '<unk>' (which core's predict may emit from
    an untrained model; reported to the lead) as one."""
    return len(text.replace('<unk>', '?'))


def random_tokens(shape, seed=0):
    return np.array(onp.random.RandomState(seed).randint(0, VOCAB, size=shape), dtype='int32')


@pytest.fixture(scope='module')
def data():
    return d2l.TimeMachine(batch_size=1024, num_steps=32)


# --------------------------------------------------------------------------------------------
# numpy alias shim (MXNet 1.9.1 with numpy >= 1.24, as on Python 3.12)
# --------------------------------------------------------------------------------------------
def fake_numpy_without_aliases():
    """A module that behaves like numpy 1.24-1.26: the removed aliases raise AttributeError
    from a module __getattr__, while other names are ordinary attributes."""
    fake = types.ModuleType('numpy')
    fake.float32, fake.bool_ = onp.float32, onp.bool_

    def __getattr__(name):
        if name in ('bool', 'int', 'float', 'object'):
            raise AttributeError(f'module numpy has no attribute {name!r} (removed alias)')
        raise AttributeError(name)
    fake.__getattr__ = __getattr__
    return fake


def test_shim_restores_the_missing_aliases_and_nothing_else():
    fake = fake_numpy_without_aliases()
    before = dict(vars(fake))
    restored = d2l._restore_numpy_aliases(fake)
    assert sorted(restored) == ['bool', 'int']
    assert fake.bool is bool and fake.int is int
    added = {k: v for k, v in vars(fake).items() if k not in before}
    assert added == {'bool': bool, 'int': int}
    assert all(vars(fake)[k] is v for k, v in before.items())
    with pytest.raises(AttributeError):  # an alias MXNet does not use stays removed
        fake.float


def test_shim_leaves_present_aliases_alone_without_warning():
    fake = types.ModuleType('numpy')
    fake.bool, fake.int = onp.bool_, 'kept'  # numpy 2 brought back numpy.bool as bool_
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert d2l._restore_numpy_aliases(fake) == []
    assert fake.bool is onp.bool_ and fake.int == 'kept'


def test_shim_checks_deprecated_aliases_silently():
    fake = types.ModuleType('numpy')

    def __getattr__(name):  # like numpy 1.20-1.23
        if name in ('bool', 'int'):
            warnings.warn(f'numpy.{name} is a deprecated alias', DeprecationWarning)
            return {'bool': bool, 'int': int}[name]
        raise AttributeError(name)
    fake.__getattr__ = __getattr__
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert d2l._restore_numpy_aliases(fake) == []
    assert 'bool' not in vars(fake) and 'int' not in vars(fake)


def test_real_numpy_has_what_mxnet_uses():
    for name in d2l._REMOVED_NUMPY_ALIASES:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            assert getattr(onp, name) in (bool, int, onp.bool_)


# --------------------------------------------------------------------------------------------
# Names, helpers
# --------------------------------------------------------------------------------------------
def test_exports_the_contract_names():
    names = """HyperParameters add_to_class ProgressBoard Vocab DataError download data_dir
    TIME_MACHINE tokenize Module DataModule Trainer Classifier TimeMachine RNNScratch RNNLMScratch
    RNN RNNLM cpu gpu num_gpus try_gpu try_all_gpus tensor zeros ones arange reshape swapaxes
    transpose stack concat matmul exp tanh argmax astype numpy to float32 int32 one_hot set_seed
    framework_version""".split()
    assert [n for n in names if not hasattr(d2l, n)] == []
    assert d2l.Vocab is core.Vocab and d2l.ProgressBoard is core.ProgressBoard
    assert d2l.framework_version() == '1.9.1'


def test_tensor_helpers():
    x = d2l.reshape(d2l.arange(6, dtype=d2l.float32), (2, 3))
    assert d2l.transpose(x).shape == (3, 2)
    assert d2l.swapaxes(d2l.zeros((2, 3, 4)), 0, 1).shape == (3, 2, 4)
    assert d2l.numpy(d2l.matmul(x, d2l.ones((3, 1)))).ravel().tolist() == [3.0, 12.0]
    assert d2l.astype(x, d2l.int32).dtype == onp.int32
    assert d2l.numpy(d2l.argmax(x, axis=1)).tolist() == [2, 2]
    assert d2l.to(x, d2l.cpu()).ctx == d2l.cpu()
    assert d2l.concat([x, x], axis=0).shape == (4, 3) and d2l.stack([x, x]).shape == (2, 2, 3)
    assert d2l.try_gpu() == d2l.cpu() and d2l.try_all_gpus() == [d2l.cpu()]


# --------------------------------------------------------------------------------------------
# Models: shapes and dtypes
# --------------------------------------------------------------------------------------------
def test_rnn_scratch_shapes():
    model = d2l.RNNScratch(num_inputs=VOCAB, num_hiddens=HIDDENS)
    assert model.W_xh.shape == (VOCAB, HIDDENS) and model.W_hh.shape == (HIDDENS, HIDDENS)
    assert model.b_h.shape == (HIDDENS,)
    X = np.ones((STEPS, BATCH, VOCAB))
    outputs, state = model(X)
    assert len(outputs) == STEPS
    assert all(H.shape == (BATCH, HIDDENS) and H.dtype == onp.float32 for H in outputs)
    assert onp.array_equal(state.asnumpy(), outputs[-1].asnumpy())
    outputs2, _ = model(X, state)  # continues from a given state
    assert not onp.allclose(outputs2[0].asnumpy(), outputs[0].asnumpy())


def test_rnn_scratch_computes_the_recurrence():
    model = d2l.RNNScratch(num_inputs=3, num_hiddens=2, sigma=0.5)
    X = np.random.normal(size=(4, 2, 3))
    outputs, _ = model(X)
    W_xh, W_hh, b_h = (p.asnumpy() for p in (model.W_xh, model.W_hh, model.b_h))
    H = onp.zeros((2, 2), dtype=onp.float32)
    for t, X_t in enumerate(X.asnumpy()):
        H = onp.tanh(X_t @ W_xh + H @ W_hh + b_h)
        assert onp.allclose(outputs[t].asnumpy(), H, atol=1e-6)


def test_one_hot():
    model = scratch_lm()
    X = random_tokens((BATCH, STEPS))
    embs = model.one_hot(X)
    assert embs.shape == (STEPS, BATCH, VOCAB) and embs.dtype == onp.float32
    assert onp.array_equal(embs.asnumpy().argmax(-1), X.asnumpy().T)
    assert onp.array_equal(embs.asnumpy().sum(-1), onp.ones((STEPS, BATCH)))


@pytest.mark.parametrize('make', [scratch_lm, concise_lm,
                                  lambda: concise_lm(page=True)], ids=['scratch', 'concise',
                                                                       'page'])
def test_language_model_output_shape(make):
    model = make()
    Y_hat = model(random_tokens((BATCH, STEPS)))
    assert Y_hat.shape == (BATCH, STEPS, VOCAB) and Y_hat.dtype == onp.float32


def test_concise_rnn_shapes():
    model = d2l.RNN(num_hiddens=HIDDENS)
    model.initialize()
    outputs, H = model(np.ones((STEPS, BATCH, VOCAB)))
    assert outputs.shape == (STEPS, BATCH, HIDDENS) and H.shape == (1, BATCH, HIDDENS)
    assert onp.allclose(outputs[-1].asnumpy(), H[0].asnumpy())


def test_scratch_language_model_parameters():
    model = scratch_lm()
    assert model.W_hq.shape == (HIDDENS, VOCAB) and model.b_q.shape == (VOCAB,)
    params = model.parameters()
    assert len(params) == 5 and all(p.grad is not None for p in params)


def test_concise_language_model_initializes_its_layers():
    model = concise_lm(page=True)  # init_params as written never calls initialize()
    for p in model.collect_params().values():
        p.list_ctx()  # raises if a parameter was never initialized
    model(random_tokens((BATCH, STEPS)))
    shapes = sorted(p.shape for p in model.collect_params().values())
    assert shapes == sorted([(HIDDENS, VOCAB), (HIDDENS, HIDDENS), (HIDDENS,), (HIDDENS,),
                             (VOCAB, HIDDENS), (VOCAB,)])


def test_classifier_loss_and_accuracy():
    model = scratch_lm()
    logits = onp.random.RandomState(1).normal(size=(3, 2, VOCAB)).astype(onp.float32)
    labels = onp.random.RandomState(2).randint(0, VOCAB, size=(3, 2)).astype(onp.int32)
    flat, y = logits.reshape(-1, VOCAB), labels.reshape(-1)
    log_probs = flat - onp.log(onp.exp(flat).sum(1, keepdims=True))
    expected = -log_probs[onp.arange(len(y)), y]
    each = model.loss(np.array(logits), np.array(labels), averaged=False).asnumpy()
    assert onp.allclose(each, expected, atol=1e-5)
    assert onp.isclose(float(model.loss(np.array(logits), np.array(labels))), expected.mean(),
                       atol=1e-5)
    acc = float(model.accuracy(np.array(logits), np.array(labels)))
    assert onp.isclose(acc, (flat.argmax(1) == y).mean())


@pytest.mark.parametrize('scale', [1, 100], ids=['fast-path', 'hopeless-predictions'])
def test_classifier_loss_value_and_gradient_match_log_softmax(scale):
    # scale 100: some right-class probabilities underflow float32, so the loss must fall back
    # to log_softmax; either way value and gradient are those of log_softmax cross-entropy.
    model = scratch_lm()
    rng = onp.random.RandomState(3)
    logits = np.array((rng.normal(size=(4, 5, VOCAB)) * scale).astype(onp.float32))
    labels = np.array(rng.randint(0, VOCAB, size=(4, 5)).astype(onp.int32))
    grads = []
    for loss in (model.loss, lambda Y_hat, Y: -npx.pick(
            npx.log_softmax(Y_hat.reshape(-1, VOCAB)), Y.reshape(-1)).mean()):
        logits.attach_grad()
        with autograd.record():
            value = loss(logits, labels)
        value.backward()
        grads.append((float(value), logits.grad.asnumpy()))
    (value, grad), (expected, expected_grad) = grads
    assert onp.isfinite(value) and onp.isfinite(grad).all()
    assert onp.isclose(value, expected, rtol=1e-5)
    assert onp.allclose(grad, expected_grad, atol=1e-7)


@pytest.mark.parametrize('make', [scratch_lm, lambda **kw: concise_lm(page=True, **kw)],
                         ids=['scratch', 'page'])
def test_predict_returns_prefix_and_num_preds_chars(make, data):
    model = make(vocab_size=len(data.vocab), num_hiddens=32)
    text = model.predict('it has', 20, data.vocab)
    assert predicted_tokens(text) == len('it has') + 20 and text.startswith('it has')
    assert set(text.replace('<unk>', '')) <= set(data.vocab.idx_to_token)
    assert model.predict('it has', 20, data.vocab, d2l.try_gpu()) == text  # greedy: repeatable
    assert model.predict('x', 0, data.vocab) == 'x'


# --------------------------------------------------------------------------------------------
# Gradient clipping
# --------------------------------------------------------------------------------------------
def gradients(model):
    return [g.asnumpy() for _, g in d2l._weights_and_grads(model.parameters())]


def global_norm(grads):
    return float(onp.sqrt(sum((g.astype(onp.float64) ** 2).sum() for g in grads)))


@pytest.mark.parametrize('make', [scratch_lm, concise_lm], ids=['scratch', 'concise'])
def test_clip_gradients_bounds_the_global_norm(make):
    model, trainer = make(lr=1), d2l.Trainer(max_epochs=1)
    X, Y = random_tokens((BATCH, STEPS), 1), random_tokens((BATCH, STEPS), 2)
    with autograd.record():
        loss = model.loss(model(X), Y) * 1000  # gradients far above the bound
    loss.backward()
    before = gradients(model)
    assert global_norm(before) > 10
    trainer.clip_gradients(1, model)
    after = gradients(model)
    assert global_norm(after) <= 1 + 1e-6
    assert global_norm(after) > 0.99  # scaled down to the bound, not zeroed
    scale = global_norm(after) / global_norm(before)
    assert all(onp.allclose(a, b * scale, rtol=1e-4, atol=1e-9) for a, b in zip(after, before))


def test_clip_gradients_keeps_small_gradients_and_takes_a_list():
    grads = [np.array([0.3, 0.4]), np.array([[0.0, 0.0]])]
    d2l.Trainer(max_epochs=1).clip_gradients(1, grads)
    assert onp.allclose(grads[0].asnumpy(), [0.3, 0.4])
    grads = [np.array([3.0, 4.0])]
    d2l.Trainer(max_epochs=1).clip_gradients(1, grads)
    assert onp.allclose(grads[0].asnumpy(), [0.6, 0.8], atol=1e-6)


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------
def test_time_machine_arrays(data):
    assert data.X.shape == data.Y.shape == (15000, 32)
    assert data.X.dtype == onp.int32
    X, Y = data.X.asnumpy(), data.Y.asnumpy()
    assert onp.array_equal(X[:, 1:], Y[:, :-1])
    for rows in (slice(0, 10000), slice(10000, 15000)):  # consecutive windows within each split
        assert onp.array_equal(X[rows][1:, 0], Y[rows][:-1, 0])
    assert X[:10000, 0].tolist() == data.corpus[:10000]
    assert X[10000:, 0].tolist() == data.corpus[10032:15032]  # after the last training token
    assert ''.join(data.vocab.to_tokens(X[0])) == ''.join(data.vocab.to_tokens(data.corpus[:32]))


def test_time_machine_loaders(data):
    train, val = data.train_dataloader(), data.val_dataloader()
    assert len(train) == 10 and len(val) == 5
    batches = list(train)
    assert all(isinstance(t, np.ndarray) and t.dtype == onp.int32 for b in batches for t in b)
    assert [b[0].shape for b in batches] == [(1024, 32)] * 9 + [(784, 32)]
    firsts = onp.concatenate([b[0].asnumpy()[:, 0] for b in batches])
    # every training window exactly once, not in order
    X = data.X.asnumpy()
    assert sorted(firsts.tolist()) == sorted(X[:10000, 0].tolist())
    train_X = onp.concatenate([b[0].asnumpy() for b in batches])
    assert not onp.array_equal(train_X, X[:10000])
    starts = {tuple(row) for row in X[:10000]}
    assert all(tuple(row) in starts for row in train_X[:50])
    again = onp.concatenate([b[0].asnumpy() for b in data.train_dataloader()])
    assert not onp.array_equal(again, train_X)  # reshuffled for each pass
    val_X = onp.concatenate([b[0].asnumpy() for b in val])
    val_Y = onp.concatenate([b[1].asnumpy() for b in val])
    assert onp.array_equal(val_X, X[10000:15000])
    assert onp.array_equal(val_Y, data.Y.asnumpy()[10000:15000])


# --------------------------------------------------------------------------------------------
# Trainer
# --------------------------------------------------------------------------------------------
def small_fit(make, seed, epochs=2):
    d2l.set_seed(seed)
    data = d2l.TimeMachine(batch_size=256, num_steps=8, num_train=1024, num_val=512)
    model = make(vocab_size=len(data.vocab), num_hiddens=16)
    model.board.display = False
    trainer = d2l.Trainer(max_epochs=epochs, gradient_clip_val=1)
    trainer.fit(model, data)
    return model, trainer


@pytest.mark.parametrize('make', [scratch_lm, lambda **kw: concise_lm(page=True, **kw)],
                         ids=['scratch', 'page'])
def test_fit_is_deterministic_after_set_seed(make):
    runs = [small_fit(make, seed) for seed in (3, 3, 4)]
    curves = [dict(m.board.data) for m, _ in runs]
    params = [[p.asnumpy() for p, _ in d2l._weights_and_grads(m.parameters())] for m, _ in runs]
    assert curves[0] == curves[1]
    assert all(onp.array_equal(a, b) for a, b in zip(params[0], params[1]))
    assert curves[0] != curves[2]


def test_fit_records_perplexity_and_summary():
    model, trainer = small_fit(concise_lm, 0, epochs=3)
    assert set(model.board.data) == {'train_ppl', 'val_ppl'}
    assert len(model.board.data['val_ppl']) == 3 and len(model.board.data['train_ppl']) == 6
    assert model.board.data['val_ppl'][-1][0] == 3
    first, last = model.board.data['train_ppl'][0][1], model.board.data['train_ppl'][-1][1]
    assert last < first <= VOCAB + 2  # learning from about uniform guesses
    info = trainer.summary()
    assert info['framework'] == 'mxnet' and info['device'] == 'cpu' and info['epochs'] == 3
    assert info['version'] == d2l.framework_version()
    assert info['val_ppl'] == model.board.last('val_ppl') and info['fit_seconds'] > 0


def test_num_gpus_without_gpu_trains_on_cpu(capsys):
    trainers = [d2l.Trainer(max_epochs=1, num_gpus=1) for _ in range(2)]
    assert capsys.readouterr().out == ''  # each fit says where it trains (core's tests)
    assert trainers[0].gpus == [] and trainers[0].device_name() == 'cpu'
    assert trainers[0].device_note() == 'mxnet: training on cpu (no GPU is available)'
    assert d2l.Trainer(max_epochs=1).prepare_batch([1, 2]) == [1, 2]


# --------------------------------------------------------------------------------------------
# Training to the section's perplexity (slow: two 100-epoch fits)
# --------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_section_training_reaches_the_perplexity_of_d2l(data):
    finals = {}
    for kind in ('scratch', 'concise'):
        d2l.set_seed(0)
        if kind == 'scratch':
            model = d2l.RNNLMScratch(d2l.RNNScratch(num_inputs=len(data.vocab), num_hiddens=32),
                                     vocab_size=len(data.vocab), lr=1)
        else:  # the section's code
            rnn_ = PageRNN(num_hiddens=32)
            model = PageRNNLM(rnn_, vocab_size=len(data.vocab), lr=1)
            assert predicted_tokens(model.predict('it has', 20, data.vocab)) == 26
        trainer = d2l.Trainer(max_epochs=100, gradient_clip_val=1, num_gpus=1)
        trainer.fit(model, data)
        finals[kind] = model.board.last('val_ppl')
        assert finals[kind] < 8.0, (kind, finals)
        text = model.predict('it has', 20, data.vocab, d2l.try_gpu())
        assert text.startswith('it has') and predicted_tokens(text) == 26
    assert abs(finals['scratch'] - finals['concise']) < 0.6, finals


def _run_python(code, **env_changes):
    import os
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items() if k not in ('MXNET_ENGINE_TYPE', 'OMP_NUM_THREADS')}
    env.update(env_changes)
    return subprocess.run([sys.executable, '-c', code], env=env, capture_output=True, text=True,
                          check=True)


def test_engine_runs_in_the_calling_thread_without_announcing_itself():
    code = ('from d2l_support import mxnet as d2l; import os; '
            'print(os.environ["MXNET_ENGINE_TYPE"], os.environ["OMP_NUM_THREADS"]); '
            'print(float(d2l.np.ones(3).sum()))')
    result = _run_python(code, D2L_NUM_THREADS='1')
    assert result.stdout.split() == ['NaiveEngine', '1', '3.0']
    assert 'engine' not in result.stderr.lower()
    # An engine chosen by the user is kept (and MXNet may announce it as it likes).
    result = _run_python(code, MXNET_ENGINE_TYPE='ThreadedEngine', D2L_NUM_THREADS='2')
    assert result.stdout.split() == ['ThreadedEngine', '2', '3.0']


# --------------------------------------------------------------------------------------------
# Modern recurrent layers
# --------------------------------------------------------------------------------------------
import rnn_numpy_reference as ref  # noqa: E402  (tests/support is on sys.path)


def _inputs(seed=0, steps=5, batch=3, n=7):
    return np.array(onp.random.default_rng(seed).normal(size=(steps, batch, n)), dtype='float32')


def _np_params(layer, names, sigma=0.3):
    """Give the scratch layer larger random weights (sigma 0.01 would make every gate ~0.5) and
    return them as (float64) numpy arrays."""
    rng = onp.random.default_rng(1)
    for name in names:
        old = getattr(layer, name)
        setattr(layer, name, np.array(rng.normal(size=old.shape) * sigma, dtype='float32'))
    return {name: getattr(layer, name).asnumpy().astype(onp.float64) for name in names}


def _rnn_params(layer):
    return {n: getattr(layer, n).asnumpy().astype(onp.float64) for n in ('W_xh', 'W_hh', 'b_h')}


def _stacked(outputs):
    return np.stack(outputs).asnumpy() if isinstance(outputs, list) else outputs.asnumpy()


def test_lstm_scratch_equals_numpy_gates():
    lstm = d2l.LSTMScratch(num_inputs=7, num_hiddens=4)
    assert len(lstm.scratch_params()) == 12
    p = _np_params(lstm, ref.LSTM_NAMES)
    X = _inputs()
    outputs, (H, C) = lstm(X)
    want, want_H, want_C = ref.lstm(p, X.asnumpy().astype(onp.float64))
    assert len(outputs) == 5 and H.shape == C.shape == (3, 4)
    onp.testing.assert_allclose(_stacked(outputs), want, rtol=1e-5, atol=1e-6)
    onp.testing.assert_allclose(C.asnumpy(), want_C, rtol=1e-5, atol=1e-6)
    first, state = lstm(X[:2])
    second, (H2, C2) = lstm(X[2:], state)
    onp.testing.assert_allclose(_stacked(first + second), _stacked(outputs), rtol=1e-6)
    onp.testing.assert_allclose(C2.asnumpy(), C.asnumpy(), rtol=1e-6)


def test_gru_scratch_equals_numpy_gates():
    gru = d2l.GRUScratch(num_inputs=7, num_hiddens=4)
    assert len(gru.scratch_params()) == 9
    p = _np_params(gru, ref.GRU_NAMES)
    X = _inputs()
    outputs, H = gru(X)
    want, want_H = ref.gru(p, X.asnumpy().astype(onp.float64))
    assert len(outputs) == 5 and H.shape == (3, 4)
    onp.testing.assert_allclose(_stacked(outputs), want, rtol=1e-5, atol=1e-6)
    first, state = gru(X[:2])
    second, H2 = gru(X[2:], state)
    onp.testing.assert_allclose(_stacked(first + second), _stacked(outputs), rtol=1e-6)
    onp.testing.assert_allclose(H2.asnumpy(), H.asnumpy(), rtol=1e-6)


@pytest.mark.parametrize('cls, gates', [(d2l.LSTM, 4), (d2l.GRU, 3)])
def test_concise_lstm_gru_shapes_states_and_carry(cls, gates):
    layer = cls(num_hiddens=4, num_layers=2)
    layer.prepare_params()
    X = _inputs()
    outputs, state = layer(X)
    shapes = [v.shape for v in layer.collect_params().values()]
    n = gates * 4  # per layer: i2h and h2h weights and biases
    assert sorted(shapes) == sorted([(n, 7), (n, 4), (n,), (n,), (n, 4), (n, 4), (n,), (n,)])
    assert outputs.shape == (5, 3, 4)
    if cls is d2l.LSTM:
        H, C = state  # a pair
        assert H.shape == C.shape == (2, 3, 4)
    else:
        assert state.shape == (2, 3, 4)
    first, mid = layer(X[:2])
    second, _ = layer(X[2:], mid)
    onp.testing.assert_allclose(np.concatenate((first, second)).asnumpy(), outputs.asnumpy(),
                                rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('cls', [d2l.LSTM, d2l.GRU])
def test_dropout_between_layers_in_training_only(cls):
    d2l.set_seed(0)
    layer = cls(num_hiddens=16, num_layers=2, dropout=0.5)
    layer.prepare_params()
    X = _inputs()
    with autograd.record():
        a, b = layer(X)[0].asnumpy(), layer(X)[0].asnumpy()
    assert not onp.allclose(a, b)
    c, d = layer(X)[0].asnumpy(), layer(X)[0].asnumpy()
    onp.testing.assert_array_equal(c, d)
    assert not onp.allclose(a, c)


def test_stacked_rnn_scratch_feeds_layers_and_keeps_states():
    deep = d2l.StackedRNNScratch(num_inputs=7, num_hiddens=4, num_layers=3, sigma=0.5)
    assert len(deep.scratch_params()) == 9
    X = _inputs()
    outputs, Hs = deep(X)
    assert _stacked(outputs).shape == (5, 3, 4) and len(Hs) == 3
    Y = X.asnumpy().astype(onp.float64)
    for layer, H in zip(deep.rnns, Hs):
        Y, want_H = ref.rnn(_rnn_params(layer), Y)
        onp.testing.assert_allclose(H.asnumpy(), want_H, rtol=1e-5, atol=1e-6)
    onp.testing.assert_allclose(_stacked(outputs), Y, rtol=1e-5, atol=1e-6)
    first, mid = deep(X[:2])
    second, _ = deep(X[2:], mid)
    onp.testing.assert_allclose(_stacked(list(first) + list(second)), _stacked(outputs),
                                rtol=1e-6)


def test_bi_rnn_scratch_concatenates_both_directions():
    bi = d2l.BiRNNScratch(num_inputs=7, num_hiddens=4, sigma=0.5)
    assert bi.num_hiddens == 8 and len(bi.scratch_params()) == 6
    X = _inputs()
    outputs, (f_H, b_H) = bi(X)
    assert _stacked(outputs).shape == (5, 3, 8)
    x = X.asnumpy().astype(onp.float64)
    fwd, _ = ref.rnn(_rnn_params(bi.f_rnn), x)
    bwd, _ = ref.rnn(_rnn_params(bi.b_rnn), x[::-1])
    onp.testing.assert_allclose(_stacked(outputs), onp.concatenate([fwd, bwd[::-1]], -1),
                                rtol=1e-5, atol=1e-6)
    onp.testing.assert_allclose(outputs[0][:, 4:].asnumpy(), b_H.asnumpy(), rtol=1e-6)
    assert d2l.RNNLMScratch(bi, vocab_size=28).W_hq.shape == (8, 28)


MODERN = {
    'lstm_scratch': lambda v: d2l.RNNLMScratch(d2l.LSTMScratch(v, 16), v, lr=4),
    'lstm': lambda v: d2l.RNNLM(d2l.LSTM(16), v, lr=4),
    'gru_scratch': lambda v: d2l.RNNLMScratch(d2l.GRUScratch(v, 16), v, lr=4),
    'gru': lambda v: d2l.RNNLM(d2l.GRU(16), v, lr=4),
}


@pytest.mark.parametrize('name', MODERN)
def test_modern_language_models_learn_and_predict(name):
    model, _ = small_fit(lambda vocab_size, num_hiddens: MODERN[name](vocab_size), 0)
    ppl = [y for _, y in model.board.data['train_ppl']]
    assert ppl[-1] < ppl[0]
    data = d2l.TimeMachine(batch_size=256, num_steps=8, num_train=1024, num_val=512)
    text = model.predict('it has', 20, data.vocab)
    assert text.startswith('it has') and len(text) == 26


# ---------------------------------------------------------------- dropout in fits
def test_fit_applies_dropout_in_training_only():
    seen = []

    class RecordingGRU(d2l.GRU):
        def forward(self, inputs, H=None):
            seen.append(autograd.is_training())
            return super().forward(inputs, H)

    data = d2l.TimeMachine(batch_size=BATCH, num_steps=STEPS, num_train=40, num_val=8)
    model = d2l.RNNLM(RecordingGRU(HIDDENS, num_layers=2, dropout=0.5),
                      vocab_size=len(data.vocab), lr=1)
    d2l.Trainer(max_epochs=1, gradient_clip_val=1).fit(model, data)
    assert seen.count(True) == 40 // BATCH and seen.count(False) == 8 // BATCH
    assert model.predict('it has', 10, data.vocab) == model.predict('it has', 10, data.vocab)
