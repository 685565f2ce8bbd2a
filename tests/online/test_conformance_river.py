"""River's own conformance checks (``river.checks``) on every online estimator of errpredict."""

from __future__ import annotations

import pytest
from river import checks

from errpredict.online import OnlineLearner

LEARNERS = [
    OnlineLearner(),
    OnlineLearner(stack_on_batch=True),
    OnlineLearner("hoeffding", seed=3),
    OnlineLearner("arf", n_models=3, seed=3),
]


def _ids(learner: OnlineLearner) -> str:
    return f"{learner.model}-stacked" if learner.stack_on_batch else learner.model


@pytest.mark.parametrize("learner", LEARNERS, ids=_ids)
def test_check_estimator(learner):
    # every check River yields for a binary classifier, none skipped: the learner passes all
    names = [c.__name__ for c in checks.yield_checks(learner)]
    assert "check_predict_one_pure" in names and "check_learn_one" in names
    assert ("check_seeding_is_idempotent" in names) == (learner.model != "logreg")
    assert learner._unit_test_skips() == set()
    checks.check_estimator(learner)
