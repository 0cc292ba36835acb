"""Exercise checks, one module per chapter, all built on :mod:`.framework`.

Usage in a chapter: ``from coursepkg.exercises import overfitting as ex`` then
``ex.check_best_degree(best_degree)``. Each ``check_<name>`` has its right
answer beside it, ``reference_<name>``, built on the package's own functions
where the package has one.
"""
