"""Learners: scikit-learn-style estimators on the compile-once engine.

:class:`~.base.Learner` implements training once (chunks of samples through
one compiled circuit, state carried between runs, history, save/load); each
theory's learner says only how samples are presented and outputs decoded.
"""

from .base import Learner, check_XY
from .dfc import DeepFeedbackControlClassifier, DeepFeedbackControlRegressor
from .dgn import DendriticGatedClassifier, DendriticGatedRegressor
from .microcircuit import DendriticMicrocircuitRegressor
from .steady_state import SteadyStateMicrocircuitClassifier

__all__ = ["Learner", "check_XY", "DendriticMicrocircuitRegressor",
           "SteadyStateMicrocircuitClassifier", "DendriticGatedClassifier",
           "DendriticGatedRegressor", "DeepFeedbackControlRegressor",
           "DeepFeedbackControlClassifier"]
