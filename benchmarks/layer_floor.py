"""The least time any fit of the concise GRU or LSTM can take: its framework layer alone.

A concise model is its framework's own recurrent layer (`nn.GRU`, `tf.keras.layers.GRU`,
Gluon's `rnn.GRU`, Flax's `nn.RNN(nn.GRUCell)`, and the same for the LSTM) with an output layer
on top. Whatever a library does around it (loss, optimizer, clipping, the board, data), each
training batch runs that layer forward and backward, and each validation batch runs it
forward. This script times only that: the layer on the sections' shapes (1024 windows of 32
one-hot characters, 28 of them, 32 hidden units), forward and backward (gradients of the
outputs' sum with respect to the layer's weights) and forward alone, with compilation left
out (JAX runs jitted code after a warm-up call; Keras is timed eagerly and inside
`tf.function`, unrolled and not; PyTorch and JAX on every thread and on one, MXNet with its
naive and its threaded engine; the fastest counts). One process at a time, each in its
framework's environment.

From those it prints the floor of a fit: epochs x (10000/1024 forward-and-backward batches +
5000/1024 forward batches), the train and validation windows of `d2l.TimeMachine`, and, with
`--d2l-fit SECONDS` (d2l 1.0.3's fit of the same model, from `benchmarks/train.py
--reference`), the largest speed-up over d2l that any fit using the layer could show.

    .venv/book/bin/python benchmarks/layer_floor.py
    .venv/book/bin/python benchmarks/layer_floor.py --models gru --d2l-fit 7.3
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FRAMEWORKS = ['pytorch', 'tensorflow', 'mxnet', 'jax']
V, H, B, T = 28, 32, 1024, 32
TRAIN_BATCHES, VAL_BATCHES = 10000 / B, 5000 / B
CPUS = str(len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count())

# Each snippet defines `fb()` (forward and backward, results forced) and `f()` (forward only)
# for the layer named by MODEL ('gru' or 'lstm'), then TIMER times them.
SNIPPETS = {
    'pytorch': '''
import torch
from torch import nn
torch.manual_seed(0)
layer = {'gru': nn.GRU, 'lstm': nn.LSTM}[MODEL](V, H)
X = nn.functional.one_hot(torch.randint(0, V, (T, B)), V).float()
def fb():
    layer.zero_grad()
    layer(X)[0].sum().backward()
def f():
    with torch.no_grad():
        layer(X)
variants = {'eager': (fb, f)}
''',
    'tensorflow': '''
import os
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
import tensorflow as tf
tf.random.set_seed(0)
X = tf.one_hot(tf.random.uniform((B, T), 0, V, dtype=tf.int32), V)
def pair(layer, graph):
    def grads():
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(layer(X))
        return tape.gradient(loss, layer.trainable_variables)
    def outputs():
        return layer(X)
    if graph:
        grads, outputs = tf.function(grads), tf.function(outputs)
    return (lambda: [g.numpy() for g in grads()]), (lambda: outputs().numpy())
variants = {}
for unroll in (False, True):
    layer = {'gru': tf.keras.layers.GRU, 'lstm': tf.keras.layers.LSTM}[MODEL](
        H, return_sequences=True, unroll=unroll)
    layer(X)
    for graph in (False, True):
        variants[f"{'tf.function' if graph else 'eager'}, unroll={unroll}"] = pair(layer, graph)
''',
    'mxnet': '''
import mxnet as mx
from mxnet import autograd, np, npx
from mxnet.gluon import rnn
npx.set_np()
mx.random.seed(0)
layer = {'gru': rnn.GRU, 'lstm': rnn.LSTM}[MODEL](H)
layer.initialize()
X = npx.one_hot(np.random.randint(0, V, (T, B)), V)
state = layer.begin_state(B)
layer(X, state)
def fb():
    with autograd.record():
        out, _ = layer(X, state)
        loss = out.sum()
    loss.backward()
    npx.waitall()
def f():
    out, _ = layer(X, state)
    out.wait_to_read()
variants = {'gluon': (fb, f)}
''',
    'jax': '''
import jax, jax.numpy as jnp
from flax import linen as nn
cell = {'gru': nn.GRUCell, 'lstm': nn.OptimizedLSTMCell}[MODEL](H)
layer = nn.RNN(cell, time_major=True)
X = jax.nn.one_hot(jax.random.randint(jax.random.PRNGKey(1), (T, B), 0, V), V)
params = layer.init(jax.random.PRNGKey(0), X)
grad = jax.jit(jax.grad(lambda p: layer.apply(p, X).sum()))
forward = jax.jit(lambda p: layer.apply(p, X))
def fb():
    jax.block_until_ready(grad(params))
def f():
    forward(params).block_until_ready()
variants = {'jit': (fb, f)}
''',
}

# Thread settings tried for each framework (the fastest counts), as separate processes since
# the frameworks read them at import: d2l_support's own choices, and the frameworks' defaults.
SETTINGS = {
    'pytorch': {'all threads': {}, '1 thread': {'OMP_NUM_THREADS': '1'}},
    'tensorflow': {'defaults': {}},
    'mxnet': {'NaiveEngine': {'MXNET_ENGINE_TYPE': 'NaiveEngine', 'OMP_NUM_THREADS': CPUS},
              'threaded engine': {'OMP_NUM_THREADS': CPUS}},
    'jax': {'all threads': {},
            '1 thread': {'XLA_FLAGS': '--xla_cpu_multi_thread_eigen=false '
                                      'intra_op_parallelism_threads=1'}},
}

TIMER = '''
import json, statistics, time
def per_call(fn, repeats):
    fn(); fn()  # warm-up: compilation, allocator, lazy initialization
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
out = {name: {'fb': per_call(fb, REPEATS), 'f': per_call(f, REPEATS)}
       for name, (fb, f) in variants.items()}
print('RESULT ' + json.dumps(out))
'''


def measure(framework, model, repeats):
    """{variant label: {'fb': seconds, 'f': seconds}} over every thread setting."""
    python = REPO / '.venv' / framework / 'bin' / 'python'
    if not python.exists():
        sys.exit(f'benchmarks/layer_floor.py: {python} is missing: create it with `make envs`')
    head = f'MODEL, V, H, B, T, REPEATS = {model!r}, {V}, {H}, {B}, {T}, {repeats}\n'
    variants = {}
    for setting, extra in SETTINGS[framework].items():
        env = {k: v for k, v in os.environ.items()
               if k not in ('OMP_NUM_THREADS', 'MXNET_ENGINE_TYPE', 'XLA_FLAGS')}
        proc = subprocess.run([str(python), '-c', head + SNIPPETS[framework] + TIMER],
                              capture_output=True, text=True, cwd=REPO, env={**env, **extra})
        lines = [l for l in proc.stdout.splitlines() if l.startswith('RESULT ')]
        if proc.returncode or not lines:
            sys.exit(f'benchmarks/layer_floor.py: {framework} {model} ({setting}) failed '
                     f'(exit {proc.returncode}):\n{proc.stderr[-3000:]}')
        for name, times in json.loads(lines[-1][len('RESULT '):]).items():
            variants[f'{name}, {setting}'] = times
    return variants


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--frameworks', nargs='+', choices=FRAMEWORKS, default=FRAMEWORKS)
    parser.add_argument('--models', nargs='+', choices=['gru', 'lstm'], default=['gru', 'lstm'])
    parser.add_argument('--epochs', type=int, default=10, help="default: the sections' 10")
    parser.add_argument('--repeats', type=int, default=20, help='timed calls of each (median)')
    parser.add_argument('--d2l-fit', type=float, nargs='+', metavar='SECONDS',
                        help="d2l 1.0.3's fit of each model, in --models order, from "
                             "`benchmarks/train.py --reference`")
    args = parser.parse_args()
    if args.d2l_fit and len(args.d2l_fit) != len(args.models):
        parser.error('--d2l-fit takes one figure per model in --models')
    reference = dict(zip(args.models, args.d2l_fit or []))
    print(f'layer alone: {B} windows x {T} one-hot steps ({V} characters), {H} hidden units; '
          f'a fit = {args.epochs} epochs x ({TRAIN_BATCHES:.2f} forward+backward + '
          f'{VAL_BATCHES:.2f} forward batches); {os.cpu_count()} CPUs; median of '
          f'{args.repeats} calls', flush=True)
    for model in args.models:
        for fw in args.frameworks:
            variants = measure(fw, model, args.repeats)
            best = min(variants, key=lambda n: TRAIN_BATCHES * variants[n]['fb']
                       + VAL_BATCHES * variants[n]['f'])
            fb, f = variants[best]['fb'], variants[best]['f']
            floor = args.epochs * (TRAIN_BATCHES * fb + VAL_BATCHES * f)
            line = (f'{fw:10s} {model:4s} forward+backward {fb * 1e3:6.1f} ms, forward '
                    f'{f * 1e3:5.1f} ms per batch ({best}) | floor of a fit {floor:5.2f} s')
            if model in reference:
                line += (f' | d2l 1.0.3 fit {reference[model]:.1f} s / floor = at most '
                         f'{reference[model] / floor:.1f}x')
            print(line, flush=True)


if __name__ == '__main__':
    main()
