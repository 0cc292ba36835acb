"""Time ``coursepkg.training.fit`` against a bare PyTorch loop on the same model, data and seed.

The two are interleaved (A B B A ...) in one process so that both see the same
machine state; the ratio of the medians is printed. Run: ``python benchmarks/fit_overhead.py``.
"""

import argparse
import statistics
import time

import torch
from torch import nn

from coursepkg.data import load_digits_split, make_loader
from coursepkg.models import mlp
from coursepkg.reproducibility import seed_everything
from coursepkg.training import fit


def bare_loop(model, loader, optimizer, epochs):
    """Train as ``fit`` does (forward, loss, backward, step), recording nothing."""
    for _ in range(epochs):
        model.train()
        for x, y in loader:
            loss = nn.functional.cross_entropy(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()


def with_fit(model, loader, optimizer, epochs):
    """Train through ``coursepkg.training.fit``, progress bar off."""
    fit(model, loader, epochs=epochs, optimizer=optimizer, progress=False)


def timed(run, split, epochs, batch_size):
    """Return the seconds ``run`` takes to train a fresh, seeded MLP."""
    seed_everything(0)
    model = mlp([64, 256, 256, 10])
    loader = make_loader(split.x_train, split.y_train, batch_size=batch_size, seed=0)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    start = time.perf_counter()
    run(model, loader, optimizer, epochs)
    return time.perf_counter() - start


def interleave(repeats=21, epochs=20, batch_size=64):
    """Return the median seconds of the bare loop and of ``fit``, timed in turn."""
    split = load_digits_split(seed=0)  # all 1,077 training images
    timed(bare_loop, split, 2, batch_size)  # warm-up
    bare, ours = [], []
    for i in range(repeats):
        # A B, then B A: neither loop always runs first.
        pair = [(bare, bare_loop), (ours, with_fit)]
        for times, run in pair if i % 2 == 0 else reversed(pair):
            times.append(timed(run, split, epochs, batch_size))
    return statistics.median(bare), statistics.median(ours)


def main():
    """Interleave the two loops and print the ratio of their median times."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    b, f = interleave(args.repeats, args.epochs, args.batch_size)
    print(
        f"threads {torch.get_num_threads()}, {args.epochs} epochs of 1,077 digits, "
        f"batch {args.batch_size}, median of {args.repeats}"
    )
    print(f"bare loop {b:.3f} s   fit {f:.3f} s   ratio {f / b:.3f}")


if __name__ == "__main__":
    main()
