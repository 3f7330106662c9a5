"""Training speed of the section's models in every framework (prints figures, asserts nothing).

Trains the character language models with the settings of their sections (batch 1024, 32 steps,
32 hidden units, gradient clipping 1; the RNN, concise and scratch, lr 1 for 100 epochs as in the
concise-RNN section; the GRU and the LSTM, concise and scratch, lr 4 for 10 epochs as in theirs)
in each framework's Jupyter kernel, exactly as a book page does: the progress board is on and draws live.
One fresh kernel per (framework, model), one at a time, so that the runs do not share the CPU
and each peak-memory figure is that run's own.

For each run it prints seconds per epoch (the first, which includes any compilation, and the
median of the others), the whole fit in wall-clock and CPU seconds, the final train and
validation perplexities, the kernel's peak resident memory and the size of the final figure.

`--reference` also runs d2l 1.0.3's own PyTorch library on the same models in the kernel
`d2l-reference` (create it with `make bench-reference`), so that the speed-up over d2l is
measured on this machine, and prints each run's ratio to it: the RNN (concise and scratch) and
the concise GRU and LSTM (d2l 1.0.3's library GRU, and its LSTM section's class on the
library's RNN); our scratch GRU and LSTM are timed without a reference. On a shared machine wall-clock
figures are noisy: the load average is printed, and CPU seconds are steadier.

    .venv/book/bin/python benchmarks/train.py                      # all frameworks, the RNN
    .venv/book/bin/python benchmarks/train.py --frameworks pytorch jax --models concise
    .venv/book/bin/python benchmarks/train.py --reference --epochs 20
    .venv/book/bin/python benchmarks/train.py --reference --models gru lstm gru_scratch lstm_scratch
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
FRAMEWORKS = ['pytorch', 'tensorflow', 'mxnet', 'jax']
MODULE = {'pytorch': 'torch', 'tensorflow': 'tensorflow', 'mxnet': 'mxnet', 'jax': 'jax'}
REFERENCE_KERNEL = 'd2l-reference'

# The models, built as their sections build them. `V` is the vocabulary size; {inputs} is
# `num_inputs=V, ` where the framework's concise layer takes it (PyTorch).
BUILD = {
    'concise': 'd2l.RNNLM(d2l.RNN({inputs}num_hiddens=32), vocab_size=V, lr=1)',
    'scratch': 'd2l.RNNLMScratch(d2l.RNNScratch(num_inputs=V, num_hiddens=32), vocab_size=V, lr=1)',
    'gru': 'd2l.RNNLM(d2l.GRU({inputs}num_hiddens=32, num_layers=1), vocab_size=V, lr=4)',
    'lstm': 'd2l.RNNLM(d2l.LSTM({inputs}num_hiddens=32), vocab_size=V, lr=4)',
    'gru_scratch': 'd2l.RNNLMScratch(d2l.GRUScratch(num_inputs=V, num_hiddens=32), vocab_size=V, '
                   'lr=4)',
    'lstm_scratch': 'd2l.RNNLMScratch(d2l.LSTMScratch(num_inputs=V, num_hiddens=32), '
                    'vocab_size=V, lr=4)',
}
# Epochs of each model's section (--epochs overrides them all).
EPOCHS = {'concise': 100, 'scratch': 100, 'gru': 10, 'lstm': 10, 'gru_scratch': 10,
          'lstm_scratch': 10}
# The models d2l 1.0.3 can run as its sections do (its library has the GRU; the LSTM is its
# section's class on the library's RNN; the scratch GRU and LSTM exist only inside the pages):
# the others are timed for our library only.
REFERENCE_MODELS = ('concise', 'scratch', 'gru', 'lstm')

# d2l 1.0.3 ships RNNScratch, RNNLMScratch and GRU (num_layers required); the concise RNN
# classes are the section's own code, and so is the LSTM: d2l's LSTM section defines it on the
# library's RNN without adding it to the library (written here to do what that class does).
REFERENCE_SETUP = '''\
from d2l import torch as d2l
import torch
from torch import nn

class RNN(d2l.Module):
    def __init__(self, num_inputs, num_hiddens):
        super().__init__()
        self.save_hyperparameters()
        self.rnn = nn.RNN(num_inputs, num_hiddens)

    def forward(self, inputs, H=None):
        return self.rnn(inputs, H)

class RNNLM(d2l.RNNLMScratch):
    def init_params(self):
        self.linear = nn.LazyLinear(self.vocab_size)

    def output_layer(self, hiddens):
        return d2l.swapaxes(self.linear(hiddens), 0, 1)

class LSTM(d2l.RNN):
    def __init__(self, num_inputs, num_hiddens):
        d2l.Module.__init__(self)
        self.save_hyperparameters()
        self.rnn = nn.LSTM(num_inputs, num_hiddens)

    def forward(self, inputs, H_C=None):
        return self.rnn(inputs, H_C)

d2l.RNN, d2l.RNNLM = RNN, RNNLM
d2l.LSTM = LSTM
d2l.set_seed = torch.manual_seed
'''

TIMING = '''\
import json, os, resource, time

class TimedTrainer(d2l.Trainer):
    """The library's Trainer, recording how long each epoch takes."""
    def fit_epoch(self):
        start = time.perf_counter()
        super().fit_epoch()
        self.__dict__.setdefault('epoch_seconds', []).append(time.perf_counter() - start)
'''

FIT = '''\
d2l.set_seed(0)
data = d2l.TimeMachine(batch_size=1024, num_steps=32)
V = len(data.vocab)
model = {build}
trainer = TimedTrainer(max_epochs={epochs}, gradient_clip_val=1, num_gpus={num_gpus})
load_before = os.getloadavg()[0]
wall, cpu = time.perf_counter(), time.process_time()
trainer.fit(model, data)
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
'''

# The last value of a curve: d2l_support's board has last(); d2l's keeps lists of points.
LAST = {'ours': 'model.board.last({key!r})', 'reference': 'model.board.data[{key!r}][-1].y'}

REPORT = '''\
print(json.dumps({{
    'epoch_seconds': trainer.epoch_seconds, 'fit_wall': wall, 'fit_cpu': cpu,
    'train_ppl': float({train}), 'val_ppl': float({val}),
    'peak_rss_mib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    'load': [load_before, os.getloadavg()[0]]}}))
'''


def notebook(flavor, framework, model, epochs, num_gpus):
    if flavor == 'reference':
        setup = REFERENCE_SETUP
    else:
        setup = f'from d2l_support import {MODULE[framework]} as d2l\n'
    inputs = 'num_inputs=V, ' if framework == 'pytorch' else ''
    epochs = epochs or EPOCHS[model]
    fit = FIT.format(build=BUILD[model].format(inputs=inputs), epochs=epochs, num_gpus=num_gpus)
    report = REPORT.format(train=LAST[flavor].format(key='train_ppl'),
                           val=LAST[flavor].format(key='val_ppl'))
    cells = [setup, TIMING, fit, report]
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])


def check_kernel(name, hint):
    try:
        KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        sys.exit(f'benchmarks/train.py: Jupyter kernel {name!r} is not installed: {hint}')


def figure_kib(cell):
    """Size of the images the fit cell ends with (the board's final figure)."""
    size = 0
    for out in cell.outputs:
        for mime in ('image/png', 'image/svg+xml'):
            if mime in out.get('data', {}):
                data = out['data'][mime]
                size += len(data) * 3 // 4 if mime == 'image/png' else len(data.encode())
    return size / 1024


def run(flavor, framework, model, args, workdir):
    kernel = REFERENCE_KERNEL if flavor == 'reference' else f'd2l-{framework}'
    nb = notebook(flavor, framework, model, args.epochs, args.num_gpus)
    env = dict(os.environ)
    cwd = workdir
    if flavor == 'reference':
        # d2l 1.0.3 reads its data from ../data: give it a folder whose ../data is ours.
        cwd = workdir / 'reference' / 'run'
        cwd.mkdir(parents=True, exist_ok=True)
        data = workdir / 'reference' / 'data'
        if not data.exists():
            data.symlink_to(Path(os.environ.get('D2L_DATA_DIR', '~/.cache/d2l_support'))
                            .expanduser().resolve())
    client = NotebookClient(nb, kernel_name=kernel, timeout=args.timeout,
                            resources={'metadata': {'path': str(cwd)}})
    start = time.perf_counter()
    with client.setup_kernel(env=env):
        for i, cell in enumerate(nb.cells):
            client.execute_cell(cell, i)
    total = time.perf_counter() - start
    stdout = ''.join(o.get('text', '') for o in nb.cells[-1].outputs if o.get('name') == 'stdout')
    result = json.loads(stdout.strip().splitlines()[-1])
    result.update(figure_kib=figure_kib(nb.cells[2]), kernel_seconds=total)
    return result


def describe(label, r, reference=None):
    epochs = r['epoch_seconds']
    later = statistics.median(epochs[1:]) if len(epochs) > 1 else epochs[0]
    line = (f'{label:22s} epoch 1 {epochs[0]:6.2f} s, then {later:.3f} s (median) | '
            f'fit {r["fit_wall"]:6.1f} s wall, {r["fit_cpu"]:6.1f} s CPU | '
            f'ppl train {r["train_ppl"]:.2f} val {r["val_ppl"]:.2f} | '
            f'peak {r["peak_rss_mib"]:.0f} MiB | figure {r["figure_kib"]:.0f} KiB | '
            f'load {r["load"][0]:.1f}->{r["load"][1]:.1f}')
    if reference:
        line += f' | {reference["fit_wall"] / r["fit_wall"]:.1f}x d2l'
    return line


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--frameworks', nargs='+', choices=FRAMEWORKS, default=FRAMEWORKS)
    # default: the RNN's two models, as before the GRU and LSTM were added (`make bench`)
    parser.add_argument('--models', nargs='+', choices=list(BUILD), default=['concise', 'scratch'],
                        help='default: concise scratch (the RNN)')
    parser.add_argument('--epochs', type=int, default=None,
                        help="epochs of every model (default: each model's section: "
                        + ', '.join(f'{m} {e}' for m, e in EPOCHS.items()) + ')')
    parser.add_argument('--num-gpus', type=int, default=0, help='train on a GPU where there is one')
    parser.add_argument('--reference', action='store_true',
                        help="also time d2l 1.0.3's PyTorch library (kernel d2l-reference)")
    parser.add_argument('--timeout', type=int, default=1800, help='seconds allowed per cell')
    parser.add_argument('--json', type=Path, help='also write every result to this file')
    args = parser.parse_args()

    runs = [('ours', fw, m) for fw in args.frameworks for m in args.models]
    if args.reference:
        check_kernel(REFERENCE_KERNEL, 'create it with `make bench-reference`')
        runs = [('reference', 'pytorch', m) for m in args.models
                if m in REFERENCE_MODELS] + runs
    for fw in args.frameworks:
        check_kernel(f'd2l-{fw}', 'create it with `make envs`')
    epochs = (f'{args.epochs} epochs' if args.epochs else
              'epochs ' + ', '.join(f'{m} {EPOCHS[m]}' for m in args.models))
    print(f'{epochs}; batch 1024, 32 steps, 32 hidden units, lr 1 (RNN) or 4 (GRU, LSTM), '
          f'clipping 1; board on; {os.cpu_count()} CPUs; one kernel at a time', flush=True)
    results, lines = {}, []
    with tempfile.TemporaryDirectory(prefix='d2l-bench-') as tmp:
        for flavor, fw, model in runs:
            label = f'd2l 1.0.3 {fw} {model}' if flavor == 'reference' else f'{fw} {model}'
            print(f'... {label}', file=sys.stderr, flush=True)
            r = run(flavor, fw, model, args, Path(tmp))
            results[label] = r
            line = describe(label, r, results.get(f'd2l 1.0.3 pytorch {model}')
                            if flavor == 'ours' else None)
            lines.append(line)
            print(line, flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == '__main__':
    main()
