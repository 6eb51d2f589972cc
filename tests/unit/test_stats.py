import numpy as np
import pytest
from scipy.stats import bootstrap

from tasks.stats import bootstrap_ci, mean_with_ci


def test_interval_agrees_with_scipy_percentile_bootstrap():
    data = np.random.default_rng(1).binomial(1, 0.6, size=400).astype(float)
    ours = bootstrap_ci(data, resamples=4000)
    ref = bootstrap(
        (data,), np.mean, confidence_level=0.95, n_resamples=4000, method="percentile", random_state=0
    ).confidence_interval
    assert ours[0] == pytest.approx(ref.low, abs=0.01)
    assert ours[1] == pytest.approx(ref.high, abs=0.01)


def test_interval_is_deterministic_and_narrows_with_more_data():
    rng = np.random.default_rng(2)
    small, large = rng.normal(size=50), rng.normal(size=5000)
    assert bootstrap_ci(small) == bootstrap_ci(small)
    width = lambda ci: ci[1] - ci[0]  # noqa: E731
    assert width(bootstrap_ci(large)) < width(bootstrap_ci(small)) / 5


def test_mean_with_ci_keys_and_order():
    m = mean_with_ci("accuracy", [0.0, 1.0, 1.0, 1.0])
    assert m["accuracy"] == 0.75
    assert m["accuracy_ci95_low"] <= m["accuracy"] <= m["accuracy_ci95_high"]
    assert np.isnan(bootstrap_ci([])[0])
