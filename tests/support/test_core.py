"""Tests of d2l_support.core, the framework-neutral layer (run in the book environment).

Data tests use a real HTTP server on the loopback interface: the network is replaced at the HTTP
boundary only, the file system is real.
"""
import hashlib
import http.server
import os
import shutil
import string
import threading
from pathlib import Path

import numpy as np
import pytest

from d2l_support import core

SHARED = Path(os.environ.get('D2L_DATA_DIR', Path(__file__).resolve().parents[3] / 'shared' / 'data'))
TEXT = SHARED / 'timemachine.txt'


@pytest.fixture(scope='module')
def raw_text():
    assert TEXT.exists(), f'{TEXT} is missing: set D2L_DATA_DIR to the folder holding timemachine.txt'
    return TEXT.read_text(encoding='utf-8')


class Pipeline(core.TimeMachineText):
    pass


# ---------------------------------------------------------------- vocabulary and text
def test_time_machine_characters(raw_text):
    corpus, vocab = Pipeline().build(raw_text)
    assert len(corpus) == 173428
    assert len(vocab) == 28
    assert vocab.idx_to_token == [' ', '<unk>'] + list(string.ascii_lowercase)
    assert vocab.to_tokens(corpus[:10]) == list(Pipeline()._preprocess(raw_text)[:10])


def test_preprocess_keeps_lowercase_letters_and_single_spaces():
    text = Pipeline()._preprocess("The Time-Traveller (for so it\n\nwill be 42) SAID")
    assert text == 'the time traveller for so it will be said'


def test_vocab_min_freq_reserved_and_unknown():
    tokens = ['b', 'a', 'a', 'c', 'c', 'c']
    vocab = core.Vocab(tokens, min_freq=2, reserved_tokens=['<pad>'])
    assert vocab.idx_to_token == ['<pad>', '<unk>', 'a', 'c']
    assert vocab['b'] == vocab.unk == 1
    assert vocab[['c', 'a', 'zzz']] == [3, 2, 1]
    assert vocab.to_tokens([3, 2]) == ['c', 'a']
    assert vocab.to_tokens(0) == '<pad>'
    assert vocab.token_freqs[0] == ('c', 3)


def test_vocab_accepts_lines_of_tokens_and_words(raw_text):
    words = core.tokenize(Pipeline()._preprocess(raw_text), 'word')
    vocab = core.Vocab([words[:100], words[100:200]])
    assert vocab['the'] != vocab.unk
    assert vocab.token_freqs[0][0] == 'the'
    with pytest.raises(ValueError, match='token must be'):
        core.tokenize('abc', 'sentence')


def test_sequence_arrays_are_shifted_windows(raw_text):
    pipe = Pipeline()
    corpus, _ = pipe.build(raw_text)
    X, Y = pipe.sequence_arrays(corpus, num_steps=5, count=100)
    assert X.shape == Y.shape == (100, 5)
    np.testing.assert_array_equal(X[:, 1:], Y[:, :-1])
    np.testing.assert_array_equal(X[3], corpus[3:8])
    with pytest.raises(ValueError, match='too few'):
        pipe.sequence_arrays(corpus[:10], num_steps=5, count=10)


# ---------------------------------------------------------------- minibatches
def test_array_loader_covers_every_example_once():
    X = np.arange(10)
    loader = core.ArrayLoader((X, X * 10), batch_size=4, shuffle=True)
    assert len(loader) == 3
    batches = list(loader)
    assert [len(b[0]) for b in batches] == [4, 4, 2]
    seen = np.concatenate([b[0] for b in batches])
    assert sorted(seen) == list(range(10))
    assert all((b[1] == b[0] * 10).all() for b in batches)


def test_array_loader_shuffle_follows_seed_and_validation_keeps_order():
    X = np.arange(50)
    core.seed_everything(3)
    first = np.concatenate([b[0] for b in core.ArrayLoader((X,), 8, shuffle=True)])
    core.seed_everything(3)
    again = np.concatenate([b[0] for b in core.ArrayLoader((X,), 8, shuffle=True)])
    np.testing.assert_array_equal(first, again)
    assert not (first == X).all()
    ordered = np.concatenate([b[0] for b in core.ArrayLoader((X,), 8, shuffle=False)])
    np.testing.assert_array_equal(ordered, X)


# ---------------------------------------------------------------- hyperparameters
def test_save_hyperparameters_records_arguments():
    class Model(core.HyperParameters):
        def __init__(self, a, b=2, *, secret=None, **extra):
            self.save_hyperparameters(ignore=['secret'])

    m = Model(1, lr=0.5, secret='x')
    assert (m.a, m.b, m.lr) == (1, 2, 0.5)
    assert not hasattr(m, 'secret')
    assert m.hparams == {'a': 1, 'b': 2, 'lr': 0.5}


def test_add_to_class_registers_method():
    class A:
        pass

    @core.add_to_class(A)
    def twice(self, x):
        return 2 * x

    assert A().twice(4) == 8


# ---------------------------------------------------------------- data download and cache
class _Server:
    """Serves one payload on 127.0.0.1; `cut` truncates the body to simulate a broken transfer."""

    def __init__(self, payload, cut=None):
        self.payload, self.cut, self.requests = payload, cut, 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests += 1
                self.send_response(200)
                self.send_header('Content-Length', str(len(outer.payload)))
                self.end_headers()
                body = outer.payload if outer.cut is None else outer.payload[:outer.cut]
                self.wfile.write(body)
                self.wfile.flush()
                if outer.cut is not None:
                    self.connection.close()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = f'http://127.0.0.1:{self.httpd.server_address[1]}/timemachine.txt'
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def _closed_port_url():
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    return f'http://127.0.0.1:{port}/timemachine.txt'


def _file(url):
    return core.DataFile('timemachine.txt', core.TIME_MACHINE.sha1, url=url)


def test_download_fetches_verifies_and_caches(tmp_path):
    server = _Server(TEXT.read_bytes())
    try:
        path = core.download(_file(server.url), root=tmp_path)
        assert path == tmp_path / 'timemachine.txt'
        assert hashlib.sha1(path.read_bytes()).hexdigest() == core.TIME_MACHINE.sha1
        core.download(_file(server.url), root=tmp_path)
        assert server.requests == 1, 'a verified cached copy must not be downloaded again'
    finally:
        server.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ['timemachine.txt']


def test_data_dir_from_environment(tmp_path, monkeypatch):
    shutil.copy(TEXT, tmp_path / 'timemachine.txt')
    monkeypatch.setenv('D2L_DATA_DIR', str(tmp_path))
    assert core.data_dir() == tmp_path
    assert core.download(_file(_closed_port_url())) == tmp_path / 'timemachine.txt'
    monkeypatch.delenv('D2L_DATA_DIR')
    assert core.data_dir() == core.DEFAULT_DATA_DIR


def test_offline_without_copy_names_url_file_and_remedy(tmp_path):
    url = _closed_port_url()
    with pytest.raises(core.DataError) as err:
        core.download(_file(url), root=tmp_path)
    message = str(err.value)
    assert url in message and 'timemachine.txt' in message and 'D2L_DATA_DIR' in message
    assert core.TIME_MACHINE.sha1 in message
    assert list(tmp_path.iterdir()) == []


def test_corrupt_copy_is_never_used_offline(tmp_path):
    bad = tmp_path / 'timemachine.txt'
    bad.write_text('not the book')
    with pytest.raises(core.DataError, match='will not be used'):
        core.download(_file(_closed_port_url()), root=tmp_path)


def test_corrupt_copy_is_replaced_when_network_allows(tmp_path):
    (tmp_path / 'timemachine.txt').write_text('not the book')
    server = _Server(TEXT.read_bytes())
    try:
        path = core.download(_file(server.url), root=tmp_path)
    finally:
        server.close()
    assert hashlib.sha1(path.read_bytes()).hexdigest() == core.TIME_MACHINE.sha1


def test_wrong_content_from_server_is_not_saved(tmp_path):
    server = _Server(b'an impostor text')
    try:
        with pytest.raises(core.DataError, match='nothing was saved'):
            core.download(_file(server.url), root=tmp_path)
    finally:
        server.close()
    assert list(tmp_path.iterdir()) == []


def test_interrupted_download_leaves_no_file(tmp_path):
    payload = TEXT.read_bytes()
    server = _Server(payload, cut=len(payload) // 3)
    try:
        with pytest.raises(core.DataError):
            core.download(_file(server.url), root=tmp_path)
    finally:
        server.close()
    assert list(tmp_path.iterdir()) == []


def test_read_only_data_dir_with_valid_copy_works(tmp_path):
    shutil.copy(TEXT, tmp_path / 'timemachine.txt')
    tmp_path.chmod(0o555)
    try:
        assert core.download(_file(_closed_port_url()), root=tmp_path).exists()
    finally:
        tmp_path.chmod(0o755)


# ---------------------------------------------------------------- progress board
def _fill(board, epochs=100, batches=10):
    for epoch in range(epochs):
        for b in range(batches):
            board.draw(epoch + (b + 1) / batches, 20 / (1 + epoch + b / batches), 'train_ppl',
                       every_n=batches / 2)
        board.draw(epoch + 1, 21 / (1 + epoch), 'val_ppl', every_n=1)


def test_board_averages_every_n_points():
    board = core.ProgressBoard(display=False)
    for i in range(6):
        board.draw(i, i, 'loss', every_n=3)
    assert board.data['loss'] == [(2.0, 1.0), (5.0, 4.0)]
    assert board.last('loss') == 4.0
    assert board.last('missing') is None


def test_board_figure_is_small_and_headless(tmp_path):
    board = core.ProgressBoard(xlabel='epoch', display=False)
    _fill(board)
    board.finish()
    assert len(board.data['train_ppl']) == 200 and len(board.data['val_ppl']) == 100
    png = board.render('png')
    assert png[:8] == b'\x89PNG\r\n\x1a\n'
    assert len(png) < 150_000
    svg = board.save(tmp_path / 'curve.svg').read_bytes()
    assert b'<svg' in svg and len(svg) < 150_000


def test_board_finish_flushes_partial_average():
    board = core.ProgressBoard(display=False)
    for i in range(4):
        board.draw(i, 2 * i, 'loss', every_n=3)
    board.finish()
    assert board.data['loss'] == [(2.0, 2.0), (3.0, 6.0)]


def test_board_switched_off_by_environment(monkeypatch):
    monkeypatch.setenv('D2L_BOARD', 'off')
    assert core.ProgressBoard().display is False
    monkeypatch.setenv('D2L_BOARD', 'on')
    assert core.ProgressBoard().display is True


# ---------------------------------------------------------------- decoding
def test_predict_appends_exactly_num_preds_tokens():
    vocab = core.Vocab(list('abc '))

    class Cycle(core.LanguageModelMixin):
        """Predicts 'a' after 'c' and 'c' otherwise; the state counts the tokens seen."""
        calls = 0

        def next_logits(self, indices, state, where):
            self.calls += 1
            logits = np.zeros(len(vocab))
            logits[vocab['a'] if indices[-1] == vocab['c'] else vocab['c']] = 1
            return logits, (state or 0) + len(indices)

    model = Cycle()
    out = model.predict('ab', 5, vocab)
    assert out == 'abcacac'
    assert model.calls == 5, 'one call for the prefix, then one per prediction but the last'
    with pytest.raises(ValueError):
        model.predict('', 3, vocab)


def test_predict_never_emits_unknown():
    vocab = core.Vocab(list('abc '))

    class LovesUnknown(core.LanguageModelMixin):
        def next_logits(self, indices, state, where):
            logits = np.zeros(len(vocab))
            logits[vocab.unk], logits[vocab['b']] = 5, 1
            return logits, state

    assert LovesUnknown().predict('a', 4, vocab) == 'abbbb'


def test_board_figure_is_updated_in_place():
    board = core.ProgressBoard(display=False)
    board.draw(1, 5, 'loss')
    fig = board.figure()
    board.draw(2, 3, 'loss')
    board.draw(2, 4, 'val')
    assert board.figure() is fig
    lines = {line.get_label(): list(line.get_ydata()) for line in fig.axes[0].get_lines()}
    assert lines == {'loss': [5.0, 3.0], 'val': [4.0]}


def test_live_drawing_waits_and_throttles(monkeypatch):
    shown = []
    monkeypatch.setattr(core, '_in_notebook', lambda: True)
    import time

    def show(self, record=None):
        shown.append(len(self.data['loss']))
        self._last_draw = time.monotonic()

    monkeypatch.setattr(core.ProgressBoard, '_show', show)
    board = core.ProgressBoard(min_interval=3600)
    for i in range(50):
        board.draw(i, i, 'loss')
    assert shown == [], 'nothing is drawn before min_interval has passed'
    board._last_draw -= 3600
    board.draw(50, 50, 'loss')
    board.draw(51, 51, 'loss')
    assert shown == [51]


class Scalar:
    """A framework scalar stand-in that counts how often it is turned into a float."""
    conversions = 0

    def __init__(self, value):
        self.value = value

    def __float__(self):
        Scalar.conversions += 1
        return float(self.value)


def test_board_converts_values_only_when_it_averages_them():
    Scalar.conversions = 0
    board = core.ProgressBoard(display=False)
    for i in range(3):
        board.draw(i, Scalar(i), 'loss', every_n=4)
    assert Scalar.conversions == 0 and 'loss' not in board.data
    board.draw(3, Scalar(3), 'loss', every_n=4)
    assert Scalar.conversions == 4
    assert board.data['loss'] == [(3.0, 1.5)]
    board.draw(4, Scalar(10), 'loss', every_n=4)
    board.finish()
    assert board.data['loss'][-1] == (4.0, 10.0)


def test_num_threads_from_environment(monkeypatch):
    monkeypatch.delenv('D2L_NUM_THREADS', raising=False)
    assert core.num_threads() == len(os.sched_getaffinity(0))
    monkeypatch.setenv('D2L_NUM_THREADS', '3')
    assert core.num_threads() == 3
    for bad in ('0', 'two', '-1'):
        monkeypatch.setenv('D2L_NUM_THREADS', bad)
        with pytest.raises(ValueError, match='D2L_NUM_THREADS'):
            core.num_threads()


class Steps(core.EagerSteps):
    """A model whose forward is the identity and whose loss is the mean, plotting into a list."""

    def __init__(self):
        self.plotted = []

    def __call__(self, X):
        return X

    def loss(self, y_hat, y):
        return float(np.mean(y_hat) - np.mean(y))

    def plot(self, key, value, train):
        self.plotted.append((key, value, train))


class Classifier(core.ClassifierSteps, Steps):
    def accuracy(self, y_hat, y):
        return float(np.mean(y_hat == y))


class LanguageModel(core.PerplexitySteps, Classifier):
    exp = staticmethod(np.exp)


def test_eager_steps_plot_the_loss_or_the_perplexity():
    batch = (np.array([3.0, 5.0]), np.array([1.0, 1.0]))
    model = Steps()
    assert model.training_step(batch) == 3.0
    model.validation_step(batch)
    assert model.plotted == [('loss', 3.0, True), ('loss', 3.0, False)]
    clf = Classifier()
    clf.validation_step((np.array([1.0, 5.0]), np.array([1.0, 1.0])))
    assert clf.plotted == [('loss', 2.0, False), ('acc', 0.5, False)]
    lm = LanguageModel()  # a Classifier, but it validates with perplexity only
    assert lm.training_step(batch) == 3.0
    lm.validation_step(batch)
    assert lm.plotted == [('ppl', pytest.approx(np.exp(3.0)), True),
                          ('ppl', pytest.approx(np.exp(3.0)), False)]


# ---------------------------------------------------------------- perplexity, splits, devices
def test_perplexity_points_are_exp_of_the_mean_loss():
    """Perplexity is exp of the mean cross-entropy: the board averages per-batch perplexities
    geometrically, which is not their arithmetic mean (that one is larger, by Jensen)."""
    losses = [0.5, 2.0, 3.5, 1.0]

    class Trainer:
        train_batch_idx, num_train_batches, epoch, num_val_batches = 0, 4, 0, 4

    class Model(core.PlotMixin):
        board = core.ProgressBoard(display=False)
        trainer = Trainer()

    model = Model()
    for i, l in enumerate(losses):
        Trainer.train_batch_idx = i + 1
        model.plot('ppl', np.exp(l), train=True)
        model.plot('loss', l, train=True)
    plotted_ppl = model.board.data['train_ppl'][-1][1]
    assert len(model.board.data['train_ppl']) == 2  # two points per epoch, two batches each
    assert plotted_ppl == pytest.approx(np.exp(np.mean(losses[2:])))
    assert plotted_ppl < np.mean(np.exp(losses[2:]))
    assert model.board.data['train_loss'][-1][1] == pytest.approx(np.mean(losses[2:]))
    with pytest.raises(ValueError, match='geometric'):
        model.board.draw(1, 1, 'x', mean='median')


class Windows(core.TimeMachineData, core.DataModuleBase):
    def __init__(self, corpus, **kwargs):
        self._corpus = corpus
        super().__init__(**kwargs)

    def _download(self):
        return self._corpus

    def get_tensorloader(self, arrays, train, indices):
        return [a[indices] for a in arrays]


def test_validation_windows_share_no_token_with_training_text():
    text = ''.join(chr(ord('a') + i % 26) for i in range(400))
    data = Windows(text, batch_size=4, num_steps=5, num_train=50, num_val=20)
    (Xt, Yt), (Xv, Yv) = data.train_dataloader(), data.val_dataloader()
    assert Xt.shape == Yt.shape == (50, 5) and Xv.shape == Yv.shape == (20, 5)
    assert data.X.shape == (70, 5) and data.val_start == 55
    corpus = np.asarray(data.corpus)
    # window i of either split reads corpus[start + i : start + i + 5] and predicts one further
    np.testing.assert_array_equal(Xt[7], corpus[7:12])
    np.testing.assert_array_equal(Xv[0], corpus[55:60])
    np.testing.assert_array_equal(Yv[0], corpus[56:61])
    last_training_token = 49 + 5  # the last label of the last training window
    assert data.val_start > last_training_token


def test_device_label_is_one_format():
    assert core.device_label('cpu') == core.device_label('CPU', 3) == 'cpu'
    assert core.device_label('gpu', 1) == 'gpu:1'
    assert core.device_label('cuda', 0) == 'gpu:0'
    with pytest.raises(ValueError, match='tpu'):
        core.device_label('tpu')


def test_every_fit_prints_its_device_note(capsys):
    class Trainer(core.TrainerBase):
        framework = 'fake'

        def fit_epoch(self):
            pass

    class Model(core.PlotMixin):
        board = core.ProgressBoard(display=False)

        def configure_optimizers(self):
            return None

    class Data:
        def train_dataloader(self):
            return [1]

        def val_dataloader(self):
            return None

    for num_gpus, note in ((0, 'fake: training on cpu\n'),
                           (1, 'fake: training on cpu (no GPU is available)\n')):
        Trainer(max_epochs=1, num_gpus=num_gpus).fit(Model(), Data())
        assert capsys.readouterr().out == note
    Trainer(max_epochs=1, num_gpus=1).fit(Model(), Data())  # said at every fit, not once
    assert capsys.readouterr().out.count('no GPU') == 1
