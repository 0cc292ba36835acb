"""Exercise checks, one module per chapter, all built on :mod:`.framework`.

Usage in a chapter: ``from coursepkg.exercises import overfitting as ex`` then
``ex.check_best_degree(best_degree)``.
"""

from coursepkg.exercises import (
    batchnorm,
    dropout,
    initialization,
    overfitting,
    penalties,
    resnet,
    schedules,
)
from coursepkg.exercises.framework import Feedback, check_function, check_value, compare

__all__ = [
    "Feedback",
    "batchnorm",
    "check_function",
    "check_value",
    "compare",
    "dropout",
    "initialization",
    "overfitting",
    "penalties",
    "resnet",
    "schedules",
]
