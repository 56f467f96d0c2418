"""Estimators: ``predict`` for regression and anomaly, ``predict_proba`` for binary and multiclass.

Both take the feature frame and the scoring keyword arguments
(``positive_class_label``, ``negative_class_label``, ``class_labels``) and
return a DataFrame: one column for regression/anomaly, one column per class
label (named by the label) for classification.
"""
from __future__ import annotations

from .custom_task_interface import CustomTaskInterface


class EstimatorInterface(CustomTaskInterface):
    def predict(self, X, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define predict(X, **kwargs)")


class _Classifier(EstimatorInterface):
    def predict(self, X, **kwargs):
        """Classifiers are scored through predict_proba; predict is unused."""
        return None

    def predict_proba(self, X, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define predict_proba(X, **kwargs)")


class BinaryEstimatorInterface(_Classifier):
    pass


class MulticlassEstimatorInterface(_Classifier):
    pass


class RegressionEstimatorInterface(EstimatorInterface):
    pass


class AnomalyEstimatorInterface(EstimatorInterface):
    pass
