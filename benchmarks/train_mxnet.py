"""Time the MXNet RNN language models with the settings of the concise-RNN section.

Trains the concise model (Gluon rnn.RNN + Dense) and the scratch one (RNNScratch) on The Time
Machine (batch 1024, 32 steps, 32 hidden units, lr 1, clipping 1) and prints, for each, the seconds
of the first epoch and per later epoch, the whole fit, the final perplexities and the process's
peak resident memory. Prints figures, asserts nothing.

    D2L_DATA_DIR=/work/shared/data .venv/mxnet/bin/python benchmarks/train_mxnet.py
    ... --models concise --epochs 20 --eager   (--eager: without hybridize, for comparison)
"""
import argparse
import os
import resource
import statistics
import sys
import time

from d2l_support import mxnet as d2l


class TimedTrainer(d2l.Trainer):
    """The library's Trainer, recording each epoch's seconds (optionally not hybridizing)."""

    def __init__(self, *args, eager=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.eager, self.epoch_seconds = eager, []

    def prepare_model(self, model):
        super().prepare_model(model)
        if self.eager:
            model.hybridize(False)

    def fit(self, model, data):
        cpu_start = time.process_time()
        super().fit(model, data)
        self.cpu_seconds = time.process_time() - cpu_start

    def fit_epoch(self):
        start = time.perf_counter()
        super().fit_epoch()
        d2l.npx.waitall()
        self.epoch_seconds.append(time.perf_counter() - start)
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
    parser.add_argument('--eager', action='store_true', help='do not hybridize the Gluon layers')
    args = parser.parse_args()

    threads = {k: os.environ[k] for k in ('OMP_NUM_THREADS', 'MXNET_ENGINE_TYPE',
                                          'MXNET_CPU_WORKER_NTHREADS') if k in os.environ}
    print(f'mxnet {d2l.framework_version()}, cpus {os.cpu_count()}, load average '
          f'{os.getloadavg()[0]:.1f}, env {threads or "defaults"}, '
          f'{"eager" if args.eager else "hybridized"}')
    for kind in args.models:
        d2l.set_seed(args.seed)
        data = d2l.TimeMachine(batch_size=1024, num_steps=32)
        model = build(kind, len(data.vocab))
        trainer = TimedTrainer(max_epochs=args.epochs, gradient_clip_val=1, eager=args.eager)
        trainer.fit(model, data)
        first, rest = trainer.epoch_seconds[0], trainer.epoch_seconds[1:]
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f'{kind:8s} fit {trainer.fit_seconds:6.1f} s for {args.epochs} epochs (CPU time '
              f'{trainer.cpu_seconds:.1f} s) | '
              f'first epoch {first:.2f} s, later median {statistics.median(rest or [first]):.3f} '
              f's/epoch | train ppl {model.board.last("train_ppl"):.2f}, val ppl '
              f'{model.board.last("val_ppl"):.2f} | peak RSS so far {peak_mib:.0f} MiB | '
              f'load average now {os.getloadavg()[0]:.1f}', flush=True)
        print(f'         sample: {model.predict("it has", 20, data.vocab)!r}')


if __name__ == '__main__':
    main()
