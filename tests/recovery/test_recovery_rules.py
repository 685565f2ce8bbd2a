"""The rules table: exact classification, user rules from dicts and files, bad rules."""

from __future__ import annotations

import json

import pytest

from errpredict.exceptions import ConfigError
from errpredict.recovery import DEFAULT_RULES, ErrorClassifier, ErrorEvent, ErrorRule, load_rules

TABLE = [
    ("HTTP 408", "timeout", True, True, "medium"),
    ("HTTP 429", "rate_limited", True, True, "medium"),
    ("HTTP 502", "unavailable", True, True, "high"),
    ("HTTP 503", "unavailable", True, True, "high"),
    ("HTTP 504", "timeout", True, True, "high"),
    ("HTTP 400", "client", False, False, "low"),
    ("HTTP 401", "auth", False, False, "medium"),
    ("HTTP 403", "auth", False, False, "medium"),
    ("HTTP 404", "client", False, False, "low"),
    ("HTTP 409", "client", False, False, "low"),
    ("HTTP 422", "client", False, False, "low"),
    ("HTTP 418", "client", False, False, "low"),
    ("HTTP 500", "internal", False, False, "high"),
    ("HTTP 501", "internal", False, False, "high"),
    ("UNAVAILABLE", "unavailable", True, True, "high"),
    ("DEADLINE_EXCEEDED", "timeout", True, True, "medium"),
    ("RESOURCE_EXHAUSTED", "resource_exhausted", True, True, "high"),
    ("ABORTED", "unavailable", True, True, "medium"),
    ("INVALID_ARGUMENT", "client", False, False, "low"),
    ("NOT_FOUND", "client", False, False, "low"),
    ("PERMISSION_DENIED", "auth", False, False, "medium"),
    ("UNAUTHENTICATED", "auth", False, False, "medium"),
    ("INTERNAL", "internal", False, False, "high"),
    ("DATA_LOSS", "data", False, False, "critical"),
    ("TimeoutError", "timeout", True, True, "medium"),
    ("requests.exceptions.ReadTimeout", "timeout", True, True, "medium"),
    ("java.net.SocketTimeoutException", "timeout", True, True, "medium"),
    ("ConnectionError", "connection", True, True, "medium"),
    ("ConnectionResetError", "connection", True, True, "medium"),
    ("java.net.ConnectException", "connection", True, True, "medium"),
    ("ValidationError", "client", False, False, "low"),
    ("KeyError", "client", False, False, "low"),
    ("ValueError", "client", False, False, "low"),
    ("IllegalArgumentException", "client", False, False, "low"),
    ("TypeError", "internal", False, False, "high"),
    ("java.lang.NullPointerException", "internal", False, False, "high"),
    ("OutOfMemoryError", "resource_exhausted", False, False, "critical"),
    ("PermissionError", "auth", False, False, "medium"),
    ("JSONDecodeError", "data", False, False, "high"),
    ("Weird", "unknown", False, False, "medium"),
]


@pytest.mark.parametrize(("error_type", "category", "retryable", "transient", "severity"), TABLE)
def test_default_table(error_type, category, retryable, transient, severity):
    c = ErrorClassifier().classify({"service": "payments", "error_type": error_type})
    assert (c.category, c.retryable, c.transient, c.severity) == (
        category, retryable, transient, severity)


def test_status_codes_and_messages():
    clf = ErrorClassifier()
    assert clf.classify({"service": "a", "http_status": 503}).category == "unavailable"
    assert clf.classify({"service": "a", "grpc_code": 14}).category == "unavailable"
    assert clf.classify({"service": "a", "error_type": "StatusCode.DEADLINE_EXCEEDED"}).rule == (
        "gRPC DEADLINE_EXCEEDED")
    c = clf.classify({"service": "a", "error_type": "OSError",
                      "message": "[Errno 28] No space left on device"})
    assert (c.category, c.retryable) == ("resource_exhausted", False)
    assert clf.classify({"service": "a", "error_type": "IOError",
                         "message": "read timed out"}).category == "timeout"


def test_error_event_parsing():
    e = ErrorEvent.from_dict({"service": "a", "error_type": "HTTP 429", "retry-after": "7"})
    assert (e.http_status, e.grpc_code, e.retry_after_s) == (429, None, 7.0)
    assert ErrorEvent(service="a", grpc_code="14").grpc_code == "UNAVAILABLE"
    assert ErrorEvent(service="a", http_status=404).error_type == "HTTP 404"
    with pytest.raises(ConfigError, match="'service'"):
        ErrorEvent.from_dict({"error_type": "HTTP 503"})


def test_extra_rules_come_first_from_dicts_toml_and_json(tmp_path):
    rule = {"error_type": "QuotaExceeded|HTTP 500", "category": "rate_limited",
            "retryable": True, "transient": True, "severity": "low"}
    toml = tmp_path / "rules.toml"
    toml.write_text('[[rules]]\nerror_type = "QuotaExceeded|HTTP 500"\ncategory = "rate_limited"\n'
                    'retryable = true\ntransient = true\nseverity = "low"\n')
    js = tmp_path / "rules.json"
    js.write_text(json.dumps({"rules": [rule]}))
    for source in ([rule], str(toml), js, {"rules": [rule]}):
        clf = ErrorClassifier(extra_rules=source)
        c = clf.classify({"service": "a", "error_type": "HTTP 500"})
        assert (c.category, c.retryable, c.severity) == ("rate_limited", True, "low")
        assert clf.classify({"service": "a", "error_type": "HTTP 503"}).category == "unavailable"
        assert len(clf.rules) == len(DEFAULT_RULES) + 1


def test_rules_round_trip_through_dicts():
    again = load_rules([r.to_dict() for r in DEFAULT_RULES])
    assert again == DEFAULT_RULES


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"category": "nope", "retryable": True, "transient": True, "error_type": "X"},
         "category 'nope' is unknown"),
        ({"category": "client", "retryable": "yes", "transient": False, "error_type": "X"},
         "'retryable' must be true or false"),
        ({"category": "client", "retryable": False, "transient": False},
         "at least one of http_status"),
        ({"category": "client", "retryable": False, "transient": False, "error_type": "("},
         "bad regular expression"),
        ({"category": "client", "retryable": False, "transient": False, "code": 1},
         "unknown field 'code'"),
        ({"category": "client", "transient": False, "error_type": "X"},
         "missing field 'retryable'"),
    ],
)
def test_bad_rules_say_what_is_wrong(rule, message):
    with pytest.raises(ConfigError, match=message):
        load_rules([rule])


def test_missing_rules_file(tmp_path):
    with pytest.raises(ConfigError, match="no such rules file"):
        load_rules(tmp_path / "none.toml")


def test_rule_objects_are_accepted():
    r = ErrorRule("auth", False, False, error_type="TokenExpired", name="token")
    c = ErrorClassifier(extra_rules=[r]).classify({"service": "a", "error_type": "TokenExpired"})
    assert (c.category, c.rule) == ("auth", "token")
