import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
from matplotlib.axes import Axes

from coursepkg.plotting import plot_learning_curves, plot_runs, plot_schedules
from coursepkg.training import History


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def history():
    return History(
        epoch=[1, 2, 3],
        train_loss=[1.0, 0.5, 0.3],
        train_acc=[0.5, 0.8, 0.9],
        val_loss=[1.1, 0.7, 0.8],
        val_acc=[0.4, 0.7, 0.65],
        lr=[0.1, 0.1, 0.01],
        best_epoch=2,
    )


def _legend(ax):
    return [text.get_text() for text in ax.get_legend().get_texts()]


def test_learning_curves_of_the_loss(history):
    ax = plot_learning_curves(history)
    assert isinstance(ax, Axes)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("epoch", "loss")
    assert ax.get_title() == "Learning curves (loss)"
    train, val, best = ax.get_lines()
    assert list(train.get_xdata()) == [1, 2, 3]
    assert list(train.get_ydata()) == history.train_loss
    assert list(val.get_ydata()) == history.val_loss
    assert list(best.get_xdata()) == [2, 2]  # vertical line at the best epoch
    assert _legend(ax) == ["training loss", "validation loss", "best epoch (2)"]


def test_learning_curves_of_the_accuracy_on_given_axes(history):
    _, given = plt.subplots()
    ax = plot_learning_curves(history, metric="acc", ax=given, title="Run A")
    assert ax is given
    assert ax.get_ylabel() == "accuracy"
    assert ax.get_title() == "Run A"
    assert [list(line.get_ydata()) for line in ax.get_lines()[:2]] == [
        history.train_acc,
        history.val_acc,
    ]
    assert _legend(ax)[:2] == ["training accuracy", "validation accuracy"]


def test_learning_curves_without_best_epoch_draw_no_marker(history):
    history.best_epoch = None
    ax = plot_learning_curves(history, metric="acc")
    assert ax.get_title() == "Learning curves (accuracy)"
    assert len(ax.get_lines()) == 2
    assert _legend(ax) == ["training accuracy", "validation accuracy"]


def test_plot_runs_draws_one_line_per_run(history):
    other = History(epoch=[1, 2], val_acc=[0.2, 0.3], lr=[1.0, 0.5])
    ax = plot_runs({"p = 0.5": history, 0.1: other})
    assert isinstance(ax, Axes)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("epoch", "validation accuracy")
    assert ax.get_title() == "Validation accuracy by run"
    assert [list(line.get_ydata()) for line in ax.get_lines()] == [history.val_acc, [0.2, 0.3]]
    assert _legend(ax) == ["p = 0.5", "0.1"]


def test_plot_runs_of_the_learning_rate_on_given_axes(history):
    _, given = plt.subplots()
    ax = plot_runs({"a": history}, metric="lr", ax=given, title="Schedules")
    assert ax is given
    assert (ax.get_ylabel(), ax.get_title()) == ("learning rate", "Schedules")
    assert list(ax.get_lines()[0].get_ydata()) == [0.1, 0.1, 0.01]


def test_plot_schedules_draws_each_schedule_over_the_steps():
    ax = plot_schedules({"half": lambda t: 0.5 / (t + 1), "flat": lambda t: 0.1}, 4)
    assert isinstance(ax, Axes)
    assert _legend(ax) == ["half", "flat"]
    assert list(ax.get_lines()[0].get_xdata()) == [0, 1, 2, 3]
    assert list(ax.get_lines()[0].get_ydata()) == [0.5, 0.25, 0.5 / 3, 0.125]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("step", "learning rate")
