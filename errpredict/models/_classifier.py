"""RiskClassifier: a calibrated binary classifier with time-ordered validation."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from errpredict.exceptions import ConfigError
from errpredict.models._threshold import choose_threshold

__all__ = ["RiskClassifier", "make_estimator", "MODEL_CHOICES"]

MODEL_CHOICES = ("hgb", "logreg")


def make_estimator(model: str, random_state=None, **params) -> BaseEstimator:
    """The uncalibrated estimator behind a model name."""
    if model == "hgb":
        defaults = dict(max_iter=300, learning_rate=0.1, max_leaf_nodes=31, min_samples_leaf=40,
                        l2_regularization=1.0, early_stopping=False, random_state=random_state)
        defaults.update(params)
        return HistGradientBoostingClassifier(**defaults)
    if model == "logreg":
        defaults = dict(C=1.0, max_iter=2000)
        defaults.update(params)
        return make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True),
                             StandardScaler(), LogisticRegression(**defaults))
    raise ConfigError(
        f"The 'model' parameter must be one of {MODEL_CHOICES}. Got {model!r} instead."
    )


class RiskClassifier(ClassifierMixin, BaseEstimator):
    """Binary risk model trained on the past, calibrated and thresholded on the recent past.

    Rows of ``X`` must be in time order: the last ``validation_fraction`` of
    them (the most recent part of the training period, never a random
    sample) stops boosting early, fits the probability calibration and
    chooses the alarm threshold.

    Parameters
    ----------
    model
        ``"hgb"`` (HistGradientBoosting) or ``"logreg"`` (logistic regression).
    validation_fraction
        Share of the most recent rows held out for calibration and threshold.
    calibration
        ``"sigmoid"`` (keeps the ranking), ``"isotonic"``, or ``None``.
    target_precision
        When set, the threshold is the lowest one whose validation precision
        reaches it (most recall at that precision); else the best F1.
    max_validation_rows
        At most this many of the most recent rows validate (``None``: no cap): on a long
        history a few days calibrate and choose the threshold as well as weeks do.
    max_train_rows
        Above this many training rows (before the validation part), boosting
        trains on a uniform sample of that many, spread over the whole period,
        so that long histories train in bounded time; the validation part is
        kept whole. ``None`` uses every row. (On a 30-day history the sample
        ranks as well as every row, in half the time; keeping only the most
        recent rows ranks worse.)
    random_state
        Seed of the boosting and of the sampling.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 3)); y = (X[:, 0] + 0.3 * rng.normal(size=400) > 1).astype(int)
    >>> clf = RiskClassifier(model="logreg").fit(X, y)
    >>> bool(clf.predict_proba(X[:5])[:, 1].max() <= 1.0), 0 < clf.threshold_ < 1
    (True, True)
    """

    def __init__(self, model: str = "hgb", validation_fraction: float = 0.2,
                 calibration: str | None = "sigmoid", target_precision: float | None = None,
                 max_train_rows: int | None = 40_000, max_validation_rows: int | None = 40_000,
                 random_state: int | None = 0):
        self.model = model
        self.validation_fraction = validation_fraction
        self.calibration = calibration
        self.target_precision = target_precision
        self.max_train_rows = max_train_rows
        self.max_validation_rows = max_validation_rows
        self.random_state = random_state

    def _check_params(self):
        if self.model not in MODEL_CHOICES:
            raise ConfigError(
                f"The 'model' parameter of RiskClassifier must be one of {MODEL_CHOICES}. "
                f"Got {self.model!r} instead."
            )
        if not isinstance(self.validation_fraction, float | int) or not (
            0.0 < self.validation_fraction < 1.0
        ):
            raise ConfigError(
                "The 'validation_fraction' parameter of RiskClassifier must be a float in "
                f"(0, 1). Got {self.validation_fraction!r} instead."
            )
        if self.calibration not in ("sigmoid", "isotonic", None):
            raise ConfigError(
                "The 'calibration' parameter of RiskClassifier must be 'sigmoid', 'isotonic' "
                f"or None. Got {self.calibration!r} instead."
            )
        tp = self.target_precision
        if tp is not None and not (isinstance(tp, float | int) and 0.0 < tp <= 1.0):
            raise ConfigError(
                "The 'target_precision' parameter of RiskClassifier must be a float in (0, 1]. "
                f"Got {tp!r} instead."
            )
        for name in ("max_train_rows", "max_validation_rows"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int | np.integer)
                                  or v < 1):
                raise ConfigError(
                    f"The {name!r} parameter of RiskClassifier must be an int in [1, inf) or "
                    f"None. Got {v!r} instead."
                )

    def fit(self, X, y) -> RiskClassifier:
        self._check_params()
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", dtype=np.float64)
        kind = type_of_target(y)
        if kind == "continuous" and set(np.unique(y)) <= {0.0, 1.0}:
            kind = "binary"
        if kind not in ("binary", "unknown"):
            raise ConfigError(
                f"Only binary classification is supported by RiskClassifier. The type of the "
                f"target is {kind}; give 0/1 labels (will the horizon hold errors or not)."
            )
        self.classes_, y_enc = np.unique(y, return_inverse=True)
        self._check_two_classes()
        train_rows, val_rows = self.plan(y_enc)
        return self._fit_rows(X[train_rows], y_enc[train_rows], X[val_rows], y_enc[val_rows],
                              len(y_enc))

    def _check_two_classes(self) -> None:
        if len(self.classes_) != 2:
            raise ConfigError(
                f"RiskClassifier needs both classes in y; got 1 class ({self.classes_.tolist()}). "
                "Use a longer history, a shorter horizon or a lower min_errors."
            )

    def plan(self, y) -> tuple[np.ndarray, np.ndarray]:
        """The rows of a time-ordered training set that boosting trains on and that hold
        out validation: ``(train_rows, val_rows)``, both in time order.

        The last ``validation_fraction`` of the rows (at most ``max_validation_rows``)
        validate (when both parts hold both classes; else every row does both); of the
        rest, a uniform sample of about ``max_train_rows`` trains. A caller with a costly
        ``X`` (features of a long history) computes just these rows and calls
        :meth:`fit_planned`.
        """
        self._check_params()
        y = np.asarray(y)
        n = len(y)
        n_val = max(1, int(round(n * self.validation_fraction)))
        if self.max_validation_rows is not None:
            n_val = min(n_val, self.max_validation_rows)
        split = n - n_val
        usable = (len(np.unique(y[split:])) == 2 and len(np.unique(y[:split])) == 2)
        if not usable:
            return self._sample(n), np.arange(n)
        return self._sample(split), np.arange(split, n)

    def fit_planned(self, X_train, y_train, X_val, y_val, n_rows: int) -> RiskClassifier:
        """Fit on the rows :meth:`plan` chose (``n_rows`` is how many it chose from):
        ``fit(X, y)`` is ``fit_planned(X[tr], y[tr], X[va], y[va], len(y))``."""
        self._check_params()
        X_train = check_array(X_train, ensure_all_finite="allow-nan", dtype=np.float64)
        X_val = check_array(X_val, ensure_all_finite="allow-nan", dtype=np.float64)
        self.n_features_in_ = X_train.shape[1]
        self.classes_, y_train = np.unique(y_train, return_inverse=True)
        self._check_two_classes()
        y_val = np.searchsorted(self.classes_, y_val)
        return self._fit_rows(X_train, y_train, X_val, y_val, n_rows)

    def _fit_rows(self, X_train, y_train, X_val, y_val, n_rows: int) -> RiskClassifier:
        # a column never observed in training (all NaN) carries nothing: it is read as 0
        self.unobserved_columns_ = np.flatnonzero(
            np.isnan(X_train).all(axis=0) & np.isnan(X_val).all(axis=0))
        X_train, X_val = self._fill_unobserved(X_train), self._fill_unobserved(X_val)
        n_val = len(y_val)
        usable_val = n_val < n_rows
        base = make_estimator(self.model, self.random_state)
        if self.model == "hgb" and usable_val:
            base.set_params(early_stopping=True, n_iter_no_change=10, scoring="loss")
            base.fit(X_train, y_train, X_val=X_val, y_val=y_val)
        else:
            base.fit(X_train, y_train)
        self.n_sampled_ = len(y_train)
        self.validation_used_ = bool(usable_val)
        self.n_train_ = n_rows - n_val if usable_val else n_rows
        self.n_validation_ = n_val
        self.estimator_ = base
        self.calibrator_ = None
        p_val = base.predict_proba(X_val)[:, 1]
        if self.calibration is not None and len(np.unique(y_val)) == 2:
            self.calibrator_ = _fit_calibrator(self.calibration, p_val, y_val)
            p_val = _apply_calibrator(self.calibrator_, p_val)
        self.threshold_ = choose_threshold(y_val, p_val, self.target_precision)
        self.validation_scores_ = (y_val, p_val)
        return self

    def _sample(self, n: int) -> np.ndarray:
        """Rows to train on, of the first ``n``, in time order: all of them, or a uniform
        sample of about ``max_train_rows`` (which keeps the class balance, so
        probabilities and early stopping on the validation loss stay right)."""
        cap = self.max_train_rows
        if cap is None or n <= cap:
            return np.arange(n)
        rng = np.random.default_rng(self.random_state)
        return np.flatnonzero(rng.random(n) < cap / n)

    def _fill_unobserved(self, X: np.ndarray) -> np.ndarray:
        if len(self.unobserved_columns_):
            X = X.copy()
            X[:, self.unobserved_columns_] = 0.0
        return X

    def _risk(self, X: np.ndarray) -> np.ndarray:
        p = self.estimator_.predict_proba(self._fill_unobserved(X))[:, 1]
        return p if self.calibrator_ is None else _apply_calibrator(self.calibrator_, p)

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self, "estimator_")
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=np.float64)
        p = self._risk(X)
        return np.column_stack([1.0 - p, p])

    def predict_risk_array(self, X: np.ndarray) -> np.ndarray:
        """Probability of the positive class for a float64 array, without re-validation
        of feature names (the serving hot path)."""
        check_is_fitted(self, "estimator_")
        X = check_array(X, ensure_all_finite="allow-nan", dtype=np.float64)
        return self._risk(X)

    def predict(self, X) -> np.ndarray:
        """Alarm (the positive class) where the risk reaches ``threshold_``."""
        check_is_fitted(self, "estimator_")
        return self.classes_[(self.predict_proba(X)[:, 1] >= self.threshold_).astype(int)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.classifier_tags.multi_class = False
        return tags



_EPS = 1e-6


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p / (1 - p)).reshape(-1, 1)


def _fit_calibrator(method: str, p: np.ndarray, y: np.ndarray):
    """Platt scaling (a logistic regression on the logit: monotone, so the ranking is kept),
    kept as its two coefficients, or isotonic regression."""
    if method == "isotonic":
        return IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(p, y)
    lr = LogisticRegression(C=1e4, max_iter=1000).fit(_logit(p), y)
    return (float(lr.coef_[0, 0]), float(lr.intercept_[0]))


def _apply_calibrator(cal, p: np.ndarray) -> np.ndarray:
    if isinstance(cal, IsotonicRegression):
        return cal.predict(p)
    a, b = cal
    return 1.0 / (1.0 + np.exp(-(a * _logit(p)[:, 0] + b)))

