"""Model contracts: what a model folder declares, how core finds it, and the default for folders without one."""

import json

import pytest

PROBE = "probe"


@pytest.fixture
def model_folder(core, tmp_path, monkeypatch):
    """`model_folder(name, contract_source)`: a model on the models path, with that contract.py (None: none)."""
    root = tmp_path / "more_models"
    monkeypatch.setattr(core.basics.project.models(), "__path__", [*core.basics.project.models().__path__, str(root)])

    def make(name: str, contract_source: str | None):
        folder = root / name
        folder.mkdir(parents=True)
        (folder / "__init__.py").write_text("")
        (folder / "train.py").write_text("")
        if contract_source is not None:
            (folder / "contract.py").write_text(contract_source)
        return name

    return make


def test_the_probe_declares_its_contract(core):
    declared = core.catalog.contract.of(PROBE)
    assert core.catalog.contract.has_contract(PROBE)
    assert (declared.task, declared.goal.metric, declared.goal.direction) == ("classification", "val_accuracy", "max")


def test_a_model_without_a_contract_is_taken_for_a_tabular_classifier(core, model_folder):
    name = model_folder("legacy_model", None)
    assert core.catalog.contract.of(name) is core.catalog.contract.LEGACY
    assert not core.catalog.contract.has_contract(name)
    assert core.catalog.contract.LEGACY.accepts == ("application/json", "text/csv")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("CONTRACT = 42\n", "must define CONTRACT"),
        (
            "from ...core.catalog import contract\n"
            "CONTRACT = contract.Contract('free', contract.Goal('f1', 'up'), list)\n",
            "'min' or 'max'",
        ),
        (
            "from ...core.catalog import contract\n"
            "CONTRACT = contract.Contract('free', contract.Goal('f1', 'max'), list, accepts=('audio/wav',))\n",
            "no decoder",
        ),
    ],
    ids=["no-contract-object", "bad-direction", "unknown-media-type"],
)
def test_a_broken_contract_is_a_clear_error(core, model_folder, source, message):
    name = model_folder(f"broken_{abs(hash(source)) % 10_000}", source)
    with pytest.raises(core.basics.errors.ProjectError, match=message):
        core.catalog.contract.of(name)


def test_directions_come_from_the_goal_and_core_losses_only(core):
    declared = core.catalog.contract.Contract("regression", core.catalog.contract.Goal("val_mape", "min", 0.3), list)
    assert declared.direction("val_mape") == "min"  # no guessing from the name, but the declaration
    assert declared.direction("val_loss") == "min"
    with pytest.raises(core.catalog.contract.ContractError, match="give --goal"):
        declared.direction("val_f1")
    assert declared.goal.reached(0.25) and not declared.goal.reached(0.35)
    assert core.catalog.contract.Goal("val_accuracy", "max", 0.9).reached(0.95)


def test_a_contract_decodes_only_what_it_accepts_and_answers_what_is_acceptable(core):
    declared = core.catalog.contract.Contract(
        "free", core.catalog.contract.Goal("f1", "max"), list, accepts=("text/plain",)
    )
    assert declared.decode(b"hello", "text/plain").value == "hello"
    with pytest.raises(core.inference.codecs.PayloadError) as refused:
        declared.decode(b"{}", "application/json")
    assert refused.value.status_code == 415
    body, media_type = declared.encode({"predictions": [{"x": 1}]}, "text/csv, */*;q=0.1")
    assert (body, media_type) == ("x\n1\n", "text/csv")


def test_a_model_may_add_its_own_codec(core):
    declared = core.catalog.contract.Contract(
        "free",
        core.catalog.contract.Goal("f1", "max"),
        list,
        accepts=("application/x-reversed",),
        decoders={"application/x-reversed": lambda body: body[::-1].decode()},
        encoders={"application/json": lambda result: json.dumps({"wrapped": result})},
        answers=("application/json",),
        headline=lambda prediction: f"<{prediction['x']}>",
    )
    assert declared.decode(b"cba", "application/x-reversed").value == "abc"
    assert declared.encode([1], None) == ('{"wrapped": [1]}', "application/json")
    assert declared.show({"x": 3}) == "<3>"


def test_each_task_shows_its_predictions_its_way(core):
    classifier = core.catalog.contract.Contract(
        "classification", core.catalog.contract.Goal("val_accuracy", "max"), list
    )
    regressor = core.catalog.contract.Contract("regression", core.catalog.contract.Goal("val_mae", "min"), list)
    assert classifier.show({"label": "b", "probabilities": {"a": 0.25, "b": 0.75}}) == "b (0.750)"
    assert regressor.show({"value": 1234.5678}) == "1235"
    assert core.basics.tasks.REGRESSION.agrees({"value": 105.0}, "100") and not core.basics.tasks.REGRESSION.agrees(
        {"value": 150.0}, 100
    )
