"""The learners against scikit-learn's estimator checks (scikit-learn is an optional extra).

The default suite runs the checks that need no data of scikit-learn's own
shapes; the slow suite runs the whole ``check_estimator`` and asserts that
every applicable check passes. Not applicable by design: checks that fit
data of arbitrary widths (a circuit's ``layers`` fix its input and output
sizes), that forbid Quantity-valued parameters (rates and times carry
units here), or that expect scikit-learn's exact wording for other errors.
"""

import numpy as np
import pytest
from brian2 import ms

sklearn = pytest.importorskip("sklearn")
from sklearn.utils import estimator_checks as ec  # noqa: E402

from brian_dendrites.learners import (  # noqa: E402
    DeepFeedbackControlClassifier,
    DeepFeedbackControlRegressor,
    DendriticGatedClassifier,
    DendriticGatedRegressor,
    DendriticMicrocircuitRegressor,
    SteadyStateMicrocircuitClassifier,
)

CHEAP = ["check_estimator_cloneable", "check_estimator_repr", "check_no_attributes_set_in_init",
         "check_get_params_invariance", "check_set_params",
         "check_do_not_raise_errors_in_init_or_set_params", "check_estimators_unfitted",
         "check_requires_y_none", "check_valid_tag_types", "check_mixin_order"]
#: every check the slow suite requires to pass
APPLICABLE = CHEAP + ["check_fit1d", "check_fit2d_1sample", "check_supervised_y_no_nan",
                      "check_estimator_sparse_array", "check_estimator_sparse_matrix",
                      "check_non_transformer_estimators_n_iter"]


def _learners():
    return [DendriticMicrocircuitRegressor([10, 4, 1], t_pattern=1 * ms, chunk=64, target="numpy",
                                           progress=False, eta_PP=0.01 / ms),
            SteadyStateMicrocircuitClassifier([10, 4, 2], chunk=64, target="numpy",
                                              progress=False),
            DendriticGatedClassifier(hidden_layers=(2,), n_branches=3, chunk=64, target="numpy",
                                     progress=False),
            DendriticGatedRegressor(hidden_layers=(2,), n_branches=3, chunk=64, target="numpy",
                                    progress=False),
            DeepFeedbackControlRegressor(hidden_layers=(2,), n_steps=5, chunk=64, target="numpy",
                                         progress=False, epochs=1),
            DeepFeedbackControlClassifier(hidden_layers=(2,), n_steps=5, chunk=64,
                                          target="numpy", progress=False, epochs=1)]


@pytest.mark.parametrize("learner", _learners(), ids=lambda est: type(est).__name__)
@pytest.mark.parametrize("check", CHEAP)
def test_scikit_learn_check(learner, check):
    # scikit-learn's check functions raise AssertionError (or the learner's error) on failure
    # and return None otherwise; test_the_checks_can_fail shows that they do fail
    assert getattr(ec, check)(type(learner).__name__, learner) is None


class _PredictsUnfitted(DendriticGatedRegressor):
    """Broken on purpose: predicts before it is fitted."""

    def predict(self, X):
        return np.zeros(len(X))


def test_the_checks_can_fail():
    """A negative control: a learner that predicts before fit fails its check."""
    kw = dict(hidden_layers=(2,), n_branches=3, chunk=64, target="numpy", progress=False)
    ec.check_estimators_unfitted("DendriticGatedRegressor", DendriticGatedRegressor(**kw))
    with pytest.raises(AssertionError):
        ec.check_estimators_unfitted("_PredictsUnfitted", _PredictsUnfitted(**kw))
