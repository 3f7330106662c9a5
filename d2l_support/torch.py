"""PyTorch implementation of d2l_support: ``from d2l_support import torch as d2l``.

Only what differs per framework lives here; the rest comes from `d2l_support.core`.
Torch uses `core.num_threads()` CPU threads: every CPU, unless D2L_NUM_THREADS says fewer (a
book build running kernels side by side gives each its share).
"""
import torch
from torch import nn
from torch.nn import functional as F

from . import core
from .core import (TIME_MACHINE, DataError, HyperParameters, ProgressBoard, Vocab,  # noqa: F401
                   add_to_class, data_dir, download, tokenize)

torch.set_num_threads(core.num_threads())


# --------------------------------------------------------------------------------------------
# Devices, seeding and tensor aliases
# --------------------------------------------------------------------------------------------
def framework_version():
    return torch.__version__


def cpu():
    return torch.device('cpu')


def gpu(i=0):
    return torch.device(f'cuda:{i}')


def num_gpus():
    return torch.cuda.device_count()


def try_gpu(i=0):
    """GPU `i` if it exists, else the CPU."""
    return gpu(i) if num_gpus() >= i + 1 else cpu()


def try_all_gpus():
    """All available GPUs (an empty list when there are none)."""
    return [gpu(i) for i in range(num_gpus())]


def set_seed(seed):
    """Seed Python, numpy and torch so that a CPU run repeats exactly."""
    core.seed_everything(seed)
    torch.manual_seed(seed)


tensor, zeros, ones, arange = torch.tensor, torch.zeros, torch.ones, torch.arange
stack, concat, matmul, exp, tanh = torch.stack, torch.cat, torch.matmul, torch.exp, torch.tanh
float32, int32, one_hot = torch.float32, torch.int32, F.one_hot


def reshape(x, *shape):
    return x.reshape(*shape)


def swapaxes(x, axis0, axis1):
    return x.swapaxes(axis0, axis1)


def transpose(x, *perm):
    """`x.t()` as in d2l; with a permutation (as in TensorFlow), `x.permute(*perm)`."""
    return x.permute(*perm) if perm else x.t()


def argmax(x, *args, **kwargs):
    return x.argmax(*args, **kwargs)


def astype(x, dtype):
    return x.type(dtype)


def numpy(x):
    return x.detach().cpu().numpy()


def to(x, *args, **kwargs):
    return x.to(*args, **kwargs)


# --------------------------------------------------------------------------------------------
# Module, data, trainer
# --------------------------------------------------------------------------------------------
class Module(nn.Module, core.HyperParameters, core.PlotMixin,
             core.EagerSteps):
    """Base class of the models: a torch `nn.Module` with a progress board."""

    def __init__(self, plot_train_per_epoch=2, plot_valid_per_epoch=1):
        super().__init__()
        self.save_hyperparameters()
        self.board = ProgressBoard()

    def loss(self, y_hat, y):
        raise NotImplementedError

    def forward(self, X):
        if not hasattr(self, 'net'):
            raise NotImplementedError(f'{type(self).__name__} has no `net`: define forward()')
        return self.net(X)

    def plot(self, key, value, train):
        """Put `value` (a number or a scalar tensor) on the board."""
        super().plot(key, value.detach() if torch.is_tensor(value) else value, train)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.lr)


class DataModule(core.DataModuleBase):
    """Base class of the data modules; loaders yield torch tensors."""

    def get_tensorloader(self, tensors, train, indices=slice(0, None)):
        return core.ArrayLoader([a[indices] for a in tensors], self.batch_size, shuffle=train)


class Trainer(core.TrainerBase):
    """Trains a Module on a DataModule with the optimizer the module configures."""

    framework, package = 'pytorch', 'torch'

    def available_gpus(self):
        return try_all_gpus()

    def device_name(self):
        if self.gpus:
            gpu = self.gpus[0]
            return core.device_label('gpu', gpu.index or 0)
        return core.device_label('cpu')

    def prepare_batch(self, batch):
        if self.gpus:
            batch = [a.to(self.gpus[0]) for a in batch]
        return batch

    def prepare_model(self, model):
        super().prepare_model(model)
        if self.gpus:
            model.to(self.gpus[0])

    def fit_epoch(self):
        self.model.train()
        for batch in self.train_dataloader:
            loss = self.model.training_step(self.prepare_batch(batch))
            self.optim.zero_grad()
            loss.backward()
            if self.gradient_clip_val > 0:
                self.clip_gradients(self.gradient_clip_val, self.model)
            self.optim.step()
            self.train_batch_idx += 1
        if self.val_dataloader is None:
            return
        self.model.eval()
        with torch.no_grad():
            for batch in self.val_dataloader:
                self.model.validation_step(self.prepare_batch(batch))
                self.val_batch_idx += 1

    def clip_gradients(self, grad_clip_val, model):
        """Scale the gradients of `model` (or of an iterable of parameters) so that their
        global norm is at most `grad_clip_val`."""
        params = model.parameters() if isinstance(model, nn.Module) else model
        nn.utils.clip_grad_norm_(params, grad_clip_val)


class Classifier(core.ClassifierSteps, Module):
    """A Module whose loss is the cross-entropy over the flattened outputs."""

    def accuracy(self, Y_hat, Y, averaged=True):
        preds = Y_hat.reshape(-1, Y_hat.shape[-1]).argmax(dim=1)
        compare = (preds == Y.reshape(-1)).type(torch.float32)
        return compare.mean() if averaged else compare

    def loss(self, Y_hat, Y, averaged=True):
        if averaged and Y.shape == Y_hat.shape[:-1]:
            # The mean does not depend on the order of the positions, so flatten them in the
            # order they lie in memory: a time-major result swapped to batch-major (as the RNN
            # language models produce) is then read as it is, not copied and copied back.
            order = sorted(range(Y_hat.dim() - 1), key=lambda d: -Y_hat.stride(d))
            Y_hat, Y = Y_hat.permute(*order, -1), Y.permute(*order)
        return F.cross_entropy(Y_hat.reshape(-1, Y_hat.shape[-1]), Y.reshape(-1),
                               reduction='mean' if averaged else 'none')


# --------------------------------------------------------------------------------------------
# The Time Machine and the RNN language models
# --------------------------------------------------------------------------------------------
class TimeMachine(core.TimeMachineData, DataModule):
    """Character windows of The Time Machine as torch tensors (see core.TimeMachineData)."""

    def as_tensor(self, array):
        return torch.from_numpy(array)


class RNNScratch(Module):
    """A one-layer tanh RNN written with matrix products; time-major inputs."""

    def __init__(self, num_inputs, num_hiddens, sigma=0.01):
        super().__init__()
        self.save_hyperparameters()
        self.W_xh = nn.Parameter(torch.randn(num_inputs, num_hiddens) * sigma)
        self.W_hh = nn.Parameter(torch.randn(num_hiddens, num_hiddens) * sigma)
        self.b_h = nn.Parameter(torch.zeros(num_hiddens))

    def forward(self, inputs, state=None):
        """inputs: (num_steps, batch, num_inputs); returns the stacked hidden states
        (num_steps, batch, num_hiddens) and the last one (batch, num_hiddens)."""
        if state is None:
            state = torch.zeros((inputs.shape[1], self.num_hiddens), device=inputs.device)
        # The input projection of every step at once; only the recurrence needs the loop.
        projected = torch.matmul(inputs, self.W_xh) + self.b_h
        outputs = []
        for XW in projected:
            state = torch.tanh(XW + torch.matmul(state, self.W_hh))
            outputs.append(state)
        return torch.stack(outputs), state


class RNNLMScratch(core.PerplexitySteps, Classifier, core.LanguageModelMixin):
    """A character language model on top of an RNN, reporting perplexity."""

    def __init__(self, rnn, vocab_size, lr=0.01):
        super().__init__()
        self.save_hyperparameters()
        self.init_params()

    def init_params(self):
        self.W_hq = nn.Parameter(torch.randn(self.rnn.num_hiddens, self.vocab_size)
                                 * self.rnn.sigma)
        self.b_q = nn.Parameter(torch.zeros(self.vocab_size))

    exp = staticmethod(torch.exp)  # perplexity, for core.PerplexitySteps

    def one_hot(self, X):
        """(batch, num_steps) indices -> (num_steps, batch, vocab_size) float32."""
        # Same values as F.one_hot(X.T, vocab_size).float(), without its int64 intermediate.
        out = torch.zeros((*X.T.shape, self.vocab_size), device=X.device)
        return out.scatter_(-1, X.T.unsqueeze(-1), 1.0)

    def output_layer(self, rnn_outputs):
        """(num_steps, batch, num_hiddens) -> (batch, num_steps, vocab_size)."""
        return swapaxes(torch.matmul(rnn_outputs, self.W_hq) + self.b_q, 0, 1)

    def forward(self, X, state=None):
        rnn_outputs, _ = self.rnn(self.one_hot(X), state)
        return self.output_layer(rnn_outputs)

    def next_logits(self, indices, state, device):
        if device is None:
            device = next(self.parameters()).device
        was_training = self.training
        self.eval()  # predictions never apply dropout, even right after a training step
        try:
            with torch.no_grad():
                X = torch.tensor([indices], device=device)
                rnn_outputs, state = self.rnn(self.one_hot(X), state)
                logits = self.output_layer(rnn_outputs)
        finally:
            self.train(was_training)
        return logits[0, -1].cpu().numpy(), state


class RNN(Module):
    """The concise RNN: torch's `nn.RNN`, time-major in and out."""

    def __init__(self, num_inputs, num_hiddens):
        super().__init__()
        self.save_hyperparameters()
        self.rnn = nn.RNN(num_inputs, num_hiddens)

    def forward(self, inputs, H=None):
        return self.rnn(inputs, H)


class RNNLM(RNNLMScratch):
    """The concise language model: an RNN and a dense output layer."""

    def init_params(self):
        self.linear = nn.LazyLinear(self.vocab_size)

    def output_layer(self, hiddens):
        return swapaxes(self.linear(hiddens), 0, 1)


# --------------------------------------------------------------------------------------------
# Modern recurrent layers: LSTM, GRU, deep and bidirectional RNNs (time-major, like RNN)
# --------------------------------------------------------------------------------------------
def _gate_params(num_inputs, num_hiddens, sigma):
    """(input weight, hidden weight, bias) of one gate, the weights drawn N(0, sigma^2)."""
    return (nn.Parameter(torch.randn(num_inputs, num_hiddens) * sigma),
            nn.Parameter(torch.randn(num_hiddens, num_hiddens) * sigma),
            nn.Parameter(torch.zeros(num_hiddens)))


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
            zeros = torch.zeros((inputs.shape[1], self.num_hiddens), device=inputs.device)
            H_C = (zeros, zeros)
        H, C = H_C
        outputs = []
        for X in inputs:
            I = torch.sigmoid(X @ self.W_xi + H @ self.W_hi + self.b_i)
            F_ = torch.sigmoid(X @ self.W_xf + H @ self.W_hf + self.b_f)
            O = torch.sigmoid(X @ self.W_xo + H @ self.W_ho + self.b_o)
            C_tilde = torch.tanh(X @ self.W_xc + H @ self.W_hc + self.b_c)
            C = F_ * C + I * C_tilde
            H = O * torch.tanh(C)
            outputs.append(H)
        return torch.stack(outputs), (H, C)


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
            H = torch.zeros((inputs.shape[1], self.num_hiddens), device=inputs.device)
        outputs = []
        for X in inputs:
            Z = torch.sigmoid(X @ self.W_xz + H @ self.W_hz + self.b_z)
            R = torch.sigmoid(X @ self.W_xr + H @ self.W_hr + self.b_r)
            H_tilde = torch.tanh(X @ self.W_xh + (R * H) @ self.W_hh + self.b_h)
            H = Z * H + (1 - Z) * H_tilde
            outputs.append(H)
        return torch.stack(outputs), H


class LSTM(Module):
    """The concise LSTM: torch's `nn.LSTM`; the state is (H, C), each (num_layers, batch,
    num_hiddens); dropout between layers in training mode only."""

    def __init__(self, num_inputs, num_hiddens, num_layers=1, dropout=0):
        super().__init__()
        self.save_hyperparameters()
        self.rnn = nn.LSTM(num_inputs, num_hiddens, num_layers, dropout=dropout)

    def forward(self, inputs, H_C=None):
        return self.rnn(inputs, H_C)


class GRU(Module):
    """The concise GRU: torch's `nn.GRU`; the state is (num_layers, batch, num_hiddens)."""

    def __init__(self, num_inputs, num_hiddens, num_layers=1, dropout=0):
        super().__init__()
        self.save_hyperparameters()
        self.rnn = nn.GRU(num_inputs, num_hiddens, num_layers, dropout=dropout)

    def forward(self, inputs, H=None):
        return self.rnn(inputs, H)


class StackedRNNScratch(Module):
    """`num_layers` RNNScratch layers, each one's outputs the next one's inputs; the state is
    the list of the layers' states."""

    def __init__(self, num_inputs, num_hiddens, num_layers, sigma=0.01):
        super().__init__()
        self.save_hyperparameters()
        self.rnns = nn.Sequential(*[RNNScratch(num_inputs if i == 0 else num_hiddens,
                                               num_hiddens, sigma) for i in range(num_layers)])

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
        b_outputs, b_H = self.b_rnn(torch.flip(inputs, [0]), b_H)
        # the backward pass read the steps last to first: flip its outputs back into step order
        outputs = torch.cat([f_outputs, torch.flip(b_outputs, [0])], -1)
        return outputs, (f_H, b_H)
