import json
import math

import numpy as np
import pytest

from alignfactors.estimate import Estimate


def test_fields_are_plain_floats_and_frozen():
    e = Estimate(np.float64(0.2), (np.float32(0.1), 0.3), se=0.05, n_boot=np.int64(100))
    assert type(e.value) is float and type(e.ci[0]) is float and type(e.n_boot) is int
    with pytest.raises(AttributeError):
        e.value = 1.0


def test_to_dict_has_design_keys_and_is_json():
    d = Estimate(0.2, (0.1, math.nan), se=0.05, level=0.95, method="bca", n_boot=10).to_dict()
    assert list(d)[:7] == ["value", "ci_low", "ci_high", "se", "level", "method", "n_boot"]
    assert d["ci_high"] is None
    json.dumps(d, allow_nan=False)


def test_format_and_dagger_when_estimate_outside_interval():
    assert Estimate(0.2, (0.1, 0.3)).format(2) == "0.20 [0.10, 0.30]"
    biased = Estimate(1.156, (1.303, 1.839))
    assert biased.outside and biased.format(2).endswith("†")
    assert Estimate(0.5).format(1) == "0.5" and not Estimate(0.5).outside


def test_distribution_not_compared():
    a = Estimate(0.2, (0.1, 0.3), distribution=np.array([1.0]))
    b = Estimate(0.2, (0.1, 0.3), distribution=np.array([2.0]))
    assert a == b
