"""``/openapi.json``: an OpenAPI 3.0 description of the running model's routes.

Only the routes that fit the model's target type are described, with its
labels and, where the model declares them, its input columns.
"""
from __future__ import annotations

from typing import Any

from ..core.contract import CLASSIFICATION, TEXTGENERATION, TRANSFORM, UNSTRUCTURED
from . import payloads

_MESSAGE = {"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]}
_ERROR = {"description": "error: {\"message\": \"ERROR: ...\"}",
          "content": {payloads.JSON: {"schema": {"$ref": "#/components/schemas/Message"}}}}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {payloads.JSON: {"schema": schema}}}


def _get(summary: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"get": {"summary": summary, "responses": {"200": _json(schema or {"$ref": "#/components/schemas/Message"}),
                                                      "513": _ERROR}}}


def _data_body(columns: list[str] | None) -> dict[str, Any]:
    row = {"type": "object", "description": "one row of features"}
    if columns:
        row["properties"] = {c: {} for c in columns}
    csv_desc = "CSV with a header row" + (f"; columns: {', '.join(columns[:50])}" if columns else "")
    return {"required": True, "content": {
        "text/csv": {"schema": {"type": "string", "description": csv_desc}},
        "text/plain": {"schema": {"type": "string", "description": "CSV, as text/csv"}},
        "text/mtx": {"schema": {"type": "string", "description": "Matrix Market (sparse)"}},
        payloads.ARROW: {"schema": {"type": "string", "format": "binary"}},
        "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}},
        "multipart/form-data": {"schema": {"type": "object", "required": [payloads.FIELD], "properties": {
            payloads.FIELD: {"type": "string", "format": "binary", "description": "a .csv/.mtx/.arrow/.parquet file"},
            payloads.SPARSE_FIELD: {"type": "string", "format": "binary",
                                    "description": "column names of a .mtx file, one a line"}}}},
    }}


def _predictions_schema(target_type: str, labels: list[str] | None) -> dict[str, Any]:
    if target_type in CLASSIFICATION:
        item = {"type": "object", "description": "probability of each class label",
                "properties": {label: {"type": "number"} for label in labels or []}}
    elif target_type == TEXTGENERATION:
        item = {"type": "string"}
    else:
        item = {"type": "number"}
    return {"type": "object", "required": ["predictions"], "properties": {
        "predictions": {"type": "array", "items": item},
        "extraModelOutput": {"type": "object", "description": "extra columns, pandas orient='split'",
                             "properties": {"columns": {"type": "array"}, "index": {"type": "array"},
                                            "data": {"type": "array"}}}}}


def build_spec(info: dict[str, Any], *, url_prefix: str, columns: list[str] | None,
               chat: bool, version: str) -> dict[str, Any]:
    """The OpenAPI document of a loaded model (``info`` is ``Model.info``)."""
    target_type = info.get("targetType", "")
    labels = info.get("classLabels")
    paths: dict[str, Any] = {
        "/": _get("server is up"), "/ping/": _get("server is up"), "/health/": _get("model is loaded"),
        "/info/": _get("model description", {"type": "object"}),
        "/stats/": _get("memory and prediction timing", {"type": "object"}),
        "/capabilities/": _get("payload formats and methods", {"type": "object"}),
        "/metrics": {"get": {"summary": "Prometheus metrics",
                             "responses": {"200": {"description": "text exposition format",
                                                   "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
    }
    errors = {"413": _ERROR, "422": _ERROR, "500": _ERROR, "513": _ERROR}
    if target_type == TRANSFORM:
        paths["/transform/"] = {"post": {
            "summary": "transform X (and pass y through)", "requestBody": _data_body(columns),
            "responses": {"200": _json({"type": "object", "properties": {
                "X.transformed": {"type": "string"}, "out.format": {"type": "string", "enum": ["csv", "sparse"]},
                "y.transformed": {"type": "string"}}}), **errors}}}
    elif target_type == UNSTRUCTURED:
        op = {"post": {"summary": "score any payload with score_unstructured",
                       "requestBody": {"content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}},
                       "responses": {"200": {"description": "the hook's answer"}, **errors}}}
        paths["/predictUnstructured/"] = paths["/predictionsUnstructured/"] = op
    else:
        responses = {"200": {"description": "predictions", "content": {
            payloads.JSON: {"schema": _predictions_schema(target_type, labels)},
            payloads.CSV: {"schema": {"type": "string"}},
            payloads.ARROW: {"schema": {"type": "string", "format": "binary"}}}}, **errors}
        op = {"post": {"summary": f"{target_type} predictions", "requestBody": _data_body(columns),
                       "responses": responses}}
        paths["/predict/"] = paths["/predictions/"] = op
    if chat:
        op = {"post": {"summary": "OpenAI chat completion",
                       "requestBody": {"content": {payloads.JSON: {"schema": {"type": "object"}}}},
                       "responses": {"200": _json({"type": "object"}), **errors}}}
        paths["/chat/completions/"] = paths["/v1/chat/completions/"] = op
        paths["/v1/models/"] = _get("models this chat model serves", {"type": "object"})
    title = (info.get("modelMetadata") or {}).get("name") or f"drumnb {target_type} model"
    return {
        "openapi": "3.0.3",
        "info": {"title": str(title), "version": version,
                 "description": f"{target_type} model served by drumnb"
                                + (f"; labels: {labels}" if labels else "")},
        "servers": [{"url": url_prefix or "/"}],
        "paths": paths,
        "components": {"schemas": {"Message": _MESSAGE}},
    }
