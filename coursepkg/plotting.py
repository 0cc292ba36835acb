"""Figures the chapters share: learning curves, several runs compared, schedules."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import matplotlib.pyplot as plt
from matplotlib.axes import Axes

from coursepkg.training import History

__all__ = ["plot_learning_curves", "plot_runs", "plot_schedules"]

_LABELS = {
    "train_loss": "training loss",
    "val_loss": "validation loss",
    "train_acc": "training accuracy",
    "val_acc": "validation accuracy",
    "lr": "learning rate",
}


def _axes(ax: Axes | None) -> Axes:
    return plt.subplots(figsize=(6, 4))[1] if ax is None else ax


def plot_learning_curves(
    history: History, *, metric: str = "loss", ax: Axes | None = None, title: str | None = None
) -> Axes:
    """Plot training and validation curves of one run against the epoch.

    Parameters
    ----------
    history : History
        The run, as returned by :func:`coursepkg.training.fit`.
    metric : {"loss", "acc"}, default "loss"
        Which pair of curves to draw.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when not given.
    title : str, optional
        Title of the axes.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on. The best epoch is marked with a dotted vertical line.
    """
    ax = _axes(ax)
    for split in ("train", "val"):
        key = f"{split}_{metric}"
        ax.plot(history.epoch, getattr(history, key), label=_LABELS[key])
    if history.best_epoch is not None:
        ax.axvline(
            history.best_epoch,
            color="gray",
            linestyle=":",
            label=f"best epoch ({history.best_epoch})",
        )
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss" if metric == "loss" else "accuracy")
    ax.set_title(title or f"Learning curves ({'loss' if metric == 'loss' else 'accuracy'})")
    ax.legend()
    return ax


def plot_runs(
    runs: Mapping[str, History],
    *,
    metric: str = "val_acc",
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """Compare one metric across several runs, one line per run.

    Parameters
    ----------
    runs : mapping of str to History
        Run label → history, e.g. ``{"p = 0.5": history}``.
    metric : str, default "val_acc"
        One of ``train_loss``, ``val_loss``, ``train_acc``, ``val_acc``, ``lr``.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when not given.
    title : str, optional
        Title of the axes.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    ax = _axes(ax)
    for label, history in runs.items():
        ax.plot(history.epoch, getattr(history, metric), label=str(label))
    ax.set_xlabel("epoch")
    ax.set_ylabel(_LABELS[metric])
    ax.set_title(title or f"{_LABELS[metric].capitalize()} by run")
    ax.legend()
    return ax


def plot_schedules(
    schedules: Mapping[str, Callable[[int], float]],
    total_steps: int,
    *,
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """Draw learning-rate schedules against the step, one line each.

    Parameters
    ----------
    schedules : mapping of str to callable
        Label → ``schedule(step) -> lr``, e.g. from :mod:`coursepkg.schedules`.
    total_steps : int
        Steps ``0 .. total_steps - 1`` are drawn; ``>= 1``.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when not given.
    title : str, optional
        Title of the axes.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    ax = _axes(ax)
    steps = range(total_steps)
    for label, schedule in schedules.items():
        ax.plot(steps, [schedule(t) for t in steps], label=str(label))
    ax.set_xlabel("step")
    ax.set_ylabel("learning rate")
    ax.set_title(title or "Learning-rate schedules")
    ax.legend()
    return ax
