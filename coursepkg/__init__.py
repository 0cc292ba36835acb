"""Companion package of the course *Regularization in Neural Networks*.

Each concept lives in its own module, and the chapters import each name from the
module that defines it (``from coursepkg.training import fit``), so a reader sees
where it lives. Randomness comes in two forms with one rule: what builds data once
takes ``seed=`` (the same seed, the same data); what draws afresh at every call
(dropout masks, augmentations) takes ``generator=``, a :class:`torch.Generator`,
as torch's own functions do.
"""

from importlib.metadata import version

__version__ = version("coursepkg")
