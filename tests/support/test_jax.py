"""Tests of d2l_support.jax (run in the JAX environment):

    D2L_DATA_DIR=/work/shared/data .venv/jax/bin/python -m pytest tests/support/test_jax.py
"""
import jax
import numpy as np
import optax
from flax import linen as nn
import pytest
from jax import numpy as jnp

from d2l_support import jax as d2l

NUM_STEPS, BATCH, HIDDENS = 8, 16, 12


@pytest.fixture(scope='module')
def data():
    return d2l.TimeMachine(batch_size=BATCH, num_steps=NUM_STEPS, num_train=320, num_val=96)


def scratch_lm(vocab_size, hiddens=HIDDENS, lr=1):
    return d2l.RNNLMScratch(rnn=d2l.RNNScratch(num_inputs=vocab_size, num_hiddens=hiddens),
                            vocab_size=vocab_size, lr=lr)


def concise_lm(vocab_size, hiddens=HIDDENS, lr=1):
    return d2l.RNNLM(rnn=d2l.RNN(num_hiddens=hiddens), vocab_size=vocab_size, lr=lr)


def shapes(tree):
    return jax.tree.map(lambda a: a.shape, tree)


def fit(model, data, epochs, clip=1, seed=0):
    d2l.set_seed(seed)
    trainer = d2l.Trainer(max_epochs=epochs, gradient_clip_val=clip, num_gpus=1)
    trainer.fit(model, data)
    return trainer


# ---------------------------------------------------------------- data
def test_time_machine_arrays(data):
    assert data.X.shape == data.Y.shape == (320 + 96, NUM_STEPS)
    assert isinstance(data.X, jax.Array) and data.X.dtype == data.Y.dtype == jnp.int32
    assert len(data.vocab) == 28 and len(data.corpus) > 100_000
    assert (data.X[:, 1:] == data.Y[:, :-1]).all()
    assert data.X[5].tolist() == data.corpus[5:5 + NUM_STEPS]
    assert data.Y[5].tolist() == data.corpus[6:6 + NUM_STEPS]


def test_train_loader_shuffles_every_example_once(data):
    batches = list(data.train_dataloader())
    assert len(batches) == 320 // BATCH
    for X, Y in batches:
        assert isinstance(X, jax.Array) and X.dtype == jnp.int32
        assert X.shape == Y.shape == (BATCH, NUM_STEPS)
        assert (X[:, 1:] == Y[:, :-1]).all()
    X = np.concatenate([np.asarray(X) for X, _ in batches])
    assert not np.array_equal(X, data.X[:320])
    assert sorted(map(tuple, X.tolist())) == sorted(map(tuple, data.X[:320].tolist()))
    first_again = next(iter(data.train_dataloader()))[0]
    assert not np.array_equal(first_again, batches[0][0])


def test_validation_loader_is_ordered(data):
    batches = list(data.val_dataloader())
    assert len(batches) == 96 // BATCH
    assert np.array_equal(np.concatenate([X for X, _ in batches]), data.X[320:416])


# ---------------------------------------------------------------- models
def test_rnn_scratch_computes_the_recurrence():
    rnn = d2l.RNNScratch(num_inputs=5, num_hiddens=HIDDENS)
    inputs = jax.random.normal(jax.random.PRNGKey(1), (NUM_STEPS, 3, 5))
    params = rnn.get_init_params(inputs, key=jax.random.PRNGKey(2))
    assert shapes(params) == {'W_xh': (5, HIDDENS), 'W_hh': (HIDDENS, HIDDENS), 'b_h': (HIDDENS,)}
    assert 0.005 < float(jnp.std(params['W_xh'])) < 0.02  # sigma=0.01
    outputs, state = rnn.apply({'params': params}, inputs)
    assert len(outputs) == NUM_STEPS and state.shape == (3, HIDDENS)
    P = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    H = np.zeros((3, HIDDENS))
    for X, out in zip(np.asarray(inputs, dtype=np.float64), outputs):
        H = np.tanh(X @ P['W_xh'] + H @ P['W_hh'] + P['b_h'])
        np.testing.assert_allclose(out, H, rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(state, outputs[-1])


@pytest.mark.parametrize('make', [scratch_lm, concise_lm])
def test_rnn_state_carries_over(make):
    rnn = make(28).rnn
    inputs = jax.random.normal(jax.random.PRNGKey(3), (NUM_STEPS, 4, 28))
    params = rnn.get_init_params(inputs)
    whole, H = rnn.apply({'params': params}, inputs)
    first, H1 = rnn.apply({'params': params}, inputs[:3])
    second, H2 = rnn.apply({'params': params}, inputs[3:], H1)
    assert jnp.stack(whole).shape == (NUM_STEPS, 4, HIDDENS)
    np.testing.assert_allclose(jnp.stack(whole)[3:], jnp.stack(second), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(H, H2, rtol=1e-5, atol=1e-6)


def test_concise_rnn_is_flax_simple_cell():
    rnn = d2l.RNN(num_hiddens=HIDDENS)
    inputs = jnp.ones((NUM_STEPS, 4, 28))
    params = rnn.get_init_params(inputs)
    assert shapes(params) == {'rnn': {'cell': {'i': {'kernel': (28, HIDDENS), 'bias': (HIDDENS,)},
                                               'h': {'kernel': (HIDDENS, HIDDENS)}}}}
    outputs, H = rnn.apply({'params': params}, inputs)
    assert outputs.shape == (NUM_STEPS, 4, HIDDENS) and outputs.dtype == jnp.float32
    np.testing.assert_array_equal(outputs[-1], H)


@pytest.mark.parametrize('make', [scratch_lm, concise_lm])
def test_recurrent_layers_take_the_training_flag(make):
    """Later models call `self.rnn(embs, state, self.training)`; a single layer (no dropout)
    gives the same outputs and state whichever the flag."""
    rnn = make(28).rnn
    inputs = jax.random.normal(jax.random.PRNGKey(4), (NUM_STEPS, 2, 28))
    params = rnn.get_init_params(inputs)
    plain = rnn.apply({'params': params}, inputs)
    for training in (True, False):
        flagged = rnn.apply({'params': params}, inputs, None, training)
        jax.tree.map(np.testing.assert_array_equal, plain, flagged)


class SourceTextRNNLM(d2l.RNNLMScratch):
    """The concise section's JAX language model as its source text writes it (the `training`
    field passed to the RNN positionally, after the state)."""
    training: bool = True

    def setup(self):
        self.linear = nn.Dense(self.vocab_size)

    def output_layer(self, hiddens):
        return d2l.swapaxes(self.linear(hiddens), 0, 1)

    def forward(self, X, state=None):
        embs = self.one_hot(X)
        rnn_outputs, _ = self.rnn(embs, state, self.training)
        return self.output_layer(rnn_outputs)


def test_source_text_rnnlm_trains_and_predicts(data):
    model = SourceTextRNNLM(rnn=d2l.RNN(num_hiddens=HIDDENS), vocab_size=len(data.vocab), lr=1)
    trainer = fit(model, data, epochs=2)
    ppl = [y for _, y in model.board.data['train_ppl']]
    assert ppl[-1] < ppl[0]  # it learns
    text = model.predict('it has', 10, data.vocab, trainer.state.params)
    assert text.startswith('it has') and len(text) == len('it has') + 10


def test_one_hot(data):
    model = scratch_lm(len(data.vocab))
    X = data.X[:BATCH]
    embs = model.one_hot(X)
    assert embs.shape == (NUM_STEPS, BATCH, 28) and embs.dtype == jnp.float32
    assert (embs.sum(-1) == 1).all()
    np.testing.assert_array_equal(embs.argmax(-1), X.T)


@pytest.mark.parametrize('make', [scratch_lm, concise_lm])
def test_language_model_shapes(data, make):
    model = make(len(data.vocab))
    X = data.X[:BATCH]
    params = model.get_init_params(X)
    if make is scratch_lm:
        assert shapes(params)['W_hq'] == (HIDDENS, 28) and shapes(params)['b_q'] == (28,)
        assert set(params['rnn']) == {'W_xh', 'W_hh', 'b_h'}
    else:
        assert shapes(params)['linear'] == {'kernel': (HIDDENS, 28), 'bias': (28,)}
    Y_hat = model.apply({'params': params}, X)
    assert Y_hat.shape == (BATCH, NUM_STEPS, 28) and Y_hat.dtype == jnp.float32
    loss = model.loss(Y_hat, data.Y[:BATCH])
    # Random small weights: the loss is near that of a uniform guess over 28 characters.
    assert abs(float(loss) - np.log(28)) < 0.5
    per_token = model.loss(Y_hat, data.Y[:BATCH], averaged=False)
    assert per_token.shape == (BATCH * NUM_STEPS,)
    np.testing.assert_allclose(per_token.mean(), loss, rtol=1e-6)
    assert 0 <= float(model.accuracy(Y_hat, data.Y[:BATCH])) <= 1


@pytest.mark.parametrize('make', [scratch_lm, concise_lm])
def test_predict_is_greedy_decoding_of_the_model(data, make):
    model = make(len(data.vocab))
    params = model.get_init_params(data.X[:1], key=jax.random.PRNGKey(7))
    # Larger weights than at initialization keep the logits apart, so argmax has no near-ties.
    params = jax.tree.map(lambda p: 20 * p, params)
    text = model.predict('it has', 20, data.vocab, params)
    assert text.startswith('it has') and len(text) == len('it has') + 20
    # Running the model once over the whole text predicts the same characters.
    X = jnp.array([data.vocab[list(text[:-1])]])
    logits = model.apply({'params': params}, X)[0]
    logits = logits.at[:, data.vocab.unk].set(-jnp.inf)  # predict never emits <unk>
    greedy = data.vocab.to_tokens(logits.argmax(-1)[len('it has') - 1:])
    assert ''.join(greedy) == text[len('it has'):]
    with pytest.raises(ValueError, match='params'):
        model.predict('it has', 5, data.vocab)


# ---------------------------------------------------------------- training
def test_clip_gradients_bounds_the_global_norm():
    trainer = d2l.Trainer(max_epochs=1, gradient_clip_val=1)
    keys = jax.random.split(jax.random.PRNGKey(0), 2)
    grads = {'a': 10 * jax.random.normal(keys[0], (5, 7)), 'b': {'c': jax.random.normal(keys[1], (3,))}}
    assert float(optax.tree.norm(grads)) > 5
    clipped = trainer.clip_gradients(1, grads)
    assert float(optax.tree.norm(clipped)) == pytest.approx(1, rel=1e-5)
    np.testing.assert_allclose(clipped['a'] / grads['a'], clipped['b']['c'][0] / grads['b']['c'][0],
                               rtol=1e-5)  # one common scale: directions are kept
    small = jax.tree.map(lambda g: g / 100, clipped)
    jax.tree.map(np.testing.assert_array_equal, trainer.clip_gradients(1, small), small)


@pytest.mark.parametrize('clip', [0, 1e-3])
def test_training_step_clips(data, clip):
    """One SGD step (lr=1) moves the parameters by exactly the clipped gradient."""
    model = concise_lm(len(data.vocab))
    trainer = d2l.Trainer(max_epochs=1, gradient_clip_val=clip)
    trainer.prepare_data(data)
    trainer.prepare_model(model)
    before, batch = trainer.state.params, trainer.prepare_batch(next(iter(data.train_dataloader())))
    (_, values), grads = jax.jit(jax.value_and_grad(model.training_step, has_aux=True))(before,
                                                                                         batch)
    state, reported = trainer.train_step(trainer.state, batch)
    step = optax.tree.norm(jax.tree.map(lambda a, b: a - b, before, state.params))
    grad_norm = float(optax.tree.norm(grads))
    assert grad_norm > 1e-2
    assert float(step) == pytest.approx(clip or grad_norm, rel=1e-3)
    assert float(reported['ppl']) == pytest.approx(float(values['ppl']), rel=1e-5)


def test_fit_plots_perplexity_and_summarizes(data):
    model = scratch_lm(len(data.vocab))
    trainer = fit(model, data, epochs=2)
    board = model.board.data
    assert set(board) == {'train_ppl', 'val_ppl'}
    assert [x for x, _ in board['train_ppl']] == pytest.approx([0.5, 1, 1.5, 2], abs=0.1)
    assert [x for x, _ in board['val_ppl']] == [1, 2]
    assert all(1 < y < 40 for _, y in board['train_ppl'] + board['val_ppl'])
    info = trainer.summary()
    assert info['framework'] == 'jax'
    assert info['device'] == ('gpu:0' if d2l.num_gpus() else 'cpu')
    assert info['model'] == 'RNNLMScratch' and info['epochs'] == 2
    assert info['val_ppl'] == board['val_ppl'][-1][1]
    leaf = jax.tree.leaves(trainer.state.params)[0]
    assert leaf.devices() == {trainer.device}


def test_same_seed_same_fit(data):
    runs = []
    for _ in range(2):
        model = concise_lm(len(data.vocab))
        trainer = fit(model, data, epochs=1, seed=3)
        runs.append((model.board.data, trainer.state.params))
    assert runs[0][0] == runs[1][0]
    jax.tree.map(np.testing.assert_array_equal, runs[0][1], runs[1][1])
    other = concise_lm(len(data.vocab))
    fit(other, data, epochs=1, seed=4)
    assert other.board.data != runs[0][0]


def test_seed_and_keys():
    key = d2l.set_seed(5)
    first = [d2l.get_key() for _ in range(2)]
    assert not np.array_equal(first[0], first[1])
    assert np.array_equal(key, d2l.set_seed(5))
    np.testing.assert_array_equal(first, [d2l.get_key() for _ in range(2)])


def test_devices_and_version():
    assert d2l.cpu().platform == 'cpu'
    assert d2l.try_gpu().platform == ('gpu' if d2l.num_gpus() else 'cpu')
    assert len(d2l.try_all_gpus()) == max(1, d2l.num_gpus())
    assert d2l.framework_version().startswith(f'jax {jax.__version__}')


@pytest.mark.slow
def test_section_training_reaches_perplexity_below_8():
    """The section's settings: both models end below 8 and within 0.6 of each other."""
    data = d2l.TimeMachine(batch_size=1024, num_steps=32)
    vocab = data.vocab
    final = {}
    for name, model in [
            ('scratch', d2l.RNNLMScratch(
                rnn=d2l.RNNScratch(num_inputs=len(vocab), num_hiddens=32),
                vocab_size=len(vocab), lr=1)),
            ('concise', d2l.RNNLM(rnn=d2l.RNN(num_hiddens=32), vocab_size=len(vocab), lr=1))]:
        d2l.set_seed(0)
        trainer = d2l.Trainer(max_epochs=100, gradient_clip_val=1, num_gpus=1)
        trainer.fit(model, data)
        final[name] = model.board.last('val_ppl')
        text = model.predict('it has', 20, vocab, trainer.state.params)
        assert text.startswith('it has') and len(text) == 26
    print(final)
    assert final['scratch'] < 8.0 and final['concise'] < 8.0
    assert abs(final['scratch'] - final['concise']) < 0.6


def test_a_step_compiles_once_per_batch_shape(data):
    # 320 examples in batches of 16: every training batch has the same shape, so the second
    # step must reuse the first one's program (a Python step counter used to force a recompile).
    trainer = fit(concise_lm(len(data.vocab)), data, epochs=2)
    assert trainer.train_step._cache_size() == 1
    assert trainer.val_step._cache_size() == 1


def test_compiled_programs_are_kept_on_disk(tmp_path):
    import os
    import subprocess
    import sys
    code = ('from d2l_support import jax as d2l; import jax; '
            'print(jax.config.jax_compilation_cache_dir); '
            'd2l.set_seed(0); '
            'data = d2l.TimeMachine(batch_size=64, num_steps=8, num_train=256, num_val=64); '
            'model = d2l.RNNLM(rnn=d2l.RNN(num_hiddens=8), vocab_size=len(data.vocab), lr=1); '
            'd2l.Trainer(max_epochs=1, gradient_clip_val=1).fit(model, data)')
    env = dict(os.environ, D2L_JAX_CACHE=str(tmp_path / 'cache'))
    env.pop('JAX_COMPILATION_CACHE_DIR', None)
    out = subprocess.run([sys.executable, '-c', code], env=env, capture_output=True, text=True,
                         check=True).stdout
    assert out.split()[0] == str(tmp_path / 'cache')
    assert any('train_step' in p.name for p in (tmp_path / 'cache').iterdir())
    env['D2L_JAX_CACHE'] = 'off'
    out = subprocess.run([sys.executable, '-c', code.split('; d2l.set_seed')[0]], env=env,
                         capture_output=True, text=True, check=True).stdout
    assert out.split()[0] == 'None'


# ---------------------------------------------------------------- modern recurrent layers
import rnn_numpy_reference as ref  # noqa: E402  (tests/support is on sys.path)


def _inputs(seed=0, steps=5, batch=3, n=7):
    return jnp.asarray(np.random.default_rng(seed).normal(size=(steps, batch, n)), jnp.float32)


def _f64(tree):
    return jax.tree.map(lambda a: np.asarray(a, np.float64), tree)


def _bigger(params, scale=30):
    """Larger random weights than sigma 0.01 (which would make every gate ~0.5)."""
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.PRNGKey(3), len(leaves))
    return jax.tree.unflatten(tree, [0.01 * scale * jax.random.normal(k, a.shape)
                                     for k, a in zip(keys, leaves)])


def _cat(outputs):
    return np.asarray(jnp.stack(outputs) if isinstance(outputs, list) else outputs)


def test_lstm_scratch_equals_numpy_gates():
    lstm = d2l.LSTMScratch(num_inputs=7, num_hiddens=4)
    X = _inputs()
    params = _bigger(lstm.get_init_params(X))
    assert sorted(params) == sorted(ref.LSTM_NAMES)
    outputs, (H, C) = lstm.apply({'params': params}, X, None, True)
    want, want_H, want_C = ref.lstm(_f64(params), np.asarray(X, np.float64))
    assert len(outputs) == 5 and H.shape == C.shape == (3, 4)
    np.testing.assert_allclose(_cat(outputs), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(C, want_C, rtol=1e-5, atol=1e-6)
    first, state = lstm.apply({'params': params}, X[:2])
    second, (H2, C2) = lstm.apply({'params': params}, X[2:], state)
    np.testing.assert_allclose(_cat(first + second), _cat(outputs), rtol=1e-6)
    np.testing.assert_allclose(C2, C, rtol=1e-6)


def test_gru_scratch_equals_numpy_gates():
    gru = d2l.GRUScratch(num_inputs=7, num_hiddens=4)
    X = _inputs()
    params = _bigger(gru.get_init_params(X))
    assert sorted(params) == sorted(ref.GRU_NAMES)
    outputs, H = gru.apply({'params': params}, X, None, False)
    want, want_H = ref.gru(_f64(params), np.asarray(X, np.float64))
    assert len(outputs) == 5 and H.shape == (3, 4)
    np.testing.assert_allclose(_cat(outputs), want, rtol=1e-5, atol=1e-6)
    first, state = gru.apply({'params': params}, X[:2])
    second, H2 = gru.apply({'params': params}, X[2:], state)
    np.testing.assert_allclose(_cat(first + second), _cat(outputs), rtol=1e-6)
    np.testing.assert_allclose(H2, H, rtol=1e-6)


@pytest.mark.parametrize('cls', [d2l.LSTM, d2l.GRU])
def test_concise_lstm_gru_shapes_states_and_carry(cls):
    layer = cls(num_hiddens=4, num_layers=2)
    X = _inputs()
    params = layer.get_init_params(X)
    cells = shapes(params)
    assert set(cells) == {'rnns_0', 'rnns_1'}
    gates = ('ii', 'if', 'ig', 'io') if cls is d2l.LSTM else ('ir', 'iz', 'in')
    for g in gates:  # input kernels: from the inputs, then from the layer below
        assert cells['rnns_0']['cell'][g]['kernel'] == (7, 4)
        assert cells['rnns_1']['cell'][g]['kernel'] == (4, 4)
    outputs, state = layer.apply({'params': params}, X)
    assert outputs.shape == (5, 3, 4)
    if cls is d2l.LSTM:
        H, C = state  # a pair
        assert H.shape == C.shape == (2, 3, 4)
        np.testing.assert_allclose(outputs[-1], H[-1], rtol=1e-6)
    else:
        assert state.shape == (2, 3, 4)
        np.testing.assert_allclose(outputs[-1], state[-1], rtol=1e-6)
    first, mid = layer.apply({'params': params}, X[:2])
    second, _ = layer.apply({'params': params}, X[2:], mid)
    np.testing.assert_allclose(jnp.concatenate([first, second]), outputs, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('cls', [d2l.LSTM, d2l.GRU])
def test_dropout_between_layers_in_training_only(cls):
    layer = cls(num_hiddens=16, num_layers=2, dropout=0.5)
    X = _inputs()
    params = {'params': layer.get_init_params(X)}
    a = layer.apply(params, X, None, True, rngs={'dropout': jax.random.PRNGKey(1)})[0]
    b = layer.apply(params, X, None, True, rngs={'dropout': jax.random.PRNGKey(2)})[0]
    assert not np.allclose(a, b)
    c = layer.apply(params, X, None, False)[0]
    d = layer.apply(params, X)[0]
    np.testing.assert_array_equal(c, d)
    assert not np.allclose(a, c)
    with pytest.raises(Exception, match='dropout'):  # training needs a 'dropout' rng
        layer.apply(params, X, None, True)


def test_stacked_rnn_scratch_feeds_layers_and_keeps_states():
    deep = d2l.StackedRNNScratch(num_inputs=7, num_hiddens=4, num_layers=3, sigma=0.5)
    X = _inputs()
    params = deep.get_init_params(X)
    assert set(params) == {'rnns_0', 'rnns_1', 'rnns_2'}
    outputs, Hs = deep.apply({'params': params}, X, None, True)
    assert _cat(outputs).shape == (5, 3, 4) and len(Hs) == 3
    Y = np.asarray(X, np.float64)
    for i, H in enumerate(Hs):
        Y, want_H = ref.rnn(_f64(params[f'rnns_{i}']), Y)
        np.testing.assert_allclose(H, want_H, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_cat(outputs), Y, rtol=1e-5, atol=1e-6)
    first, mid = deep.apply({'params': params}, X[:2])
    second, _ = deep.apply({'params': params}, X[2:], mid)
    np.testing.assert_allclose(_cat(list(first) + list(second)), _cat(outputs), rtol=1e-6)


def test_bi_rnn_scratch_concatenates_both_directions():
    bi = d2l.BiRNNScratch(num_inputs=7, num_hiddens=4, sigma=0.5)
    assert bi.num_hiddens == 8 and bi.clone().num_hiddens == 8
    X = _inputs()
    params = bi.get_init_params(X)
    assert shapes(params)['f_rnn']['W_hh'] == shapes(params)['b_rnn']['W_hh'] == (4, 4)
    outputs, (f_H, b_H) = bi.apply({'params': params}, X, None, False)
    x = np.asarray(X, np.float64)
    fwd, _ = ref.rnn(_f64(params['f_rnn']), x)
    bwd, _ = ref.rnn(_f64(params['b_rnn']), x[::-1])
    np.testing.assert_allclose(_cat(outputs), np.concatenate([fwd, bwd[::-1]], -1),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(outputs[0][:, 4:], b_H, rtol=1e-6)
    lm = d2l.RNNLMScratch(rnn=d2l.BiRNNScratch(28, 4), vocab_size=28)
    assert shapes(lm.get_init_params(jnp.zeros((2, 5), jnp.int32)))['W_hq'] == (8, 28)


MODERN = {
    'lstm_scratch': lambda v: d2l.RNNLMScratch(d2l.LSTMScratch(v, 16), v, lr=4),
    'lstm': lambda v: d2l.RNNLM(d2l.LSTM(16), v, lr=4),
    'gru_scratch': lambda v: d2l.RNNLMScratch(d2l.GRUScratch(v, 16), v, lr=4),
    'gru': lambda v: d2l.RNNLM(d2l.GRU(16), v, lr=4),
}


@pytest.mark.parametrize('name', MODERN)
def test_modern_language_models_learn_and_predict(data, name):
    model = MODERN[name](len(data.vocab))
    trainer = fit(model, data, epochs=2)
    ppl = [y for _, y in model.board.data['train_ppl']]
    assert ppl[-1] < ppl[0]
    text = model.predict('it has', 20, data.vocab, trainer.state.params)
    assert text.startswith('it has') and len(text) == 26


# ---------------------------------------------------------------- dropout in fits
SEEN_TRAINING = []  # the `training` flag each traced call of RecordingGRU was given


class RecordingGRU(d2l.GRU):
    def forward(self, inputs, H=None, training=False):
        SEEN_TRAINING.append(training)  # runs while jit traces a step
        return super().forward(inputs, H, training)


@pytest.mark.parametrize('dropout', [0.5, 0])
def test_fit_applies_dropout_in_training_steps_only(data, dropout):
    """The Trainer runs training steps with training=True and a new 'dropout' key per step,
    validation with training=False; a model without dropout gives the same loss every time."""
    SEEN_TRAINING.clear()
    rnn = RecordingGRU(num_hiddens=HIDDENS, num_layers=2, dropout=dropout)
    model = d2l.RNNLM(rnn=rnn, vocab_size=len(data.vocab), lr=1)
    trainer = fit(model, data, epochs=1)  # would fail without a 'dropout' rng when dropout > 0
    assert set(SEEN_TRAINING) == {True, False}
    batch = trainer.prepare_batch(next(iter(data.train_dataloader())))
    state = trainer.state
    now = trainer.train_step(state, batch)[1]['ppl']
    again = trainer.train_step(state, batch)[1]['ppl']
    next_step = trainer.train_step(state.replace(step=state.step + 1), batch)[1]['ppl']
    assert float(now) == float(again)  # the key depends on the step only: runs repeat
    assert (float(now) != float(next_step)) == (dropout > 0)
    val = trainer.val_step(state.params, batch)['ppl']
    assert float(val) == float(trainer.val_step(state.params, batch)['ppl'])
    assert (float(val) != float(now)) == (dropout > 0)
    text = model.predict('it has', 10, data.vocab, state.params)  # no dropout, no rng needed
    assert text == model.predict('it has', 10, data.vocab, state.params)


def test_source_text_rnnlm_with_dropout_trains_and_predicts(data):
    """The source text's RNNLM (training=True as its default) on a two-layer GRU with dropout:
    validation and prediction still run without dropout."""
    SEEN_TRAINING.clear()
    rnn = RecordingGRU(num_hiddens=HIDDENS, num_layers=2, dropout=0.5)
    model = SourceTextRNNLM(rnn=rnn, vocab_size=len(data.vocab), lr=1)
    trainer = fit(model, data, epochs=2)
    assert set(SEEN_TRAINING) == {True, False}
    params = trainer.state.params
    assert model.predict('it has', 10, data.vocab, params) == model.predict(
        'it has', 10, data.vocab, params)
