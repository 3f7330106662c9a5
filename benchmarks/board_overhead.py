"""What the progress board costs during a fit (prints figures, asserts nothing).

Trains the concise RNN language model with the section's settings in one framework, with the
board drawing live as it does in a Jupyter kernel (the kernel's display is replaced by a stand-in
that keeps the last image), and reports the seconds spent in the board (recording points and
rendering figures) as a share of the fit, plus the size of the final image.

    .venv/pytorch/bin/python benchmarks/board_overhead.py --framework torch --epochs 100
"""
import argparse
import importlib
import os
import time

import IPython.display

from d2l_support import core


class Handle:
    """Stands in for a notebook display: keeps the last image it was given."""

    def __init__(self, obj):
        self.obj, self.updates = obj, 0

    def update(self, obj, **kwargs):
        self.obj, self.updates = obj, self.updates + 1


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--framework', default='torch', choices=['torch', 'tensorflow', 'mxnet', 'jax'])
    parser.add_argument('--epochs', type=int, default=100)
    args = parser.parse_args()
    d2l = importlib.import_module(f'd2l_support.{args.framework}')

    handles = []
    IPython.display.display = lambda obj, display_id=None, metadata=None: handles.append(Handle(obj)) or handles[-1]
    core._in_notebook = lambda: True
    # Everything the board does happens in draw() (recording, and live renders) and finish().
    spent = {'board': 0.0, 'renders': 0}

    def timed(fn, key):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                if key:
                    spent[key] += time.perf_counter() - start
                else:
                    spent['renders'] += 1
        return wrapper

    board = core.ProgressBoard
    board.draw, board.finish = timed(board.draw, 'board'), timed(board.finish, 'board')
    board.render = timed(board.render, None)

    d2l.set_seed(0)
    data = d2l.TimeMachine(batch_size=1024, num_steps=32)
    if args.framework == 'torch':
        rnn = d2l.RNN(num_inputs=len(data.vocab), num_hiddens=32)
    else:
        rnn = d2l.RNN(num_hiddens=32)
    model = d2l.RNNLM(rnn=rnn, vocab_size=len(data.vocab), lr=1)
    trainer = d2l.Trainer(max_epochs=args.epochs, gradient_clip_val=1)
    trainer.fit(model, data)

    image = handles[-1].obj.data if handles else b''
    print(f'{args.framework}: fit {trainer.fit_seconds:.1f} s for {args.epochs} epochs; board '
          f'{spent["board"]:.2f} s ({100 * spent["board"] / trainer.fit_seconds:.1f}% of the fit, '
          f'{spent["renders"]} renders); final image {len(image) / 1024:.0f} KB; '
          f'load average {os.getloadavg()[0]:.1f}')


if __name__ == '__main__':
    main()
