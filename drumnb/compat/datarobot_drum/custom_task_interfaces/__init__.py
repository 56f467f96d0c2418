"""``datarobot_drum.custom_task_interfaces``: base classes of custom tasks, and the secrets they read.

A custom task folder's ``custom.py`` defines ``class CustomTask(<Interface>)``
instead of hook functions.  drumnb scores such a folder the way DRUM does
(:mod:`drumnb.compat.tasks`): ``CustomTask.load(code_dir)`` once, then
``transform(X)`` (transformers), ``predict_proba(X, **labels)`` (binary,
multiclass) or ``predict(X, **kwargs)`` (the other target types).
"""
from .custom_task_interface import CustomTaskInterface, Serializable
from .estimator_interfaces import (AnomalyEstimatorInterface, BinaryEstimatorInterface, EstimatorInterface,
                                   MulticlassEstimatorInterface, RegressionEstimatorInterface)
from .transform_interface import TransformerInterface
from .user_secrets import (AbstractSecret, AdlsGen2OauthSecret, ApiTokenSecret, AzureSecret,
                           AzureServicePrincipalSecret, BasicSecret, DatabricksAccessTokenAccountSecret, GCPKey,
                           GCPSecret, OauthSecret, S3Secret, SnowflakeKeyPairUserAccountSecret,
                           SnowflakeOauthUserAccountSecret, TableauAccessTokenSecret)

__all__ = [
    "CustomTaskInterface", "Serializable", "TransformerInterface", "EstimatorInterface",
    "BinaryEstimatorInterface", "MulticlassEstimatorInterface", "RegressionEstimatorInterface",
    "AnomalyEstimatorInterface", "AbstractSecret", "AdlsGen2OauthSecret", "ApiTokenSecret", "AzureSecret",
    "AzureServicePrincipalSecret", "BasicSecret", "DatabricksAccessTokenAccountSecret", "GCPKey", "GCPSecret",
    "OauthSecret", "S3Secret", "SnowflakeKeyPairUserAccountSecret", "SnowflakeOauthUserAccountSecret",
    "TableauAccessTokenSecret",
]
