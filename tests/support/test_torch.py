"""Tests of d2l_support.torch (run in the PyTorch environment):

    D2L_DATA_DIR=/work/shared/data .venv/pytorch/bin/python -m pytest tests/support/test_torch.py
"""
import numpy as np
import pytest
import torch
from torch import nn

from d2l_support import torch as d2l

NUM_STEPS, BATCH, HIDDENS = 8, 16, 12


@pytest.fixture(scope='module')
def data():
    return d2l.TimeMachine(batch_size=BATCH, num_steps=NUM_STEPS, num_train=320, num_val=96)


class PageRNN(d2l.Module):
    """The section's RNN cell as written (with the init lines the seed text lost)."""
    def __init__(self, num_inputs, num_hiddens):
        super().__init__()
        self.save_hyperparameters()
        self.rnn = nn.RNN(num_inputs, num_hiddens)

    def forward(self, inputs, H=None):
        return self.rnn(inputs, H)


class PageRNNLM(d2l.RNNLMScratch):
    """The section's RNNLM cell as written."""
    def init_params(self):
        self.linear = nn.LazyLinear(self.vocab_size)

    def output_layer(self, hiddens):
        return d2l.swapaxes(self.linear(hiddens), 0, 1)


def scratch_lm(vocab_size, hiddens=HIDDENS, lr=1):
    return d2l.RNNLMScratch(d2l.RNNScratch(num_inputs=vocab_size, num_hiddens=hiddens),
                            vocab_size=vocab_size, lr=lr)


def concise_lm(vocab_size, hiddens=HIDDENS, lr=1):
    return d2l.RNNLM(d2l.RNN(num_inputs=vocab_size, num_hiddens=hiddens),
                     vocab_size=vocab_size, lr=lr)


def page_lm(vocab_size, hiddens=HIDDENS, lr=1):
    return PageRNNLM(PageRNN(num_inputs=vocab_size, num_hiddens=hiddens),
                     vocab_size=vocab_size, lr=lr)


def grad_norm(model):
    return float(torch.sqrt(sum((p.grad ** 2).sum() for p in model.parameters())))


# ---------------------------------------------------------------- data
def test_time_machine_arrays(data):
    assert data.X.shape == data.Y.shape == (320 + 96, NUM_STEPS)
    assert data.X.dtype == data.Y.dtype == torch.int64
    assert len(data.vocab) == 28 and len(data.corpus) > 100_000
    assert torch.equal(data.X[:, 1:], data.Y[:, :-1])
    assert data.X[5].tolist() == data.corpus[5:5 + NUM_STEPS]
    assert data.Y[5].tolist() == data.corpus[6:6 + NUM_STEPS]


def test_train_loader_shuffles_every_example_once(data):
    batches = list(data.train_dataloader())
    assert len(batches) == 320 // BATCH
    for X, Y in batches:
        assert isinstance(X, torch.Tensor) and X.shape == Y.shape == (BATCH, NUM_STEPS)
        assert torch.equal(X[:, 1:], Y[:, :-1])
    X = torch.cat([X for X, _ in batches])
    assert not torch.equal(X, data.X[:320])
    assert sorted(map(tuple, X.tolist())) == sorted(map(tuple, data.X[:320].tolist()))
    first_again = next(iter(data.train_dataloader()))[0]
    assert not torch.equal(first_again, batches[0][0])


def test_validation_loader_is_ordered(data):
    batches = list(data.val_dataloader())
    assert len(batches) == 96 // BATCH
    assert torch.equal(torch.cat([X for X, _ in batches]), data.X[320:416])
    assert torch.equal(torch.cat([Y for _, Y in batches]), data.Y[320:416])


# ---------------------------------------------------------------- models
def test_one_hot(data):
    model = scratch_lm(len(data.vocab))
    X = data.X[:BATCH]
    embs = model.one_hot(X)
    assert embs.shape == (NUM_STEPS, BATCH, 28) and embs.dtype == torch.float32
    assert torch.equal(embs, nn.functional.one_hot(X.T, 28).float())


def test_rnn_scratch_shapes_and_recurrence():
    rnn = d2l.RNNScratch(num_inputs=5, num_hiddens=HIDDENS, sigma=0.5)
    assert {name for name, _ in rnn.named_parameters()} == {'W_xh', 'W_hh', 'b_h'}
    with torch.no_grad():
        rnn.b_h.normal_()
    inputs = torch.randn(NUM_STEPS, 3, 5)
    outputs, state = rnn(inputs)
    assert outputs.shape == (NUM_STEPS, 3, HIDDENS) and state.shape == (3, HIDDENS)
    assert torch.equal(outputs[-1], state)
    H1 = torch.tanh(inputs[1] @ rnn.W_xh + outputs[0] @ rnn.W_hh + rnn.b_h)
    torch.testing.assert_close(outputs[1], H1)
    # A given state is continued from: two halves in a row equal the whole sequence.
    first, H = rnn(inputs[:3])
    second, H = rnn(inputs[3:], H)
    torch.testing.assert_close(torch.cat([first, second]), outputs)
    torch.testing.assert_close(H, state)


@pytest.mark.parametrize('make', [scratch_lm, concise_lm, page_lm])
def test_language_model_shapes(data, make):
    model = make(len(data.vocab))
    X = data.X[:BATCH]
    Y_hat = model(X)
    assert Y_hat.shape == (BATCH, NUM_STEPS, 28) and Y_hat.dtype == torch.float32
    rnn_outputs, _ = model.rnn(model.one_hot(X))
    assert rnn_outputs.shape == (NUM_STEPS, BATCH, HIDDENS)
    assert torch.equal(model.output_layer(rnn_outputs), Y_hat)
    loss = model.loss(Y_hat, data.Y[:BATCH])
    assert loss.shape == () and 2.5 < loss.item() < 4.5  # near log(28) = 3.33 untrained
    per_token = model.loss(Y_hat, data.Y[:BATCH], averaged=False)
    assert per_token.shape == (BATCH * NUM_STEPS,)
    torch.testing.assert_close(per_token.mean(), loss)


def test_scratch_params():
    model = scratch_lm(28)
    assert model.W_hq.shape == (HIDDENS, 28) and model.b_q.shape == (28,)
    assert model.lr == 1 and model.vocab_size == 28


def test_concise_rnn_matches_scratch_with_same_weights():
    rnn = d2l.RNN(num_inputs=6, num_hiddens=HIDDENS)
    scratch = d2l.RNNScratch(num_inputs=6, num_hiddens=HIDDENS)
    with torch.no_grad():
        scratch.W_xh.copy_(rnn.rnn.weight_ih_l0.T)
        scratch.W_hh.copy_(rnn.rnn.weight_hh_l0.T)
        scratch.b_h.copy_(rnn.rnn.bias_ih_l0 + rnn.rnn.bias_hh_l0)
    inputs = torch.randn(NUM_STEPS, 4, 6)
    outputs, H = rnn(inputs)
    assert outputs.shape == (NUM_STEPS, 4, HIDDENS) and H.shape == (1, 4, HIDDENS)
    expected, state = scratch(inputs)
    torch.testing.assert_close(outputs, expected)
    torch.testing.assert_close(H[0], state)


def test_accuracy():
    model = d2l.Classifier()
    Y_hat = torch.tensor([[[0.1, 0.9], [0.8, 0.2]], [[0.3, 0.7], [0.6, 0.4]]])
    Y = torch.tensor([[1, 1], [1, 0]])
    assert float(model.accuracy(Y_hat, Y)) == 0.75
    assert model.accuracy(Y_hat, Y, averaged=False).tolist() == [1, 0, 1, 1]


# ---------------------------------------------------------------- prediction
@pytest.mark.parametrize('make', [scratch_lm, concise_lm, page_lm])
def test_predict(data, make):
    model = make(len(data.vocab))
    text = model.predict('it has', 20, data.vocab)
    assert text.startswith('it has')
    # 20 predicted tokens; an untrained model may predict '<unk>', which prints as 5 characters.
    assert len(text[6:].replace('<unk>', '?')) == 20
    assert set(text.replace('<unk>', '')) <= set(data.vocab.idx_to_token)
    # Greedy decoding carries the state along: a shorter prediction is a prefix of a longer one.
    assert model.predict('it has', 40, data.vocab, d2l.cpu()).startswith(text)
    assert model.predict('it has', 0, data.vocab) == 'it has'


# ---------------------------------------------------------------- training machinery
@pytest.mark.parametrize('scale, clipped', [(100.0, True), (1e-3, False)])
@pytest.mark.parametrize('as_params', [False, True])
def test_clip_gradients(data, scale, clipped, as_params):
    model = concise_lm(len(data.vocab))
    model.loss(model(data.X[:BATCH]), data.Y[:BATCH]).backward()
    factor = scale / grad_norm(model)
    with torch.no_grad():
        for p in model.parameters():
            p.grad *= factor
    before = [p.grad.clone() for p in model.parameters()]
    d2l.Trainer(max_epochs=1).clip_gradients(1, list(model.parameters()) if as_params else model)
    after = [p.grad for p in model.parameters()]
    if clipped:
        assert grad_norm(model) <= 1 + 1e-5 and grad_norm(model) > 0.99
        for b, a in zip(before, after):  # same direction, shorter
            torch.testing.assert_close(a, b / 100, rtol=1e-4, atol=1e-9)
    else:
        assert all(torch.equal(a, b) for a, b in zip(before, after))


def test_no_gpu_means_cpu():
    trainer = d2l.Trainer(max_epochs=1, num_gpus=1)
    if d2l.num_gpus():
        assert trainer.gpus == [d2l.gpu(0)] and trainer.device_name() == 'gpu:0'
    else:
        assert trainer.gpus == [] and trainer.device_name() == 'cpu'
        assert d2l.try_gpu() == d2l.cpu() and d2l.try_all_gpus() == []


def fit(data, make, epochs, seed=0, hiddens=HIDDENS):
    d2l.set_seed(seed)
    model = make(len(data.vocab), hiddens)
    trainer = d2l.Trainer(max_epochs=epochs, gradient_clip_val=1)
    trainer.fit(model, data)
    return model, trainer


@pytest.mark.filterwarnings('error')  # a fit warns about nothing (e.g. no grad-to-float warning)
@pytest.mark.parametrize('make', [scratch_lm, concise_lm, page_lm])
def test_fit_records_perplexity_and_is_deterministic(data, make):
    model, trainer = fit(data, make, epochs=3)
    assert set(model.board.data) == {'train_ppl', 'val_ppl'}
    assert len(model.board.data['val_ppl']) == 3  # one point per epoch
    assert len(model.board.data['train_ppl']) == 3 * 2  # two points per epoch
    assert [x for x, _ in model.board.data['val_ppl']] == [1, 2, 3]
    assert model.board.last('val_ppl') < 28  # better than uniform guessing over the vocab
    summary = trainer.summary()
    assert summary['framework'] == 'pytorch' and summary['version'] == torch.__version__
    assert summary['epochs'] == 3 and summary['val_ppl'] == model.board.last('val_ppl')
    again, _ = fit(data, make, epochs=3)
    assert again.board.data == model.board.data
    for p, q in zip(model.parameters(), again.parameters()):
        assert torch.equal(p, q)
    other, _ = fit(data, make, epochs=3, seed=1)
    assert other.board.data != model.board.data


def test_set_seed_repeats_all_generators():
    def draw():
        return np.random.rand(), torch.rand(3).tolist(), __import__('random').random()
    d2l.set_seed(7)
    first = draw()
    d2l.set_seed(7)
    assert draw() == first


def test_aliases():
    x = d2l.arange(6, dtype=d2l.float32)
    y = d2l.reshape(x, (2, 3))
    assert d2l.swapaxes(y, 0, 1).shape == (3, 2) and d2l.transpose(y).shape == (3, 2)
    assert d2l.transpose(d2l.zeros((2, 3, 4)), (1, 0, 2)).shape == (3, 2, 4)
    assert d2l.numpy(d2l.astype(y, d2l.int32)).dtype == np.int32
    assert d2l.argmax(y, 1).tolist() == [2, 2]
    assert d2l.framework_version() == torch.__version__


# ---------------------------------------------------------------- the section's training run
@pytest.mark.slow
def test_section_fit_reaches_perplexity(capsys):
    """The section's cells as written (batch 1024, 32 steps, 32 hidden units, lr 1, clipping 1,
    100 epochs), and the scratch model with the same settings: both end below perplexity 8 and
    within 0.6 of each other."""
    d2l.set_seed(0)
    data = d2l.TimeMachine(batch_size=1024, num_steps=32)
    rnn = PageRNN(num_inputs=len(data.vocab), num_hiddens=32)
    model = PageRNNLM(rnn, vocab_size=len(data.vocab), lr=1)
    assert len(model.predict('it has', 20, data.vocab)[6:].replace('<unk>', '?')) == 20
    trainer = d2l.Trainer(max_epochs=100, gradient_clip_val=1, num_gpus=1)
    trainer.fit(model, data)
    assert model.predict('it has', 20, data.vocab, d2l.try_gpu()).startswith('it has')
    concise = model.board.last('val_ppl')
    scratch, scratch_trainer = fit(data, scratch_lm, epochs=100, hiddens=32)
    scratch = scratch.board.last('val_ppl')
    with capsys.disabled():
        print('\n', trainer.summary(), '\n', scratch_trainer.summary())
    assert concise < 8.0 and scratch < 8.0, (concise, scratch)
    assert abs(concise - scratch) < 0.6, (concise, scratch)


def test_loss_of_a_swapped_result_equals_the_contiguous_one():
    torch.manual_seed(0)
    time_major = torch.randn(5, 3, 7, requires_grad=True)  # (steps, batch, vocab), as an RNN gives
    Y = torch.randint(0, 7, (3, 5))
    model = d2l.Classifier()
    swapped = time_major.swapaxes(0, 1)  # batch-major view, not contiguous
    copied = swapped.contiguous()
    assert not swapped.is_contiguous()
    assert torch.allclose(model.loss(swapped, Y), model.loss(copied, Y))
    grad_swapped, = torch.autograd.grad(model.loss(swapped, Y), time_major)
    grad_copied, = torch.autograd.grad(model.loss(copied, Y), time_major)
    assert torch.allclose(grad_swapped, grad_copied)
    # Unaveraged losses keep the (batch, step) order of the labels.
    per_token = model.loss(swapped, Y, averaged=False)
    expected = nn.functional.cross_entropy(copied.reshape(-1, 7), Y.reshape(-1), reduction='none')
    assert torch.equal(per_token, expected)


def _printed_by_a_fresh_import(statement, variable, setting):
    """What `statement` prints in a new Python that imports d2l_support.torch, with the
    environment variable `variable` set to `setting` (or unset when None)."""
    import os
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items() if k != variable}
    if setting:
        env[variable] = setting
    code = f'import os; from d2l_support import torch as d2l; print({statement})'
    return subprocess.run([sys.executable, '-c', code], env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.mark.parametrize('setting, expected', [('1', 1), ('2', 2), (None, None)])
def test_threads_follow_d2l_num_threads(setting, expected):
    import os
    out = _printed_by_a_fresh_import('d2l.torch.get_num_threads()', 'D2L_NUM_THREADS', setting)
    assert int(out) == (expected or len(os.sched_getaffinity(0)))


@pytest.mark.parametrize('setting', [None, '50'])
def test_openmp_spin_is_left_to_the_user(setting):
    # A fit alone is faster with libgomp's own (long) spin; a build shares CPUs by thread counts.
    assert _printed_by_a_fresh_import('os.environ.get("GOMP_SPINCOUNT")', 'GOMP_SPINCOUNT',
                                      setting) == str(setting)


# ---------------------------------------------------------------- modern recurrent layers
import rnn_numpy_reference as ref  # noqa: E402  (tests/support is on sys.path)


def _inputs(seed=0, steps=5, batch=3, n=7):
    return torch.from_numpy(np.random.default_rng(seed).normal(size=(steps, batch, n))).float()


def _np_params(layer, names, scale=30):
    """Give the scratch layer larger random weights (sigma 0.01 would make every gate ~0.5) and
    return them as numpy arrays."""
    with torch.no_grad():
        for name in names:
            getattr(layer, name).copy_(torch.randn_like(getattr(layer, name)) * 0.01 * scale)
    return {name: getattr(layer, name).detach().double().numpy() for name in names}


def test_lstm_scratch_equals_numpy_gates():
    torch.manual_seed(0)
    lstm = d2l.LSTMScratch(num_inputs=7, num_hiddens=4)
    p = _np_params(lstm, ref.LSTM_NAMES)
    X = _inputs()
    outputs, (H, C) = lstm(X)
    want, want_H, want_C = ref.lstm(p, X.double().numpy())
    assert outputs.shape == (5, 3, 4) and H.shape == C.shape == (3, 4)
    np.testing.assert_allclose(outputs.detach().numpy(), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(C.detach().numpy(), want_C, rtol=1e-5, atol=1e-6)
    # carrying the state: two halves equal one run
    first, state = lstm(X[:2])
    second, (H2, C2) = lstm(X[2:], state)
    torch.testing.assert_close(torch.cat([first, second]), outputs)
    torch.testing.assert_close(C2, C)


def test_gru_scratch_equals_numpy_gates():
    torch.manual_seed(0)
    gru = d2l.GRUScratch(num_inputs=7, num_hiddens=4)
    p = _np_params(gru, ref.GRU_NAMES)
    X = _inputs()
    outputs, H = gru(X)
    want, want_H = ref.gru(p, X.double().numpy())
    assert outputs.shape == (5, 3, 4) and H.shape == (3, 4)
    np.testing.assert_allclose(outputs.detach().numpy(), want, rtol=1e-5, atol=1e-6)
    first, state = gru(X[:2])
    second, H2 = gru(X[2:], state)
    torch.testing.assert_close(torch.cat([first, second]), outputs)
    torch.testing.assert_close(H2, H)


@pytest.mark.parametrize('cls, gates', [(d2l.LSTM, 4), (d2l.GRU, 3)])
def test_concise_lstm_gru_shapes_states_and_carry(cls, gates):
    layer = cls(num_inputs=7, num_hiddens=4, num_layers=2)
    shapes = {n: tuple(p.shape) for n, p in layer.rnn.named_parameters()}
    assert shapes['weight_ih_l0'] == (gates * 4, 7) and shapes['weight_ih_l1'] == (gates * 4, 4)
    assert shapes['weight_hh_l1'] == (gates * 4, 4) and shapes['bias_ih_l1'] == (gates * 4,)
    X = _inputs()
    outputs, state = layer(X)
    assert outputs.shape == (5, 3, 4)
    if cls is d2l.LSTM:
        H, C = state  # a pair
        assert H.shape == C.shape == (2, 3, 4)
    else:
        assert state.shape == (2, 3, 4)
    first, mid = layer(X[:2])
    second, last = layer(X[2:], mid)
    torch.testing.assert_close(torch.cat([first, second]), outputs)


@pytest.mark.parametrize('cls', [d2l.LSTM, d2l.GRU])
def test_dropout_between_layers_in_training_only(cls):
    torch.manual_seed(0)
    layer = cls(num_inputs=7, num_hiddens=16, num_layers=2, dropout=0.5)
    X = _inputs()
    layer.train()
    a, b = layer(X)[0], layer(X)[0]
    assert not torch.allclose(a, b)
    layer.eval()
    c, d = layer(X)[0], layer(X)[0]
    assert torch.equal(c, d) and not torch.allclose(a, c)


def test_stacked_rnn_scratch_feeds_layers_and_keeps_states():
    torch.manual_seed(0)
    deep = d2l.StackedRNNScratch(num_inputs=7, num_hiddens=4, num_layers=3, sigma=0.5)
    X = _inputs()
    outputs, Hs = deep(X)
    assert outputs.shape == (5, 3, 4) and len(Hs) == 3
    assert all(H.shape == (3, 4) for H in Hs)
    # the same as running the layers one after the other in NumPy
    Y = X.double().numpy()
    for layer, H in zip(deep.rnns, Hs):
        Y, want_H = ref.rnn({n: getattr(layer, n).detach().double().numpy()
                             for n in ('W_xh', 'W_hh', 'b_h')}, Y)
        np.testing.assert_allclose(H.detach().numpy(), want_H, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(outputs.detach().numpy(), Y, rtol=1e-5, atol=1e-6)
    first, mid = deep(X[:2])
    second, _ = deep(X[2:], mid)
    torch.testing.assert_close(torch.cat([first, second]), outputs)


def test_bi_rnn_scratch_concatenates_both_directions():
    torch.manual_seed(0)
    bi = d2l.BiRNNScratch(num_inputs=7, num_hiddens=4, sigma=0.5)
    assert bi.num_hiddens == 8
    X = _inputs()
    outputs, (f_H, b_H) = bi(X)
    assert outputs.shape == (5, 3, 8)
    p = {n: getattr(bi.f_rnn, n).detach().double().numpy() for n in ('W_xh', 'W_hh', 'b_h')}
    q = {n: getattr(bi.b_rnn, n).detach().double().numpy() for n in ('W_xh', 'W_hh', 'b_h')}
    fwd, _ = ref.rnn(p, X.double().numpy())
    bwd, _ = ref.rnn(q, X.double().numpy()[::-1])
    np.testing.assert_allclose(outputs.detach().numpy(), np.concatenate([fwd, bwd[::-1]], -1),
                               rtol=1e-5, atol=1e-6)
    # the first step's backward half has seen the whole sequence
    np.testing.assert_allclose(outputs[0, :, 4:].detach().numpy(), b_H.detach().numpy(),
                               rtol=1e-6)
    lm = d2l.RNNLMScratch(bi, vocab_size=28)
    assert lm.W_hq.shape == (8, 28)


MODERN = {
    'lstm_scratch': lambda v: d2l.RNNLMScratch(d2l.LSTMScratch(v, 16), v, lr=4),
    'lstm': lambda v: d2l.RNNLM(d2l.LSTM(v, 16), v, lr=4),
    'gru_scratch': lambda v: d2l.RNNLMScratch(d2l.GRUScratch(v, 16), v, lr=4),
    'gru': lambda v: d2l.RNNLM(d2l.GRU(v, 16), v, lr=4),
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
def test_fit_applies_dropout_in_training_only_and_predict_never(data):
    seen = []

    class RecordingGRU(d2l.GRU):
        def forward(self, inputs, H=None):
            seen.append((self.training, torch.is_grad_enabled()))
            return super().forward(inputs, H)

    rnn = RecordingGRU(num_inputs=len(data.vocab), num_hiddens=HIDDENS, num_layers=2,
                       dropout=0.5)
    model = d2l.RNNLM(rnn, vocab_size=len(data.vocab), lr=1)
    d2l.Trainer(max_epochs=1, gradient_clip_val=1).fit(model, data)
    assert (True, True) in seen and (False, False) in seen  # training steps, validation
    assert (True, False) not in seen and (False, True) not in seen
    model.train()  # as right after a training step
    text = model.predict('it has', 10, data.vocab)
    assert text == model.predict('it has', 10, data.vocab) and model.training
