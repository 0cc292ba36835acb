r"""Principal component analysis: the directions of largest variance.

Centre the rows of :math:`X` (:math:`N \times D`), take the thin SVD
:math:`X_c = U S V^\top`; the first :math:`k` rows of :math:`V^\top` are the
principal axes, :math:`U_k S_k` the coordinates (scores) of the samples along them,
and :math:`S_i^2 / \sum_j S_j^2` the fraction of the variance each axis explains.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

__all__ = ["PCA", "pca"]


class PCA(NamedTuple):
    """Scores ``(N, k)``, axes ``(k, D)``, explained variance ratios ``(k,)``, mean ``(D,)``."""

    scores: torch.Tensor
    components: torch.Tensor
    explained_variance_ratio: torch.Tensor
    mean: torch.Tensor


def pca(x: torch.Tensor, n_components: int = 2) -> PCA:
    """Project the rows of ``x`` on their first ``n_components`` principal axes.

    The sign of each axis is fixed so that its largest-magnitude entry is
    positive, so the result does not depend on the SVD routine's sign choice.

    Parameters
    ----------
    x : torch.Tensor
        Samples ``(N, D)`` with ``N >= 2``.
    n_components : int, default 2
        Number of axes ``k``, ``1 <= k <= min(N, D)``.

    Returns
    -------
    PCA
        The scores, the axes, the explained variance ratios and the mean.

    Raises
    ------
    ValueError
        If ``n_components > min(N, D)``.
    """
    k = n_components
    if k > min(x.shape):  # slicing would silently return fewer axes
        raise ValueError(f"n_components must be <= min(N, D) = {min(x.shape)}, got {k}")
    x = x.double()
    mean = x.mean(dim=0)
    u, s, vt = torch.linalg.svd(x - mean, full_matrices=False)
    signs = torch.sign(vt[torch.arange(len(vt)), vt.abs().argmax(dim=1)])
    u, vt = u * signs, vt * signs[:, None]
    variance = s**2
    ratio = variance / variance.sum().clamp(min=1e-300)
    return PCA((u[:, :k] * s[:k]), vt[:k], ratio[:k], mean)
