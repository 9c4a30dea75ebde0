"""Contracts every algorithm folder keeps, checked for each folder found in algos/."""

import re

import pytest

from joyrl.config import algo_config_class, available, schema
from joyrl.paths import ALGOS_DIR, ROOT
from tests.helpers import ROOT as TESTS_ROOT

ALGORITHMS = available(ALGOS_DIR, "agent.py")
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_helpers_and_framework_agree_on_the_root():
    assert TESTS_ROOT == ROOT


@pytest.mark.parametrize("algo", ALGORITHMS)
def test_folder_has_the_three_files_a_pseudocode_page_and_a_preset(algo):
    for name in ("config.py", "agent.py", "trainer.py"):
        assert (ALGOS_DIR / algo / name).is_file(), f"algos/{algo}/{name} is missing"
    assert (ROOT / "pseudocodes" / f"{algo}.md").is_file()
    assert list((ROOT / "config" / "presets").glob(f"*_{algo}.yaml")), f"no preset config/presets/<Env>_{algo}.yaml"


def algorithm_code(algo: str, config: bool = False, seen: set[str] | None = None) -> str:
    """The folder's code (config.py, or the rest), plus that of every algorithm it imports (a variant's parent)."""
    seen = set() if seen is None else seen
    seen.add(algo)
    files = [path for path in (ALGOS_DIR / algo).glob("*.py") if (path.name == "config.py") == config]
    code = "\n".join(path.read_text(encoding="utf-8") for path in files)
    for parent in re.findall(r"^from algos\.(\w+)\.", code, re.MULTILINE):
        if parent not in seen:
            code += "\n" + algorithm_code(parent, config, seen)
    return code


@pytest.mark.parametrize("algo", ALGORITHMS)
def test_every_algo_key_has_a_comment_and_is_read_by_the_agent(algo):
    source = algorithm_code(algo, config=True)  # a variant's config may inherit keys from its parent's
    agent_code = algorithm_code(algo)
    for key in schema(algo_config_class(algo)):
        definition = re.search(rf"^\s+{key}:.*$", source, re.MULTILINE)
        assert definition, f"{algo}.{key}: definition not found"
        commented = "#" in definition.group(0) or re.search(r"^\s+\]\s*#.*$", source[definition.end() :], re.MULTILINE)
        assert commented, f"{algo}.{key} has no comment"
        assert re.search(rf"cfg\.{key}\b", agent_code), f"{algo}.{key} is never read (cfg.{key})"


@pytest.mark.parametrize("algo", ALGORITHMS)
def test_pseudocode_page_names_every_key_and_only_existing_functions(algo):
    page = (ROOT / "pseudocodes" / f"{algo}.md").read_text(encoding="utf-8")
    for key in schema(algo_config_class(algo)):
        assert f"`{key}`" in page, f"pseudocodes/{algo}.md does not mention {key}"
    agent_source = algorithm_code(algo)  # a variant may cite the methods it inherits
    for method in re.findall(r"`Agent\.(\w+)`", page):
        assert re.search(rf"def {method}\(", agent_source), f"pseudocodes/{algo}.md cites Agent.{method}, which does not exist"


def test_readme_documents_every_general_and_env_key():
    from config.config import GeneralConfig
    from envs.gym.config import EnvConfig

    for config_class in (GeneralConfig, EnvConfig):
        for key in schema(config_class):
            assert f"| `{key}` |" in README, f"README's key tables miss {key}"
