"""The few exception types errpredict raises.

Each subclasses a builtin so that callers can catch them as they would the
builtin, as scikit-learn does. Messages name the object, what was expected,
what came and how to fix it.
"""

from __future__ import annotations

__all__ = [
    "ErrpredictError",
    "SchemaError",
    "DataFormatError",
    "ConfigError",
    "NotFittedError",
    "ModelBundleError",
    "FeedbackError",
]


class ErrpredictError(Exception):
    """Base class of every error errpredict raises on purpose."""


class SchemaError(ErrpredictError, ValueError):
    """The events do not fit the canonical schema (a column, a row or a value)."""


class DataFormatError(ErrpredictError, ValueError):
    """A file cannot be read: unknown type, empty, malformed line or truncated body."""


class ConfigError(ErrpredictError, ValueError):
    """A parameter has a value outside what it accepts."""


class NotFittedError(ErrpredictError, ValueError, AttributeError):
    """An estimator was used before ``fit``."""


class ModelBundleError(ErrpredictError, ValueError):
    """A model bundle is missing, corrupt or incompatible with this version."""


class FeedbackError(ErrpredictError, ValueError):
    """A prediction id or outcome given as feedback is unknown or invalid."""
