"""Time the TensorFlow RNN language models with the settings of the concise-RNN section.

Trains the concise model (Keras SimpleRNN + Dense) and the scratch one (RNNScratch) on The Time
Machine (batch 1024, 32 steps, 32 hidden units, lr 1, clipping 1, board on) and prints, for each,
the seconds of the first epoch (it includes compiling the steps) and per later epoch (wall and
CPU time: CPU time is the steadier figure on a busy machine), the whole fit, the final
perplexities and the process's peak resident memory. Prints figures, asserts nothing; on a shared
machine the figures are noisy (the load average is printed with them).

    D2L_DATA_DIR=/work/shared/data .venv/tensorflow/bin/python benchmarks/train_tensorflow.py
    ... --models concise --epochs 20 --threads 2 --eager   (--eager: steps not compiled)
"""
import argparse
import os
import resource
import statistics
import sys
import time

from d2l_support import tensorflow as d2l
import tensorflow as tf


class TimedTrainer(d2l.Trainer):
    """The library's Trainer, recording each epoch's seconds (optionally not compiling)."""

    def __init__(self, *args, eager=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.eager, self.epoch_seconds, self.epoch_cpu_seconds = eager, [], []

    def compile_step(self, kind, batch):
        compiled = super().compile_step(kind, batch)  # this also builds the model's variables
        if not self.eager:
            return compiled
        step = self.train_step if kind == 'train' else self.model.validation_step
        return lambda *batch: step(batch) or {}

    def fit(self, model, data):
        cpu_start = time.process_time()
        super().fit(model, data)
        self.cpu_seconds = time.process_time() - cpu_start

    def fit_epoch(self):
        start, cpu_start = time.perf_counter(), time.process_time()
        super().fit_epoch()
        self.epoch_seconds.append(time.perf_counter() - start)
        self.epoch_cpu_seconds.append(time.process_time() - cpu_start)
        if (self.epoch + 1) % 10 == 0:
            print(f'  epoch {self.epoch + 1}/{self.max_epochs}  {sum(self.epoch_seconds):.1f} s',
                  file=sys.stderr, flush=True)


def build(kind, vocab_size):
    if kind == 'concise':
        return d2l.RNNLM(d2l.RNN(num_hiddens=32), vocab_size=vocab_size, lr=1)
    return d2l.RNNLMScratch(d2l.RNNScratch(num_inputs=vocab_size, num_hiddens=32),
                            vocab_size=vocab_size, lr=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--models', nargs='+', choices=['concise', 'scratch'],
                        default=['concise', 'scratch'])
    parser.add_argument('--epochs', type=int, default=100)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--threads', type=int, default=None,
                        help='intra-op threads (default: what d2l_support sets)')
    parser.add_argument('--eager', action='store_true', help='run the steps eagerly')
    args = parser.parse_args()
    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)

    print(f'tensorflow {d2l.framework_version()}, cpus {os.cpu_count()}, load average '
          f'{os.getloadavg()[0]:.1f}, intra-op threads '
          f'{tf.config.threading.get_intra_op_parallelism_threads() or "default"}, '
          f'{"eager" if args.eager else "tf.function"} steps', flush=True)
    for kind in args.models:
        d2l.set_seed(args.seed)
        data = d2l.TimeMachine(batch_size=1024, num_steps=32)
        model = build(kind, len(data.vocab))
        trainer = TimedTrainer(max_epochs=args.epochs, gradient_clip_val=1, eager=args.eager)
        trainer.fit(model, data)
        first, rest = trainer.epoch_seconds[0], trainer.epoch_seconds[1:]
        rest_cpu = trainer.epoch_cpu_seconds[1:] or trainer.epoch_cpu_seconds
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f'{kind:8s} fit {trainer.fit_seconds:6.1f} s for {args.epochs} epochs (CPU time '
              f'{trainer.cpu_seconds:.1f} s) | first epoch {first:.2f} s, later median '
              f'{statistics.median(rest or [first]):.3f} s/epoch (CPU '
              f'{statistics.median(rest_cpu):.3f} s) | train ppl '
              f'{model.board.last("train_ppl"):.2f}, val ppl {model.board.last("val_ppl"):.2f} | '
              f'peak RSS so far {peak_mib:.0f} MiB | load average now {os.getloadavg()[0]:.1f}',
              flush=True)
        print(f'         sample: {model.predict("it has", 20, data.vocab)!r}', flush=True)


if __name__ == '__main__':
    main()
