"""Time the PyTorch RNN language models with the settings of the concise-RNN section.

Trains the concise model (nn.RNN + LazyLinear) and the scratch one (RNNScratch) on The Time
Machine (batch 1024, 32 steps, 32 hidden units, lr 1, clipping 1, board recording) and prints,
for each: seconds per epoch (median and slowest), the whole fit in wall-clock and CPU seconds,
the final train/validation perplexities and the process's peak resident memory. Each model
trains in its own process so that the peak memory is its own. Prints figures, asserts nothing;
on a shared machine wall-clock figures are noisy (the load average is printed with them; CPU
seconds are steadier).

    D2L_DATA_DIR=/work/shared/data .venv/pytorch/bin/python benchmarks/train_torch.py
    ... --models concise --epochs 20 --threads 2
"""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

import torch

from d2l_support import torch as d2l


class TimedTrainer(d2l.Trainer):
    """The library's Trainer, recording each epoch's seconds and showing progress."""

    def fit(self, model, data):
        self.epoch_seconds = []
        cpu_start = time.process_time()
        super().fit(model, data)
        self.cpu_seconds = time.process_time() - cpu_start

    def fit_epoch(self):
        start = time.perf_counter()
        super().fit_epoch()
        self.epoch_seconds.append(time.perf_counter() - start)
        if (self.epoch + 1) % 20 == 0:
            print(f'  epoch {self.epoch + 1}/{self.max_epochs}  {sum(self.epoch_seconds):.1f} s',
                  file=sys.stderr, flush=True)


def build(kind, vocab_size):
    if kind == 'concise':
        return d2l.RNNLM(d2l.RNN(num_inputs=vocab_size, num_hiddens=32),
                         vocab_size=vocab_size, lr=1)
    return d2l.RNNLMScratch(d2l.RNNScratch(num_inputs=vocab_size, num_hiddens=32),
                            vocab_size=vocab_size, lr=1)


def run_one(kind, epochs, seed, num_gpus=0):
    d2l.set_seed(seed)
    data = d2l.TimeMachine(batch_size=1024, num_steps=32)
    model = build(kind, len(data.vocab))
    load_before = os.getloadavg()[0]
    trainer = TimedTrainer(max_epochs=epochs, gradient_clip_val=1, num_gpus=num_gpus)
    trainer.fit(model, data)
    epoch_s = trainer.epoch_seconds
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f'{kind:8s} epoch median {statistics.median(epoch_s):.3f} s, slowest '
          f'{max(epoch_s):.3f} s | fit {trainer.fit_seconds:.1f} s wall, '
          f'{trainer.cpu_seconds:.1f} s CPU | train ppl {model.board.last("train_ppl"):.3f}, '
          f'val ppl {model.board.last("val_ppl"):.3f} | peak RSS {peak_mib:.0f} MiB | '
          f'load {load_before:.1f} -> {os.getloadavg()[0]:.1f}', flush=True)
    return model, trainer


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--models', nargs='+', choices=['concise', 'scratch'],
                        default=['concise', 'scratch'])
    parser.add_argument('--epochs', type=int, default=100)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--threads', type=int, default=None,
                        help='torch intra-op threads (default: what d2l_support sets)')
    parser.add_argument('--num-gpus', type=int, default=0, help='train on a GPU if there is one')
    args = parser.parse_args()
    if len(args.models) > 1:  # one process per model: separate peak memory, fresh allocator
        for kind in args.models:
            rest = ['--epochs', str(args.epochs), '--seed', str(args.seed),
                    '--num-gpus', str(args.num_gpus)]
            if args.threads:
                rest += ['--threads', str(args.threads)]
            subprocess.run([sys.executable, __file__, '--models', kind, *rest], check=True)
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f'torch {d2l.framework_version()}, cpus {os.cpu_count()}, torch threads '
          f'{torch.get_num_threads()}, device {d2l.Trainer(1, args.num_gpus).device_name()}, '
          f'{args.epochs} epochs, load average {os.getloadavg()[0]:.1f}', flush=True)
    run_one(args.models[0], args.epochs, args.seed, args.num_gpus)


if __name__ == '__main__':
    main()
