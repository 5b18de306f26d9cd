"""Which models a change touches: what CI/CD deploys again after a merge."""

import pytest


@pytest.fixture(scope="module")
def models(core):
    return core.registry.names()


def test_a_model_folder_change_touches_that_model(core, models, package):
    model = models[0]
    assert core.changes.models_touched([f"src/{package}/models/{model}/config.yaml"]) == [model]
    assert core.changes.models_touched([f"tests/models/{model}/test_{model}.py"]) == [model]
    assert core.changes.models_touched([f"data/samples/{model}/more.csv"]) == [model]


def test_shared_code_touches_every_model(core, models, package):
    assert core.changes.models_touched([f"src/{package}/core/training.py"]) == models
    assert core.changes.models_touched(["infra/model.yaml"]) == models
    assert core.changes.models_touched(["data/shared/lookup.csv"]) == models


def test_docs_touch_nothing(core):
    assert core.changes.models_touched(["README.md", ".github/workflows/ci.yml"]) == []


def test_bad_revision_is_a_clear_error(core):
    with pytest.raises(core.changes.ProjectError, match="git diff"):
        core.changes.changed_models("no-such-revision-xyz")
