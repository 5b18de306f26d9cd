"""Configs: YAML plus overrides into typed dataclasses; bad keys and values are refused."""

from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


@pytest.fixture
def schema(core):
    @dataclass
    class Network:
        hidden_sizes: list[int] = field(default_factory=lambda: [8])

    @dataclass
    class Config(core.basics.config.RunConfig):
        model: Network = field(default_factory=Network)

    return Config


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("data:\n  path: points.csv\ntrainer:\n  max_epochs: 7\nmodel:\n  hidden_sizes: [4, 4]\n")
    return path


def test_yaml_and_overrides_fill_the_schema(core, schema, config_file):
    cfg = core.basics.config.load(
        schema, config_file, ["optimizer.lr=0.5", "--trainer.seed", "3", "--data.batch_size=8"]
    )
    assert isinstance(cfg, schema)
    assert (cfg.trainer.max_epochs, cfg.trainer.seed, cfg.optimizer.lr, cfg.data.batch_size) == (7, 3, 0.5, 8)
    assert cfg.model.hidden_sizes == [4, 4]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("trainer: [1, 2", "not valid YAML"),
        ("- a\n- b\n", "expected a mapping"),
        ("trainer:\n  speed: 3\n", "speed"),
        ("trainer:\n  seed: 3\n", "data.path"),
        ("data: {path: a.csv}\nloop: &x [*x]\n", "a YAML alias refers to a value that contains it"),
        ("data: {path: a.csv}\nloop: &x {a: *x}\n", "a YAML alias refers to a value that contains it"),
        pytest.param(
            "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
            + "".join(f"{b}: &{b} [{', '.join([f'*{a}'] * 10)}]\n" for a, b in zip("abcde", "bcdef", strict=True)),
            "more than 100000 values",
            id="aliases-expanding-to-a-million-values",
        ),
        pytest.param("x: " + "[" * 1200 + "]" * 1200 + "\n", "nested too deeply", id="nested-1200-deep"),
        ("when: 2020-01-01\n", "not a supported primitive type"),
        ("trainer: [1, 2\n", r"not valid YAML: .* \(line 2, column 1\)"),
    ],
)
def test_bad_config_files_are_one_line_errors(core, schema, tmp_path, text, message):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(core.basics.errors.ConfigError, match=message) as raised:
        core.basics.config.load(schema, path)
    assert "\n" not in str(raised.value)


def test_a_config_file_that_is_not_utf8_text_is_a_clear_error(core, schema, tmp_path):
    path = tmp_path / "config.yaml"
    path.write_bytes(b"data:\n  path: \xff\xfe.csv\n")
    with pytest.raises(core.basics.errors.ConfigError, match=r"config.yaml: not UTF-8 text \(at byte offset 14\)"):
        core.basics.config.load(schema, path)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["trainer.max_epoch=3"], "max_epoch"),
        (["trainer.max_epochs=many"], "max_epochs"),
        (["model.hidden_sizes=[a]"], "hidden_sizes"),
        (["just-a-word"], "not of the form key=value"),
        (["--trainer.seed"], "has no value"),
        (["optimizer.lr=-0.1"], "optimizer.lr: -0.1 is not allowed"),
        (["optimizer.lr=.inf"], "optimizer.lr: inf is not allowed"),
        (["optimizer.weight_decay=-1"], "optimizer.weight_decay: -1.0 is not allowed"),
        (["data.batch_size=0"], "data.batch_size: 0 is not allowed"),
        (["trainer.max_epochs=-3"], "trainer.max_epochs: -3 is not allowed"),
        (["trainer.checkpoint_every=-1"], "trainer.checkpoint_every: -1 is not allowed"),
        (["model.hidden_sizes=[4,0]"], r"model.hidden_sizes: \[4, 0\] is not allowed; expected sizes of 1 or more"),
        (["model.dropout=1.0"], "model.dropout: 1.0 is not allowed; expected 0 or more, below 1"),
        (["model.dropout=nan"], "model.dropout: nan is not allowed"),
        (["model.hidden_sizes=&x [*x]"], "not valid YAML: YAML recursive aliases are not supported"),
        (["model.hidden_sizes=[1"], "not valid YAML"),
    ],
)
def test_bad_overrides_and_values_no_run_can_use_are_one_line_errors(core, config_file, overrides, message):
    @dataclass
    class Network:  # a model's section declares its own rules; core's `validate` checks them
        hidden_sizes: list[int] = field(default_factory=lambda: [8])
        dropout: float = 0.1

        def rules(self):
            rules = core.basics.config_rules
            return [
                rules.Rule("hidden_sizes", self.hidden_sizes, rules.each(rules.at_least(1)), "sizes of 1 or more"),
                rules.Rule("dropout", self.dropout, rules.between(0, 1, high_allowed=False), "0 or more, below 1"),
            ]

    @dataclass
    class Config(core.basics.config.RunConfig):
        model: Network = field(default_factory=Network)

    assert core.basics.config.load(Config, config_file).model.dropout == 0.1
    with pytest.raises(core.basics.errors.ConfigError, match=message) as raised:
        core.basics.config.load(Config, config_file, overrides)
    assert "\n" not in str(raised.value)


KEYS = ["trainer.max_epochs", "optimizer.lr", "data.features", "model.hidden_sizes", "scheduler.args", "trainer", "a.b"]
VALUES = ["nan", "-inf", "1e999", "[", "&x [*x]", "{a: *b}", "${x}", "${oc.env:NOPE}", "!!binary x", "~", "'", "[[["]
OVERRIDE = st.one_of(
    st.text(max_size=40),
    st.builds(
        "{}={}".format, st.sampled_from(KEYS) | st.text(max_size=12), st.sampled_from(VALUES) | st.text(max_size=9)
    ),
    st.builds("--{}".format, st.text(max_size=20)),
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(overrides=st.lists(OVERRIDE, max_size=4))
def test_any_overrides_give_a_config_or_a_one_line_error(core, schema, config_file, overrides):
    try:
        loaded = core.basics.config.load(schema, config_file, overrides)
    except core.basics.errors.ProjectError as error:
        assert str(error) and "\n" not in str(error), repr(str(error))
    else:
        assert isinstance(loaded, schema)


def test_missing_config_file_is_a_clear_error(core, schema, tmp_path):
    with pytest.raises(core.basics.errors.ConfigError, match="not found"):
        core.basics.config.load(schema, tmp_path / "absent.yaml")


def test_saved_config_loads_back_identically(core, schema, config_file, tmp_path):
    cfg = core.basics.config.load(schema, config_file, ["data.features=[a,b]"])
    core.basics.config.save(cfg, tmp_path / "saved" / "config.yaml")
    assert core.basics.config.load(schema, tmp_path / "saved" / "config.yaml") == cfg
