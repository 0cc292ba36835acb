import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from coursepkg.stats import MIN_SEEDS, compare


def test_margin_is_the_paired_t_statistic():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0.9, 0.02, 8), rng.normal(0.88, 0.02, 8)
    c = compare(a, b)
    assert c.diff == pytest.approx(np.mean(a - b), rel=1e-12)
    assert c.se == pytest.approx(np.std(a - b, ddof=1) / math.sqrt(8), rel=1e-12)
    assert c.margin == pytest.approx(scipy_stats.ttest_rel(a, b).statistic, rel=1e-12)


def test_a_constant_b_is_a_one_sample_comparison():
    a = [0.11, 0.09, 0.13, 0.10, 0.12]
    c = compare(a, 0.1)
    assert c.margin == pytest.approx(scipy_stats.ttest_1samp(a, 0.1).statistic, rel=1e-12)
    assert not c.resolved  # 1.4 standard errors above chance


def test_resolved_means_beyond_two_standard_errors():
    base = np.array([0.0, 0.1, -0.1, 0.2, -0.2])  # differences of SE 0.0707 around the shift
    se = np.std(base, ddof=1) / math.sqrt(5)
    assert compare(base + 2.01 * se, 0.0).resolved
    assert not compare(base + 1.99 * se, 0.0).resolved
    assert compare(-base - 2.01 * se, 0.0).margin < -2


def test_equal_differences_are_resolved_unless_zero():
    assert compare([2.0] * 5, [1.0] * 5).margin == math.inf
    assert compare([1.0] * 5, [2.0] * 5).resolved
    assert not compare([1.0] * 5, [1.0] * 5).resolved


def test_the_report_says_the_verdict():
    assert "inside the noise (+0.0 SE)" in str(compare([1.0, 2.0, 3.0, 4.0, 5.0], 3.0))
    assert "resolved (+17.0 SE)" in str(compare([1.0, 1.1, 1.2, 1.3, 1.4], 0.0))
    assert MIN_SEEDS == 5


def test_the_brief_form_is_for_a_sentence():
    assert compare([1.0, 2.0, 3.0, 4.0, 5.0], 3.0).brief() == "+0.000 ± 0.707, inside the noise"
    assert compare([1.0, 1.1, 1.2, 1.3, 1.4], 0.0).brief(2) == "+1.20 ± 0.07, beyond 2 SE"


def test_the_docstring_example_holds():
    import doctest

    import coursepkg.stats

    result = doctest.testmod(coursepkg.stats)
    assert result.attempted > 0 and result.failed == 0
