"""Companion package of the course *Regularization in Neural Networks*.

The chapters import what they use from here; each concept lives in its own module.
"""

from coursepkg.batchnorm import BatchNorm1d, BatchNorm2d
from coursepkg.data import (
    DigitsSplit,
    RegressionData,
    corrupt_labels,
    load_digits_split,
    make_loader,
    make_polynomial_regression,
    make_sparse_regression,
)
from coursepkg.dropout import Dropout, dropout
from coursepkg.early_stopping import EarlyStopping
from coursepkg.metrics import accuracy, confusion_matrix, precision_recall
from coursepkg.models import mlp
from coursepkg.pca import PCA, pca
from coursepkg.penalties import (
    WeightPenalty,
    decay_param_groups,
    elastic_net_penalty,
    l1_penalty,
    l2_penalty,
    soft_threshold_,
    sparsity,
    split_decay_parameters,
)
from coursepkg.plotting import plot_learning_curves, plot_runs, plot_schedules
from coursepkg.polynomial import (
    fit_polynomial,
    mean_squared_error,
    polynomial_features,
    predict_polynomial,
)
from coursepkg.range_test import RangeTest, lr_range_test
from coursepkg.resnet import resnet50
from coursepkg.training import History, evaluate, fit
from coursepkg.utils import get_device, seed_everything, show_source
from coursepkg.visibility import VisibilityData, make_visibility_data

__version__ = "0.1.0"

__all__ = [
    "PCA",
    "BatchNorm1d",
    "BatchNorm2d",
    "DigitsSplit",
    "Dropout",
    "EarlyStopping",
    "History",
    "RangeTest",
    "RegressionData",
    "VisibilityData",
    "WeightPenalty",
    "accuracy",
    "confusion_matrix",
    "corrupt_labels",
    "decay_param_groups",
    "dropout",
    "elastic_net_penalty",
    "evaluate",
    "fit",
    "fit_polynomial",
    "get_device",
    "l1_penalty",
    "l2_penalty",
    "load_digits_split",
    "lr_range_test",
    "make_loader",
    "make_polynomial_regression",
    "make_sparse_regression",
    "make_visibility_data",
    "mean_squared_error",
    "mlp",
    "pca",
    "plot_learning_curves",
    "plot_runs",
    "plot_schedules",
    "polynomial_features",
    "precision_recall",
    "predict_polynomial",
    "resnet50",
    "seed_everything",
    "show_source",
    "soft_threshold_",
    "sparsity",
    "split_decay_parameters",
]
