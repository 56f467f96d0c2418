"""Credentials a custom task reads as ``self.secrets[KEY]``.

Each credential is a JSON object with a ``credential_type`` (``basic``,
``api_token``, ``s3``, ...) and that type's fields; it becomes the matching
frozen dataclass below (unknown fields are dropped).  Sources, as DRUM reads
them: every file in the ``mount_path`` folder (file name = key) and every
``<env_var_prefix>_<KEY>`` environment variable; a file wins over a variable.
Values never show in ``repr`` or ``str``.
"""
from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping


class UnsupportedSecretError(ValueError):
    """A credential whose ``credential_type`` drumnb does not know."""


class AbstractSecret:
    def __repr__(self) -> str:
        shown = ", ".join(f"{f.name}={'*****' if getattr(self, f.name) is not None else None}"
                          for f in dataclasses.fields(self))  # type: ignore[arg-type]
        return f"{type(self).__name__}({shown})"

    __str__ = __repr__

    def is_partial_secret(self) -> bool:
        """True when part of the credential is held by an administrator's configuration (not in this secret)."""
        return bool(getattr(self, "config_id", None) or getattr(self, "oauth_config_id", None))

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "AbstractSecret":
        known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in values.items() if k in known})


@dataclass(frozen=True, repr=False)
class BasicSecret(AbstractSecret):
    username: str
    password: str
    snowflake_account_name: str | None = None


@dataclass(frozen=True, repr=False)
class ApiTokenSecret(AbstractSecret):
    api_token: str


@dataclass(frozen=True, repr=False)
class OauthSecret(AbstractSecret):
    token: str
    refresh_token: str


@dataclass(frozen=True, repr=False)
class S3Secret(AbstractSecret):
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None
    aws_session_token: str | None = None
    config_id: str | None = None


@dataclass(frozen=True, repr=False)
class AzureSecret(AbstractSecret):
    azure_connection_string: str


@dataclass(frozen=True, repr=False)
class AzureServicePrincipalSecret(AbstractSecret):
    client_id: str
    client_secret: str
    azure_tenant_id: str


@dataclass(frozen=True, repr=False)
class SnowflakeOauthUserAccountSecret(AbstractSecret):
    client_id: str | None
    client_secret: str | None
    snowflake_account_name: str | None
    oauth_issuer_type: str | None = None
    oauth_issuer_url: str | None = None
    oauth_scopes: str | None = None
    oauth_config_id: str | None = None


@dataclass(frozen=True, repr=False)
class SnowflakeKeyPairUserAccountSecret(AbstractSecret):
    username: str | None
    private_key_str: str | None
    passphrase: str | None = None
    config_id: str | None = None


@dataclass(frozen=True, repr=False)
class AdlsGen2OauthSecret(AbstractSecret):
    client_id: str
    client_secret: str
    oauth_scopes: str


@dataclass(frozen=True, repr=False)
class TableauAccessTokenSecret(AbstractSecret):
    token_name: str
    personal_access_token: str


@dataclass(frozen=True, repr=False)
class DatabricksAccessTokenAccountSecret(AbstractSecret):
    databricks_access_token: str


@dataclass(frozen=True, repr=False)
class GCPKey(AbstractSecret):
    """A Google service-account key (the JSON file's fields)."""

    type: str
    project_id: str | None = None
    private_key_id: str | None = None
    private_key: str | None = None
    client_email: str | None = None
    client_id: str | None = None
    auth_uri: str | None = None
    token_uri: str | None = None
    auth_provider_x509_cert_url: str | None = None
    client_x509_cert_url: str | None = None


@dataclass(frozen=True, repr=False)
class GCPSecret(AbstractSecret):
    gcp_key: GCPKey | None = None
    config_id: str | None = None

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "GCPSecret":
        values = dict(values)
        if isinstance(values.get("gcp_key"), Mapping):
            values["gcp_key"] = GCPKey.from_dict(values["gcp_key"])
        return super().from_dict(values)  # type: ignore[return-value]


#: ``credential_type`` -> secret class
SECRET_TYPES: dict[str, type[AbstractSecret]] = {
    "basic": BasicSecret, "oauth": OauthSecret, "gcp": GCPSecret, "s3": S3Secret, "azure": AzureSecret,
    "azure_service_principal": AzureServicePrincipalSecret,
    "snowflake_oauth_user_account": SnowflakeOauthUserAccountSecret,
    "snowflake_key_pair_user_account": SnowflakeKeyPairUserAccountSecret,
    "adls_gen2_oauth": AdlsGen2OauthSecret, "tableau_access_token": TableauAccessTokenSecret,
    "databricks_access_token_account": DatabricksAccessTokenAccountSecret, "api_token": ApiTokenSecret,
}


def secrets_factory(values: Mapping[str, Any]) -> AbstractSecret:
    kind = str(values.get("credential_type", "")).lower()
    if kind not in SECRET_TYPES:
        raise UnsupportedSecretError(f"unsupported credential_type {values.get('credential_type')!r}; "
                                     f"known: {', '.join(SECRET_TYPES)}")
    return SECRET_TYPES[kind].from_dict(values)


def load_secrets(mount_path: str | None, env_var_prefix: str | None) -> dict[str, AbstractSecret]:
    """The secrets of ``mount_path`` (a folder of JSON files) and ``<env_var_prefix>_*`` variables, by key."""
    raw: dict[str, Any] = {}
    if env_var_prefix:
        head = env_var_prefix + "_"
        raw.update({k[len(head):]: json.loads(v) for k, v in os.environ.items() if k.startswith(head)})
    if mount_path is not None:
        for path in sorted(Path(mount_path).glob("*")):
            if path.is_file():
                raw[path.name] = json.loads(path.read_text(encoding="utf-8"))
    return {key: secrets_factory(value) for key, value in raw.items()}
