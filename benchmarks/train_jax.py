"""Times the section's fits in JAX/Flax (prints figures, asserts nothing).

    D2L_DATA_DIR=/work/shared/data .venv/jax/bin/python benchmarks/train_jax.py [--epochs 100]
        [--models concise scratch]

For each model: batch 1024, 32 steps, 32 hidden units, lr 1, clipping 1, board on (in a script
the board records and draws nothing). Prints the first epoch (it includes jit compilation), the
median of the other epochs, the whole fit (wall and CPU seconds), the final perplexities and the
process's peak memory. The load average is printed too: on a shared machine figures are noisy.
"""
import argparse
import os
import resource
import statistics
import time

from d2l_support import jax as d2l


class TimedTrainer(d2l.Trainer):
    """A Trainer that records when each epoch ends and shows progress every 10 epochs."""

    def fit_epoch(self):
        super().fit_epoch()
        self.epoch_ends.append(time.perf_counter())
        if (self.epoch + 1) % 10 == 0:
            print(f'  epoch {self.epoch + 1}/{self.max_epochs}: '
                  f'val ppl {self.model.board.last("val_ppl"):.2f}', flush=True)


def make_model(name, vocab_size):
    if name == 'scratch':
        rnn = d2l.RNNScratch(num_inputs=vocab_size, num_hiddens=32)
        return d2l.RNNLMScratch(rnn=rnn, vocab_size=vocab_size, lr=1)
    return d2l.RNNLM(rnn=d2l.RNN(num_hiddens=32), vocab_size=vocab_size, lr=1)


def run(name, data, epochs):
    d2l.set_seed(0)
    model = make_model(name, len(data.vocab))
    trainer = TimedTrainer(max_epochs=epochs, gradient_clip_val=1, num_gpus=1)
    trainer.epoch_ends = []
    print(f'{name}: training {epochs} epochs on {trainer.device_name()}', flush=True)
    cpu = time.process_time()
    start = time.perf_counter()
    trainer.fit(model, data)
    cpu = time.process_time() - cpu
    ends = [start] + trainer.epoch_ends
    epoch_s = [b - a for a, b in zip(ends, ends[1:])]
    info = trainer.summary()
    rest = statistics.median(epoch_s[1:]) if len(epoch_s) > 1 else float('nan')
    print(f'{name}: first epoch {epoch_s[0]:.2f} s (with compilation), then {rest:.3f} s/epoch '
          f'(median); fit {info["fit_seconds"]:.1f} s wall, {cpu:.1f} s CPU; '
          f'train ppl {info["train_ppl"]:.2f}, val ppl {info["val_ppl"]:.2f}', flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--epochs', type=int, default=100)
    parser.add_argument('--models', nargs='+', choices=['concise', 'scratch'],
                        default=['concise', 'scratch'])
    args = parser.parse_args()
    print(f'{d2l.framework_version()}; {os.cpu_count()} CPUs; load average '
          f'{os.getloadavg()[0]:.1f}; XLA_FLAGS={os.environ.get("XLA_FLAGS", "")!r}', flush=True)
    data = d2l.TimeMachine(batch_size=1024, num_steps=32)
    for name in args.models:
        run(name, data, args.epochs)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f'peak RSS {peak_mib:.0f} MiB; load average now {os.getloadavg()[0]:.1f}')


if __name__ == '__main__':
    main()
