"""Bad answers fail with a clear message and leave nothing behind."""

from __future__ import annotations

import pytest
from conftest import render


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"package_name": "class"}, "is a Python keyword"),
        ({"package_name": "1abc"}, "not starting with a digit (got '1abc')"),
        ({"package_name": "my-pkg"}, "(got 'my-pkg')"),
        ({"package_name": ""}, "(got '')"),
        ({"package_name": "torch"}, "would shadow a module"),
        ({"project_name": "-bad-"}, "Project name must be"),
        ({"model_name": "Classifier"}, "(got 'Classifier')"),
        ({"model_name": "2nd"}, "(got '2nd')"),
        ({"model_name": "my model"}, "(got 'my model')"),
        ({"model_name": "lambda"}, "is a Python keyword"),
        ({"model_name": "core"}, "is reserved"),
        ({"model_name": "cli"}, "is reserved"),
        ({"author_email": "nobody"}, "is not an e-mail address"),
        ({"aws_region": "mars-1"}, "is not an AWS region name"),
    ],
)
def test_bad_answer_is_refused_and_writes_nothing(tmp_path, answers, message):
    destination = tmp_path / "project"
    with pytest.raises(ValueError, match="Validation error") as error:
        render(destination, **answers)
    assert message in str(error.value)
    assert not destination.exists()


def test_unknown_choice_is_refused(tmp_path):
    with pytest.raises(ValueError):
        render(tmp_path / "project", tracking="tensorboard")
    assert not (tmp_path / "project").exists()
