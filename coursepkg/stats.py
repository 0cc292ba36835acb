r"""Paired comparisons over seeds: how every chapter decides that one arm beats another.

The protocol (the page :ref:`how-we-measure`):

- Run every arm on the **same seeds** (the same data split, initial weights and batch
  order for a given seed), at least ``MIN_SEEDS`` (5) of them, and compare the arms
  seed by seed: the paired differences :math:`d_s = a_s - b_s`.
- Report their mean :math:`\bar d` and its standard error
  :math:`\mathrm{SE} = s_d / \sqrt n`, with :math:`s_d` the sample standard deviation
  (``ddof=1``).
- Say "A beats B" only when :math:`|\bar d| > 2\,\mathrm{SE}`; otherwise the difference
  is *inside the noise*, and its size is shown all the same.
- Competing arms get the same budget and their own hyperparameters, chosen on
  validation data; the numbers compared are measured on the test set. A choice is
  never made and scored on the same data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Comparison", "compare"]

MIN_SEEDS = 5


@dataclass(frozen=True)
class Comparison:
    """Arm ``a`` against arm ``b``, seed by seed; build it with :func:`compare`."""

    a: np.ndarray  # (n,) one value per seed
    b: np.ndarray  # (n,) the same seeds, or a constant repeated

    @property
    def n(self) -> int:
        """Number of seeds."""
        return len(self.a)

    @property
    def diff(self) -> float:
        """Mean of the paired differences a − b."""
        return float(np.mean(self.a - self.b))

    @property
    def se(self) -> float:
        """The standard error of that mean, s_d / √n."""
        return float(np.std(self.a - self.b, ddof=1) / math.sqrt(self.n))

    @property
    def margin(self) -> float:
        """The mean difference in standard errors (± inf when every difference is equal)."""
        if self.se > 0:
            return self.diff / self.se
        return 0.0 if self.diff == 0 else math.copysign(math.inf, self.diff)

    @property
    def resolved(self) -> bool:
        """True when the difference exceeds 2 standard errors (one arm then beats the other)."""
        return abs(self.margin) > 2

    @property
    def verdict(self) -> str:
        """``"resolved"`` or ``"inside the noise"``, the words a page uses."""
        return "resolved" if self.resolved else "inside the noise"

    @property
    def words(self) -> str:
        """``"beyond 2 SE"`` or ``"inside the noise"``, for a sentence."""
        return "beyond 2 SE" if self.resolved else "inside the noise"

    def brief(self, digits: int = 3) -> str:
        """``"+0.006 ± 0.008, inside the noise"``: the difference for a sentence."""
        return f"{self.diff:+.{digits}f} ± {self.se:.{digits}f}, {self.words}"

    def __str__(self) -> str:
        return (
            f"{np.mean(self.a):.4g} vs {np.mean(self.b):.4g}: difference {self.diff:+.4g}"
            f" ± {self.se:.2g} (SE, {self.n} paired seeds), {self.verdict}"
            f" ({self.margin:+.1f} SE)"
        )


def compare(a, b) -> Comparison:
    """Compare arm ``a`` with arm ``b`` over the same seeds.

    Parameters
    ----------
    a : sequence of float
        One measurement per seed, at least ``MIN_SEEDS`` (5) of them.
    b : sequence of float or float
        The other arm on the same seeds, in the same order; or a number, such as
        chance accuracy, which compares ``a`` with that constant.

    Returns
    -------
    Comparison
        Mean difference, its standard error, its margin in standard errors, and
        whether it is resolved (beyond 2 standard errors).

    Raises
    ------
    ValueError
        If ``a`` and ``b`` differ in length, ``a`` has fewer than ``MIN_SEEDS``
        values, or a value is not finite (a diverged run).

    Examples
    --------
    >>> c = compare([0.91, 0.93, 0.90, 0.92, 0.94], [0.88, 0.91, 0.88, 0.90, 0.91])
    >>> round(c.diff, 3), round(c.se, 4), c.resolved
    (0.024, 0.0024, True)
    """
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel() if np.ndim(b) else np.full_like(a, float(b))
    if len(a) != len(b):
        raise ValueError(f"a and b must hold one value per seed each, got {len(a)} and {len(b)}")
    if len(a) < MIN_SEEDS:
        raise ValueError(f"a comparison needs at least {MIN_SEEDS} seeds, got {len(a)}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("a and b must be finite; a NaN or inf means a run diverged")
    return Comparison(a, b)
