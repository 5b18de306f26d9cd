"""Configs: YAML plus overrides into typed dataclasses; bad keys and values are refused."""

from dataclasses import dataclass, field

import pytest


@pytest.fixture
def schema(core):
    @dataclass
    class Network:
        hidden_sizes: list[int] = field(default_factory=lambda: [8])

    @dataclass
    class Config(core.config.RunConfig):
        model: Network = field(default_factory=Network)

    return Config


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("data:\n  path: points.csv\ntrainer:\n  max_epochs: 7\nmodel:\n  hidden_sizes: [4, 4]\n")
    return path


def test_yaml_and_overrides_fill_the_schema(core, schema, config_file):
    cfg = core.config.load(schema, config_file, ["optimizer.lr=0.5", "--trainer.seed", "3", "--data.batch_size=8"])
    assert isinstance(cfg, schema)
    assert (cfg.trainer.max_epochs, cfg.trainer.seed, cfg.optimizer.lr, cfg.data.batch_size) == (7, 3, 0.5, 8)
    assert cfg.model.hidden_sizes == [4, 4]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["trainer.max_epoch=3"], "max_epoch"),
        (["trainer.max_epochs=many"], "max_epochs"),
        (["model.hidden_sizes=[a]"], "hidden_sizes"),
        (["just-a-word"], "not of the form key=value"),
        (["--trainer.seed"], "has no value"),
    ],
)
def test_bad_overrides_are_clear_errors(core, schema, config_file, overrides, message):
    with pytest.raises(core.config.ConfigError, match=message):
        core.config.load(schema, config_file, overrides)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("trainer: [1, 2", "not valid YAML"),
        ("- a\n- b\n", "expected a mapping"),
        ("trainer:\n  speed: 3\n", "speed"),
        ("trainer:\n  seed: 3\n", "data.path"),
    ],
)
def test_bad_config_files_are_clear_errors(core, schema, tmp_path, text, message):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(core.config.ConfigError, match=message):
        core.config.load(schema, path)


def test_missing_config_file_is_a_clear_error(core, schema, tmp_path):
    with pytest.raises(core.config.ConfigError, match="not found"):
        core.config.load(schema, tmp_path / "absent.yaml")


def test_saved_config_loads_back_identically(core, schema, config_file, tmp_path):
    cfg = core.config.load(schema, config_file, ["data.features=[a,b]"])
    core.config.save(cfg, tmp_path / "saved" / "config.yaml")
    assert core.config.load(schema, tmp_path / "saved" / "config.yaml") == cfg
