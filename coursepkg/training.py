"""A small training loop: ``fit`` records what the chapters plot, ``EarlyStopping`` stops it."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch
from torch import nn
from tqdm import tqdm

from coursepkg._checks import check_loader, check_positive_int
from coursepkg.early_stopping import EarlyStopping

__all__ = ["History", "evaluate", "fit"]

Batch = tuple[torch.Tensor, torch.Tensor]
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class History:
    """Per-epoch record of one training run; epochs are counted from 1.

    Accuracies are ``nan`` when the targets are not class labels (regression).
    ``train_loss`` is the data loss alone, without any penalty, so runs with and
    without a penalty are compared on the same scale.
    """

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    best_epoch: int | None = None
    """Epoch with the lowest validation loss (training loss without validation data);
    with early stopping, the epoch whose weights it restores."""
    stopped_early: bool = False

    def best(self, metric: str = "val_loss") -> float:
        """Return ``metric`` (e.g. ``"val_acc"``) at :attr:`best_epoch`."""
        if self.best_epoch is None:
            raise ValueError("the history is empty: it has no best epoch")
        return getattr(self, metric)[self.best_epoch - 1]


def _model_device(model: nn.Module) -> torch.device:
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def _is_classification(outputs: torch.Tensor, targets: torch.Tensor) -> bool:
    return outputs.ndim == 2 and targets.ndim == 1 and not targets.is_floating_point()


def _run_epoch(
    model: nn.Module,
    loader: Iterable[Batch],
    loss_fn: LossFn,
    device: torch.device,
    name: str,
    optimizer: torch.optim.Optimizer | None = None,
    penalty: Callable[[nn.Module], torch.Tensor] | None = None,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
) -> tuple[float, float]:
    """One pass over ``loader``; trains when ``optimizer`` is given. Returns (loss, accuracy).

    A ``scheduler`` given here is stepped after every optimizer step.
    """
    # Per batch only references are kept; the sums are taken once per epoch,
    # so the loop adds no tensor operation and no .item() sync per batch.
    losses, sizes, outputs_seen, targets_seen = [], [], [], []
    for x, y in loader:
        if x.device != device:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        outputs = model(x)
        loss = loss_fn(outputs, y)
        if optimizer is not None:
            total = loss if penalty is None else loss + penalty(model)
            optimizer.zero_grad(set_to_none=True)
            total.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
        losses.append(loss.detach())
        sizes.append(len(y))
        outputs_seen.append(outputs.detach())
        targets_seen.append(y)
    if not losses:
        raise ValueError(f"{name} yielded no batches; it must not be empty")
    count = sum(sizes)
    mean_loss = torch.stack(losses) @ torch.tensor(sizes, dtype=losses[0].dtype, device=device)
    acc = math.nan
    if all(_is_classification(o, t) for o, t in zip(outputs_seen, targets_seen, strict=True)):
        correct = (torch.cat(outputs_seen).argmax(dim=1) == torch.cat(targets_seen)).sum()
        acc = correct.item() / count
    return mean_loss.item() / count, acc


def evaluate(model: nn.Module, loader: Iterable[Batch], loss_fn: LossFn | None = None) -> dict:
    """Return the mean loss and the accuracy of ``model`` over ``loader``, in eval mode.

    Parameters
    ----------
    model : torch.nn.Module
        The model; its train/eval mode is restored afterwards.
    loader : iterable of tuple
        Batches ``(inputs, targets)`` to evaluate on; must not be empty.
    loss_fn : callable, optional
        ``loss_fn(outputs, targets)`` returning a mean loss; cross-entropy by default.

    Returns
    -------
    dict
        ``{"loss": float, "acc": float}``, named as in :class:`History`; ``acc`` is
        ``nan`` for regression targets.

    Raises
    ------
    TypeError
        If ``loader`` is not an iterable of batches.
    ValueError
        If ``loader`` is empty.
    """
    check_loader(loader, "loader")
    loss_fn = nn.functional.cross_entropy if loss_fn is None else loss_fn
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            loss, acc = _run_epoch(model, loader, loss_fn, _model_device(model), "loader")
    finally:
        model.train(was_training)
    return {"loss": loss, "acc": acc}


def fit(
    model: nn.Module,
    train_loader: Iterable[Batch],
    *,
    epochs: int,
    optimizer: torch.optim.Optimizer,
    loss_fn: LossFn | None = None,
    val_loader: Iterable[Batch] | None = None,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    scheduler_interval: str = "epoch",
    penalty: Callable[[nn.Module], torch.Tensor] | None = None,
    early_stopping: EarlyStopping | None = None,
    progress: bool = True,
) -> History:
    """Train ``model`` for up to ``epochs`` epochs and record the learning curves.

    Each epoch trains on ``train_loader`` (the recorded training loss and
    accuracy are averages over that epoch's batches, taken while the weights
    change), then evaluates on ``val_loader`` in eval mode, then steps the
    ``scheduler`` once (or, with ``scheduler_interval="step"``, after every batch).

    Parameters
    ----------
    model : torch.nn.Module
        The model; batches are moved to the device of its parameters.
    train_loader : iterable of tuple
        Training batches ``(inputs, targets)``, e.g. from :func:`coursepkg.data.make_loader`.
    epochs : int
        Maximum number of epochs, ``>= 1``.
    optimizer : torch.optim.Optimizer
        Optimizer over the model's parameters.
    loss_fn : callable, optional
        ``loss_fn(outputs, targets)``; cross-entropy when not given.
    val_loader : iterable of tuple, optional
        Validation batches ``(inputs, targets)``, evaluated after every epoch.
    scheduler : torch.optim.lr_scheduler.LRScheduler, optional
        A learning-rate scheduler of ``optimizer``, e.g. from
        :func:`coursepkg.schedules.lambda_lr`. ``ReduceLROnPlateau`` is stepped with
        the epoch's validation loss (the training loss without ``val_loader``).
    scheduler_interval : {"epoch", "step"}, default "epoch"
        Step the scheduler once per epoch or after every optimizer step.
    penalty : callable, optional
        ``penalty(model)`` returns a scalar tensor added to the loss before the
        backward pass, e.g. an L2 penalty (:ref:`ch-penalties`).
    early_stopping : EarlyStopping, optional
        Watches the validation loss (needs ``val_loader``); when it stops
        training, the best weights are restored if it was built with ``restore_best``.
    progress : bool, default True
        Show one tqdm progress bar for the whole run.

    Returns
    -------
    History
        The per-epoch record.

    Raises
    ------
    TypeError
        If ``epochs`` is not an integer, a loader not an iterable of batches, or
        ``scheduler`` not a :mod:`torch.optim.lr_scheduler` scheduler (e.g. a
        schedule function not wrapped by :func:`~coursepkg.schedules.lambda_lr`).
    ValueError
        If ``epochs < 1``; if a loader is empty, or yields no batch in some epoch
        (an iterator is spent after one pass); if ``early_stopping`` is given
        without ``val_loader``; if ``scheduler_interval`` is neither ``"epoch"`` nor
        ``"step"``, or is ``"step"`` with ``ReduceLROnPlateau``.
    """
    check_positive_int(epochs, "epochs")
    check_loader(train_loader, "train_loader")
    if val_loader is not None:
        check_loader(val_loader, "val_loader")
    if early_stopping is not None and val_loader is None:
        raise ValueError("early_stopping needs a val_loader to watch")
    schedulers = (torch.optim.lr_scheduler.LRScheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
    if scheduler is not None and not isinstance(scheduler, schedulers):  # one class from torch 2.2
        kind = type(scheduler).__name__  # e.g. a schedule function not wrapped by lambda_lr
        raise TypeError(f"scheduler must be a torch.optim.lr_scheduler scheduler, got {kind}")
    if scheduler_interval not in ("epoch", "step"):
        raise ValueError(
            f"scheduler_interval must be 'epoch' or 'step', got {scheduler_interval!r}"
        )
    plateau = isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
    if plateau and scheduler_interval == "step":
        raise ValueError(
            "scheduler_interval must be 'epoch' with ReduceLROnPlateau, which watches an "
            "epoch's loss"
        )
    per_step = scheduler if scheduler_interval == "step" else None
    loss_fn = nn.functional.cross_entropy if loss_fn is None else loss_fn
    device = _model_device(model)
    if early_stopping is not None:
        early_stopping.reset()
    history = History()
    best_loss = math.inf
    bar = tqdm(range(1, epochs + 1), disable=not progress, leave=True, unit="epoch")
    for epoch in bar:
        history.lr.append(optimizer.param_groups[0]["lr"])
        model.train()
        train_loss, train_acc = _run_epoch(
            model, train_loader, loss_fn, device, "train_loader", optimizer, penalty, per_step
        )
        val_loss, val_acc = math.nan, math.nan
        if val_loader is not None:
            metrics = evaluate(model, val_loader, loss_fn)
            val_loss, val_acc = metrics["loss"], metrics["acc"]
        history.epoch.append(epoch)
        history.train_loss.append(train_loss)
        history.train_acc.append(train_acc)
        history.val_loss.append(val_loss)
        history.val_acc.append(val_acc)
        watched = val_loss if val_loader is not None else train_loss
        if watched < best_loss:
            best_loss, history.best_epoch = watched, epoch
        if plateau:
            scheduler.step(watched)
        elif scheduler is not None and per_step is None:
            scheduler.step()
        bar.set_postfix(train_loss=f"{train_loss:.3f}", val_loss=f"{val_loss:.3f}", refresh=False)
        if early_stopping is not None:
            stop = early_stopping.step(val_loss, model)
            history.best_epoch = early_stopping.best_epoch  # the epoch it restores
            if stop:
                history.stopped_early = True
                break
    bar.close()
    if early_stopping is not None:
        early_stopping.restore(model)
    return history
