"""Framework-neutral parts of d2l_support, written once and shared by every framework module.

Nothing here imports a deep-learning framework: hyperparameter bookkeeping, data download and
cache, the vocabulary and text pipeline of The Time Machine, minibatch iteration over numpy
arrays, the progress board, and the pieces of Module/Trainer/language model whose logic does not
depend on the framework.
"""
from __future__ import annotations

import collections
import hashlib
import inspect
import io
import math
import os
import random
import re
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

__all__ = [
    'add_to_class', 'HyperParameters', 'DataError', 'data_dir', 'download', 'DataFile',
    'TIME_MACHINE', 'Vocab', 'tokenize', 'TimeMachineText', 'TimeMachineData', 'ArrayLoader', 'DataModuleBase',
    'ProgressBoard', 'PlotMixin', 'EagerSteps', 'ClassifierSteps', 'PerplexitySteps', 'TrainerBase', 'LanguageModelMixin', 'seed_everything',
    'num_threads', 'device_label',
]


# --------------------------------------------------------------------------------------------
# Hyperparameters
# --------------------------------------------------------------------------------------------
def add_to_class(Class):
    """Decorator registering the decorated function as a method of `Class` (defined later)."""
    def register(fn):
        setattr(Class, fn.__name__, fn)
        return fn
    return register


class HyperParameters:
    """Base class whose `save_hyperparameters` stores the caller's arguments as attributes."""

    def save_hyperparameters(self, ignore=()):
        frame = inspect.currentframe().f_back
        try:
            arg_info = inspect.getargvalues(frame)
            skip = set(ignore) | {'self'}
            self.hparams = {name: arg_info.locals[name] for name in arg_info.args
                            if name not in skip and not name.startswith('_')}
            for extra in (arg_info.varargs, arg_info.keywords):
                if extra and extra not in skip:
                    value = arg_info.locals[extra]
                    if isinstance(value, dict):
                        self.hparams.update(value)
        finally:
            del frame
        for name, value in self.hparams.items():
            setattr(self, name, value)


# --------------------------------------------------------------------------------------------
# Data files: download, verify, cache
# --------------------------------------------------------------------------------------------
DATA_URL = 'http://d2l-data.s3-accelerate.amazonaws.com/'
DEFAULT_DATA_DIR = Path('~/.cache/d2l_support').expanduser()


class DataError(RuntimeError):
    """A data file could not be obtained or failed its checksum."""


def data_dir(root=None) -> Path:
    """Folder holding data files: `root`, else $D2L_DATA_DIR, else ~/.cache/d2l_support."""
    if root is None:
        root = os.environ.get('D2L_DATA_DIR') or DEFAULT_DATA_DIR
    return Path(root).expanduser()


def _sha1(path: Path) -> str:
    digest = hashlib.sha1()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


class DataFile:
    """A named file with a known sha1 and the URL it is published at."""

    def __init__(self, name, sha1, url=None):
        self.name, self.sha1 = name, sha1
        self.url = url or DATA_URL + name

    def __repr__(self):
        return f'DataFile({self.name!r}, sha1={self.sha1})'


TIME_MACHINE = DataFile('timemachine.txt', '090b5e7e70c295757f55df93cb0a180b9691891a')


def download(file: DataFile, root=None, timeout=60) -> Path:
    """Return the path of a verified copy of `file`, downloading it into the data folder if needed.

    A cached copy is checked against its sha1 on every call; a copy with the wrong sha1 is
    never used. Downloads go to a temporary file in the same folder and are renamed only after
    the checksum matches, so an interrupted download never leaves a file under the final name.
    """
    folder = data_dir(root)
    path = folder / file.name
    problem = None
    if path.exists():
        actual = _sha1(path)
        if actual == file.sha1:
            return path
        problem = (f'{path} has sha1 {actual}, expected {file.sha1}; '
                   f'the file is corrupt or a different version and will not be used')
    hint = (f'Put a copy of {file.name} (sha1 {file.sha1}) in {folder}, or point the data '
            f'directory at a folder that holds it: set D2L_DATA_DIR or pass root=...')
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f'.{file.name}.', suffix='.part', dir=folder)
    except OSError as err:
        raise DataError(f'{problem or f"{file.name} is not in {folder}"}, and that folder is not '
                        f'writable ({err}). {hint}') from err
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, 'wb') as out, urllib.request.urlopen(file.url, timeout=timeout) as resp:
            while block := resp.read(1 << 20):
                out.write(block)
        actual = _sha1(tmp)
        if actual != file.sha1:
            raise DataError(f'downloaded {file.url} but its sha1 is {actual}, expected '
                            f'{file.sha1}; nothing was saved. {hint}')
        os.replace(tmp, path)
        return path
    except (urllib.error.URLError, OSError) as err:
        before = f'{problem}. ' if problem else ''
        raise DataError(f'{before}Could not download {file.url} ({err}). {hint}') from err
    finally:
        tmp.unlink(missing_ok=True)


# --------------------------------------------------------------------------------------------
# Text: tokens, vocabulary, The Time Machine
# --------------------------------------------------------------------------------------------
def tokenize(text, token='char'):
    """Split text into characters (`token='char'`) or words (`token='word'`)."""
    if token == 'char':
        return list(text)
    if token == 'word':
        return text.split()
    raise ValueError(f"token must be 'char' or 'word', not {token!r}")


class Vocab:
    """Vocabulary mapping tokens to indices, in a deterministic (sorted) order.

    Tokens rarer than `min_freq` map to `<unk>`. For The Time Machine's characters the order is
    space, `<unk>`, then a to z.
    """

    def __init__(self, tokens=(), min_freq=0, reserved_tokens=()):
        tokens = list(tokens)
        if tokens and isinstance(tokens[0], (list, tuple)):
            tokens = [tok for line in tokens for tok in line]
        counter = collections.Counter(tokens)
        self.token_freqs = sorted(counter.items(), key=lambda item: item[1], reverse=True)
        kept = {tok for tok, freq in self.token_freqs if freq >= min_freq}
        self.idx_to_token = sorted(kept | {'<unk>'} | set(reserved_tokens))
        self.token_to_idx = {tok: idx for idx, tok in enumerate(self.idx_to_token)}

    def __len__(self):
        return len(self.idx_to_token)

    def __getitem__(self, tokens):
        if isinstance(tokens, (list, tuple)):
            return [self[tok] for tok in tokens]
        return self.token_to_idx.get(tokens, self.unk)

    def to_tokens(self, indices):
        if hasattr(indices, '__len__') and not isinstance(indices, str):
            return [self.idx_to_token[int(i)] for i in indices]
        return self.idx_to_token[int(indices)]

    @property
    def unk(self):
        return self.token_to_idx['<unk>']


class TimeMachineText:
    """The text pipeline of The Time Machine: download, preprocess, tokenize, build corpus."""

    token = 'char'

    def _download(self):
        return download(TIME_MACHINE, getattr(self, 'root', None)).read_text(encoding='utf-8')

    def _preprocess(self, text):
        return re.sub('[^A-Za-z]+', ' ', text).lower()

    def _tokenize(self, text):
        return tokenize(text, self.token)

    def build(self, raw_text, vocab=None):
        tokens = self._tokenize(self._preprocess(raw_text))
        if vocab is None:
            vocab = Vocab(tokens)
        corpus = [vocab[tok] for tok in tokens]
        return corpus, vocab

    def sequence_arrays(self, corpus, num_steps, count):
        """Inputs X and next-token targets Y of the first `count` windows of the corpus."""
        corpus = np.asarray(corpus, dtype=np.int64)
        if count + num_steps >= len(corpus) + 1:
            raise ValueError(f'the corpus has {len(corpus)} tokens: too few for {count} '
                             f'sequences of {num_steps} steps')
        windows = np.lib.stride_tricks.sliding_window_view(corpus, num_steps + 1)[:count]
        return windows[:, :-1].copy(), windows[:, 1:].copy()


class TimeMachineData(TimeMachineText):
    """The Time Machine as windows of `num_steps` tokens (X) and the tokens that follow (Y).

    A framework's `TimeMachine` mixes this with its `DataModule` and converts the arrays with
    `as_tensor`; the training loader is shuffled, the validation loader keeps the text's order.
    `X` and `Y` hold the `num_train` training windows, then the `num_val` validation windows;
    the validation windows start `num_steps` tokens after the last training window does, so
    they share no token with the training text (`val_start` is their corpus offset).
    """

    def __init__(self, batch_size, num_steps, num_train=10000, num_val=5000, root=None):
        super().__init__(root=root)
        self.save_hyperparameters()
        self.corpus, self.vocab = self.build(self._download())
        # Windows overlap (window i starts at token i), so the last training window ends
        # `num_steps` tokens past window `num_train`'s start: validation starts after that gap,
        # and no token a validation window reads or predicts was ever a training input or label.
        gap = num_steps
        X, Y = self.sequence_arrays(self.corpus, num_steps, num_train + gap + num_val)
        keep = np.r_[0:num_train, num_train + gap:num_train + gap + num_val]
        self.X, self.Y = self.as_tensor(X[keep]), self.as_tensor(Y[keep])
        #: corpus offsets where the training and the validation windows start
        self.train_start, self.val_start = 0, num_train + gap

    def as_tensor(self, array):
        return array

    def get_dataloader(self, train):
        indices = (slice(0, self.num_train) if train
                   else slice(self.num_train, self.num_train + self.num_val))
        return self.get_tensorloader([self.X, self.Y], train, indices)


# --------------------------------------------------------------------------------------------
# Minibatches
# --------------------------------------------------------------------------------------------
class ArrayLoader:
    """Iterates over minibatches of aligned numpy arrays, shuffled (by numpy's global RNG) when
    `shuffle`; `convert` turns each numpy batch into the framework's tensor type."""

    def __init__(self, arrays, batch_size, shuffle, convert=None):
        self.arrays, self.batch_size, self.shuffle = tuple(arrays), batch_size, shuffle
        self.convert = convert or (lambda a: a)
        self.num_examples = len(self.arrays[0])

    def __len__(self):
        return -(-self.num_examples // self.batch_size)

    def __iter__(self):
        order = (np.random.permutation(self.num_examples) if self.shuffle
                 else np.arange(self.num_examples))
        for start in range(0, self.num_examples, self.batch_size):
            idx = order[start:start + self.batch_size]
            yield tuple(self.convert(a[idx]) for a in self.arrays)


class DataModuleBase(HyperParameters):
    """The data-module protocol: `train_dataloader()` and `val_dataloader()`."""

    def __init__(self, root=None, num_workers=4):
        self.save_hyperparameters()

    def get_dataloader(self, train):
        raise NotImplementedError

    def train_dataloader(self):
        return self.get_dataloader(train=True)

    def val_dataloader(self):
        return self.get_dataloader(train=False)


def num_threads() -> int:
    """How many CPU threads a framework's operators may use.

    $D2L_NUM_THREADS when set (a book build running several kernels side by side sets it to its
    share of the CPUs), else every CPU this process may run on. The framework modules read it
    when they are imported.
    """
    value = os.environ.get('D2L_NUM_THREADS', '').strip()
    if value:
        try:
            count = int(value)
        except ValueError:
            count = 0
        if count < 1:
            raise ValueError(f'D2L_NUM_THREADS must be a whole number of at least 1, not {value!r}')
        return count
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def seed_everything(seed):
    """Seed Python's and numpy's generators (framework modules seed their own on top)."""
    random.seed(seed)
    np.random.seed(seed)


# --------------------------------------------------------------------------------------------
# Progress board
# --------------------------------------------------------------------------------------------
def _in_notebook():
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and shell.__class__.__name__ == 'ZMQInteractiveShell'


class ProgressBoard(HyperParameters):
    """Records training curves and draws them.

    In a Jupyter kernel the figure updates in place while training (at most once every
    `min_interval` seconds, so drawing stays cheap) and ends as a single image in the cell's
    output. In a script nothing is drawn until `figure()` or `save()` is called, and no display
    is needed. `display=False` (or D2L_BOARD=off) records values without drawing anything.
    """

    def __init__(self, xlabel=None, ylabel=None, xlim=None, ylim=None, xscale='linear',
                 yscale='linear', ls=('-', '--', '-.', ':'),
                 colors=('C0', 'C1', 'C2', 'C3'), figsize=(3.5, 2.5), display=None,
                 min_interval=2.0, fmt='png', dpi=100):
        self.save_hyperparameters()
        if display is None:
            self.display = os.environ.get('D2L_BOARD', 'on').lower() not in ('off', '0', 'no')
        self.data = collections.OrderedDict()
        self._pending = collections.defaultdict(list)
        self._means = {}
        self._fig, self._ax, self._lines = None, None, {}
        # Live drawing waits `min_interval` seconds at first, then at least 30 times as long as
        # the last render took, so that drawing costs at most a few percent of training.
        self._handle, self._last_draw, self._gap = None, time.monotonic(), min_interval

    def draw(self, x, y, label, every_n=1, mean='arithmetic'):
        """Add a point; every `every_n` points of a label are averaged into one plotted point.

        `mean='geometric'` averages the group in log space: for perplexities exp(l_i) of batch
        losses l_i that is exp(mean l_i), the perplexity of the group's mean loss (an arithmetic
        mean of per-batch perplexities would be larger, by Jensen's inequality).

        `y` may be a number or a framework's scalar array: it is turned into a float only when its
        group is averaged, so that training on a GPU waits for its results once per plotted
        point, not once per batch.
        """
        if mean not in ('arithmetic', 'geometric'):
            raise ValueError(f"mean must be 'arithmetic' or 'geometric', not {mean!r}")
        self._means[label] = mean
        pending = self._pending[label]
        pending.append((float(x), y))
        if len(pending) < max(1, int(every_n)):
            return
        self._average(label)
        if self.display and _in_notebook() and time.monotonic() - self._last_draw >= self._gap:
            self._show()

    def _average(self, label):
        pending = self._pending[label]
        xs, ys = zip(*pending)
        pending.clear()
        values = [float(y) for y in ys]
        if self._means.get(label) == 'geometric':
            value = math.exp(sum(math.log(v) for v in values) / len(values))
        else:
            value = sum(values) / len(values)
        self.data.setdefault(label, []).append((xs[-1], value))

    def last(self, label):
        """The last plotted value of a curve (None if it has none yet)."""
        points = self.data.get(label)
        return points[-1][1] if points else None

    def figure(self):
        """The matplotlib Figure of the curves (no pyplot, so no display is needed).

        It is made once and updated in place (new points, limits, scales), so that drawing
        during training stays cheap.
        """
        if self._fig is None:
            from matplotlib.figure import Figure
            self._fig = Figure(figsize=self.figsize)
            self._fig.subplots_adjust(left=0.16, right=0.97, bottom=0.19, top=0.96)
            self._ax = self._fig.add_subplot()
            self._ax.grid(alpha=0.3)
        ax = self._ax
        for label, points in self.data.items():
            if label not in self._lines:
                i = len(self._lines)
                self._lines[label], = ax.plot([], [], linestyle=self.ls[i % len(self.ls)],
                                              color=self.colors[i % len(self.colors)], label=label)
                ax.legend()
            self._lines[label].set_data(*zip(*points))
        ax.set_xscale(self.xscale)
        ax.set_yscale(self.yscale)
        ax.relim()
        ax.autoscale_view()
        if self.xlim:
            ax.set_xlim(self.xlim)
        if self.ylim:
            ax.set_ylim(self.ylim)
        ax.set_xlabel(self.xlabel or '')
        ax.set_ylabel(self.ylabel or '')
        return self._fig

    def render(self, fmt=None):
        """The figure as PNG or SVG bytes."""
        buf = io.BytesIO()
        self.figure().savefig(buf, format=fmt or self.fmt, dpi=self.dpi)
        return buf.getvalue()

    def save(self, path):
        path = Path(path)
        path.write_bytes(self.render(path.suffix.lstrip('.') or self.fmt))
        return path

    def _show(self, record=None):
        from IPython.display import SVG, Image, display
        start = time.monotonic()
        data = self.render()
        self._gap = max(self.min_interval, 30 * (time.monotonic() - start))
        obj = SVG(data=data) if self.fmt == 'svg' else Image(data=data)
        metadata = {'d2l_support': {'run': record}} if record else None
        if self._handle is None:
            self._handle = display(obj, display_id=True, metadata=metadata)
        else:
            self._handle.update(obj, metadata=metadata)
        self._last_draw = time.monotonic()

    def finish(self, record=None):
        """Draw the final figure (in a notebook: replace the live one in place).

        `record` (a dict, e.g. `Trainer.summary()`) travels in the image output's metadata
        under `d2l_support.run`, so a book build can tabulate runs from executed notebooks.
        """
        for label, pending in self._pending.items():
            if pending:
                self._average(label)
        if self.display and self.data and _in_notebook():
            self._show(record)


class PlotMixin:
    """`Module.plot`: puts a training or validation value on the module's board."""

    plot_train_per_epoch = 2
    plot_valid_per_epoch = 1
    #: curves whose batch values are averaged geometrically: a perplexity exp(loss) of each
    #: batch becomes exp of the mean loss, as perplexity is defined
    geometric_keys = ('ppl',)

    def plot(self, key, value, train):
        trainer = getattr(self, 'trainer', None)
        if trainer is None:
            raise RuntimeError('plot() needs a trainer: call it during Trainer.fit')
        self.board.xlabel = 'epoch'
        if train:
            x = trainer.train_batch_idx / trainer.num_train_batches
            every_n = trainer.num_train_batches / self.plot_train_per_epoch
        else:
            x = trainer.epoch + 1
            every_n = trainer.num_val_batches / self.plot_valid_per_epoch
        self.board.draw(x, value, ('train_' if train else 'val_') + key, every_n=every_n,
                        mean='geometric' if key in self.geometric_keys else 'arithmetic')


class EagerSteps:
    """`training_step` and `validation_step` of the frameworks whose steps are Python code run
    (or, in TensorFlow, traced) on each batch: the batch's loss, put on the board as `curve`
    says. PyTorch's, TensorFlow's and MXNet's `Module` have them; JAX's steps are pure functions
    of the parameters and are that module's own."""

    def curve(self, loss):
        """The (name, value) a batch's loss is plotted as."""
        return 'loss', loss

    def training_step(self, batch):
        l = self.loss(self(*batch[:-1]), batch[-1])
        self.plot(*self.curve(l), train=True)
        return l

    def validation_step(self, batch):
        l = self.loss(self(*batch[:-1]), batch[-1])
        self.plot(*self.curve(l), train=False)


class ClassifierSteps(EagerSteps):
    """A classifier validates with its loss and its accuracy (the framework's `accuracy`)."""

    def validation_step(self, batch):
        Y_hat = self(*batch[:-1])
        self.plot('loss', self.loss(Y_hat, batch[-1]), train=False)
        self.plot('acc', self.accuracy(Y_hat, batch[-1]), train=False)


class PerplexitySteps(EagerSteps):
    """The steps of a language model: it plots perplexity, the exponential of the mean
    cross-entropy, and validation plots nothing else (no accuracy, unlike a Classifier's). The
    framework's class sets `exp`, and lists this class before its Classifier."""

    exp = None  # the framework's elementwise exponential, e.g. staticmethod(torch.exp)

    def curve(self, loss):
        return 'ppl', self.exp(loss)

    validation_step = EagerSteps.validation_step


# --------------------------------------------------------------------------------------------
# Trainer skeleton
# --------------------------------------------------------------------------------------------
class TrainerBase(HyperParameters):
    """The loop shared by every framework's Trainer: epochs over the data module's loaders.

    A framework's Trainer provides `fit_epoch`, `prepare_batch`, `clip_gradients`, and the
    device helpers; it may extend `prepare_model`.
    """

    framework = None  # set by each framework's Trainer, e.g. 'pytorch'
    package = None    # the framework's import name, e.g. 'torch'

    def __init__(self, max_epochs, num_gpus=0, gradient_clip_val=0):
        self.save_hyperparameters()
        self.gpus = self.select_gpus(num_gpus)

    def select_gpus(self, num_gpus):
        available = self.available_gpus()
        #: why a requested GPU is not used (said in the device note of every fit)
        self.gpu_missing = bool(num_gpus and not available)
        return available[:num_gpus]

    def device_note(self):
        """The line every fit prints: framework and device, in one format for all frameworks."""
        note = f'{self.framework}: training on {self.device_name()}'
        if self.gpu_missing:
            note += ' (no GPU is available)'
        return note

    def available_gpus(self):
        return []

    def prepare_data(self, data):
        self.train_dataloader = data.train_dataloader()
        self.val_dataloader = data.val_dataloader()
        self.num_train_batches = len(self.train_dataloader)
        self.num_val_batches = len(self.val_dataloader) if self.val_dataloader is not None else 0

    def prepare_model(self, model):
        # object's __setattr__: the trainer is no layer to track, and Flax modules are frozen.
        object.__setattr__(model, 'trainer', self)
        model.board.xlim = [0, self.max_epochs]
        self.model = model

    def fit(self, model, data):
        self.prepare_data(data)
        self.prepare_model(model)
        self.optim = model.configure_optimizers()
        self.epoch = self.train_batch_idx = self.val_batch_idx = 0
        print(self.device_note(), flush=True)
        start = time.perf_counter()
        for self.epoch in range(self.max_epochs):
            self.fit_epoch()
        self.fit_seconds = time.perf_counter() - start
        model.board.finish(self.summary())

    def fit_epoch(self):
        raise NotImplementedError

    def summary(self):
        """Facts about the last fit: framework, device, epochs, seconds, last curve values."""
        package = sys.modules.get(self.package) if self.package else None
        info = {'framework': self.framework, 'version': getattr(package, '__version__', None),
                'model': type(self.model).__name__, 'device': self.device_name(),
                'epochs': self.max_epochs, 'fit_seconds': round(getattr(self, 'fit_seconds', 0), 2)}
        info.update({label: points[-1][1] for label, points in self.model.board.data.items()})
        return info

    def device_name(self):
        return device_label('cpu')


def device_label(kind, index=0):
    """Every framework's device in one format: 'cpu', or 'gpu:<index>'. No GPU model name: only
    some frameworks report it, and the same run must read the same in every tab."""
    kind = str(kind).lower()
    if kind == 'cpu':
        return 'cpu'
    if kind not in ('gpu', 'cuda'):
        raise ValueError(f'unknown device kind {kind!r}')
    return f'gpu:{int(index)}'


_notes_shown = set()


def _note_once(message):
    if message not in _notes_shown:
        _notes_shown.add(message)
        print(message)


# --------------------------------------------------------------------------------------------
# Language-model decoding
# --------------------------------------------------------------------------------------------
class LanguageModelMixin:
    """Greedy decoding from a prefix, written once on top of the framework's `next_logits`.

    The prediction never emits `<unk>`, so the result is the prefix plus exactly `num_preds`
    characters (for a character vocabulary).
    `next_logits(indices, state, where)` runs the model on a list of token indices from `state`
    and returns (numpy logits of the last position, new state); `where` is the device (or, in
    JAX, the parameters).
    """

    def predict(self, prefix, num_preds, vocab, device=None):
        if not prefix:
            raise ValueError('predict() needs a non-empty prefix')
        indices = list(vocab[list(prefix)])
        logits, state = self.next_logits(indices, None, device)
        for _ in range(num_preds):
            logits = np.array(logits, dtype=np.float64)
            logits[vocab.unk] = -np.inf  # never emit <unk>: one prediction, one real token
            indices.append(int(np.argmax(logits)))
            if len(indices) - len(prefix) < num_preds:
                logits, state = self.next_logits(indices[-1:], state, device)
        return ''.join(vocab.to_tokens(indices))
