"""The KL weight per epoch, at epochs where its value is known."""

import pytest

from latentlab.train.kl_schedule import beta_at


def _beta(epoch, schedule, **kw):
    args = {"beta": 2.0, "warmup_epochs": 4, "cycles": 3, "epochs": 30, **kw}
    return beta_at(epoch, schedule=schedule, **args)


def test_constant_is_beta_every_epoch():
    assert [_beta(e, "constant") for e in (1, 2, 30)] == [2.0, 2.0, 2.0]


def test_linear_ramps_then_holds():
    assert [_beta(e, "linear") for e in (1, 2, 3, 4, 5, 30)] == [0.5, 1.0, 1.5, 2.0, 2.0, 2.0]


def test_cyclical_restarts_the_ramp_each_cycle():
    # 30 epochs in 3 cycles of 10: the ramp restarts at epochs 11 and 21
    values = {e: _beta(e, "cyclical") for e in (1, 4, 10, 11, 12, 20, 21, 24, 30)}
    assert values == {1: 0.5, 4: 2.0, 10: 2.0, 11: 0.5, 12: 1.0, 20: 2.0, 21: 0.5, 24: 2.0,
                      30: 2.0}


def test_no_warmup_means_constant():
    assert _beta(1, "linear", warmup_epochs=0) == 2.0
    assert _beta(1, "cyclical", warmup_epochs=0) == 2.0


def test_unknown_schedule():
    with pytest.raises(ValueError, match="unknown KL schedule"):
        _beta(1, "sigmoid")
