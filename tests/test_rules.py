"""copier.yml's validators and generator/scaffold/names.py state the same rules: equal lists, equal patterns,
and the same verdict on every name of a table (copier runs the real copier.yml, over empty templates)."""

from __future__ import annotations

import re
import shutil
import warnings

import copier
import pytest
import yaml
from helpers import ROOT
from scaffold import names
from scaffold.errors import InvalidInputError

QUESTIONS = yaml.safe_load((ROOT / "copier.yml").read_text())
PREFIX = "ml-project"  # the default project's resource prefix: a model name of at most 33 characters fits


def computed(question: str) -> object:
    """A computed answer of copier.yml (`when: false`): what its validators read."""
    assert QUESTIONS[question]["when"] is False, f"{question} must be computed, never asked"
    return QUESTIONS[question]["default"]


def test_copier_yml_states_the_lists_and_patterns_of_names_py():
    assert computed("identifier_pattern") == names.IDENTIFIER.pattern
    assert computed("python_keywords") == sorted(names.KEYWORDS)
    assert computed("shadowed_names") == sorted(names.SHADOWED), "paste sorted(scaffold.names.SHADOWED) in copier.yml"
    assert computed("windows_names") == sorted(names.WINDOWS_RESERVED)
    assert computed("model_reserved") == sorted(names.MODEL_RESERVED)
    assert computed("model_name_budget") == names.longest_model_name("")
    core_url = re.search(r"core_url \| regex_search\('([^']*)'\)", QUESTIONS["core_url"]["validator"])
    assert core_url and core_url[1] == names.CORE_URL.pattern


def test_each_pattern_is_stated_once_in_copier_yml():
    text = (ROOT / "copier.yml").read_text()
    for question in ("identifier_pattern", "distribution_pattern", "line_break_pattern"):
        assert text.count(computed(question)) == 1, question
    assert text.count("'and', 'as', 'assert'") == 1


@pytest.fixture(scope="module")
def rules_only(tmp_path_factory):
    """The real copier.yml over empty templates: copier validates the answers and renders nothing else."""
    folder = tmp_path_factory.mktemp("rules")
    shutil.copy2(ROOT / "copier.yml", folder)
    (folder / "template").mkdir()
    (folder / "core_template").mkdir()
    return folder


def copier_refuses(template, tmp_path, **data: str) -> bool:
    """Whether copier.yml's validators refuse these answers (a project render)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            copier.run_copy(str(template), tmp_path / "p", data=data, defaults=True, quiet=True, unsafe=False)
        except ValueError as error:
            assert "Validation error" in str(error), error
            return True
    return False


def generator_refuses(check, *args: str) -> bool:
    try:
        check(*args)
    except InvalidInputError:
        return True
    return False


PACKAGE_NAMES = ["ml_project", "_private", "match", "class", "1abc", "my-pkg", "", "os", "cprofile", "numpy", "tests"]


@pytest.mark.parametrize("name", [*PACKAGE_NAMES, "con", "lpt9"])
def test_copier_and_the_generator_agree_on_package_names(rules_only, tmp_path, name):
    assert copier_refuses(rules_only, tmp_path, package_name=name) == generator_refuses(names.check_package_name, name)


@pytest.mark.parametrize(
    ("name", "prefix"),
    [
        ("classifier", PREFIX),
        ("churn_v2", PREFIX),
        ("Churn", PREFIX),
        ("lambda", PREFIX),
        ("core", PREFIX),
        ("settings", PREFIX),
        ("_hidden", PREFIX),
        ("nul", PREFIX),
        ("m" * 33, PREFIX),
        ("m" * 34, PREFIX),
        ("m" * 13, "p" * 30),
        ("m" * 14, "p" * 30),
    ],
)
def test_copier_and_the_generator_agree_on_model_names(rules_only, tmp_path, name, prefix):
    refused = copier_refuses(rules_only, tmp_path, model_name=name, resource_prefix=prefix)
    assert refused == generator_refuses(names.check_model_name, name, prefix)


CORE_URLS = ["https://github.com/acme/ml-core.git", "ssh://git@host/core.git", "file:///srv/core", "git@host:core.git"]


@pytest.mark.parametrize("url", [*CORE_URLS, "gh:acme/core", "https://host/a b"])
def test_copier_and_the_generator_agree_on_core_urls(rules_only, tmp_path, url):
    refused = copier_refuses(rules_only, tmp_path, layout="models", core_url=url, core_name="ml-core")
    assert refused == (not names.CORE_URL.match(url))


@pytest.mark.parametrize(
    ("source", "remote", "git_url"),
    [
        ("https://example.com/t.git", True, "https://example.com/t.git"),
        ("git+https://example.com/t", True, "https://example.com/t"),
        ("git@github.com:acme/t.git", True, "git@github.com:acme/t.git"),
        ("gh:acme/t", True, "https://github.com/acme/t"),
        ("gl:acme/t", True, "https://gitlab.com/acme/t"),
        ("/srv/templates/t", False, None),
        ("templates/gh:odd", False, None),
    ],
)
def test_a_template_source_is_remote_when_copier_fetches_it_with_git(source, remote, git_url):
    assert names.is_remote(source) is remote
    assert names.is_shorthand(source) is source.startswith(("gh:", "gl:"))
    if remote:
        assert names.git_url(source) == git_url
