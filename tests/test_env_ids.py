"""Env ids: Gymnasium's ``module:EnvId`` form, the default cap of envs without a time limit, case-blind suggestions."""

import sys
from types import SimpleNamespace

import gymnasium as gym
import pytest

from joyrl import envs
from joyrl.envs import check_env_id, close_matches, default_cap, env_display_name, make_env
from joyrl.errors import ConfigError
from tests.helpers import SMALL_NET, read_csv
from tests.my_env_module import BARE_ID, CORRIDOR_ID, ENDLESS_ID

MODULE = "tests.my_env_module"
CORRIDOR = f"{MODULE}:{CORRIDOR_ID}"
ENDLESS = f"{MODULE}:{ENDLESS_ID}"
BARE = f"{MODULE}:{BARE_ID}"

# DQN on the corridor in about a second.
TINY_CORRIDOR = [
    "--env",
    CORRIDOR,
    "general_cfg.max_env_steps=150",
    "general_cfg.eval_per_episode=5",
    "general_cfg.online_eval_episode=2",
    "algo_cfg.learning_starts=50",
    "algo_cfg.buffer_size=500",
    "algo_cfg.batch_size=16",
    SMALL_NET,
]


def env_cfg(env_id, **changes):
    return SimpleNamespace(**{"id": env_id, "kwargs": {}, "max_step": -1, "render_mode": None, "wrappers": [], **changes})


def one_line_error(result, *fragments):
    assert result.code == 2 and result.folder is None
    assert result.err.startswith("error: ") and result.err.count("\n") == 1, result.err
    for fragment in fragments:
        assert fragment in result.err


# ---------------------------------------------------------------- module:EnvId


def test_module_form_imports_the_module_that_registers_the_id(monkeypatch):
    for env_id in (CORRIDOR_ID, ENDLESS_ID, BARE_ID):
        monkeypatch.delitem(gym.registry, env_id, raising=False)
    monkeypatch.delitem(sys.modules, MODULE, raising=False)
    with pytest.raises(ConfigError, match="unknown env id"):
        check_env_id(CORRIDOR_ID)  # not registered until its module is imported
    check_env_id(CORRIDOR)
    assert CORRIDOR_ID in gym.registry
    env = make_env(env_cfg(CORRIDOR), seed=1)
    assert env.spec.id == CORRIDOR_ID and env.spec.max_episode_steps == 20


def test_module_form_trains_and_tests_through_the_cli(cli, tmp_path):
    trained = cli(*TINY_CORRIDOR)
    assert trained.code == 0, trained.err
    tested = cli("--mode", "test", "--load", trained.folder.name, "general_cfg.max_episode=2")
    assert tested.code == 0, tested.err
    assert read_csv(tested.folder / "results" / "res.csv")


@pytest.mark.parametrize(
    ("env_id", "fragments"),
    [
        ("no_such_module_xyz:MyEnv-v0", ["cannot import the module 'no_such_module_xyz'", "env_cfg.id"]),
        (f"{MODULE}:JoyRLTestCoridor-v0", [f"did you mean {CORRIDOR}", f"importing {MODULE} did not register"]),
        (f"{MODULE}:a:b", ["more than one ':'", "module:EnvId"]),
        (":MyEnv-v0", ["cannot import the module ''"]),
        (".relative:MyEnv-v0", ["cannot import the module '.relative'"]),
    ],
)
def test_module_form_errors_are_one_line(cli, env_id, fragments):
    one_line_error(cli("--env", env_id, SMALL_NET), *fragments)


def test_env_display_name_drops_the_module_and_slashes():
    assert env_display_name(CORRIDOR) == CORRIDOR_ID
    assert env_display_name("ale_py:ALE/Pong-v5") == "ALE-Pong-v5"
    assert env_display_name("CartPole-v1") == "CartPole-v1"


# ---------------------------------------------------------------- third-party envs as they are


def test_an_env_whose_constructor_takes_no_render_mode_trains_and_tests(cli):
    trained = cli(*TINY_CORRIDOR, "--env", BARE)
    assert trained.code == 0, trained.err
    assert len(read_csv(trained.folder / "results" / "res.csv")) >= 1
    tested = cli("--load", str(trained.folder), "--mode", "test", "general_cfg.play_episodes=2")
    assert tested.code == 0, tested.err


@pytest.mark.parametrize(
    ("env_id", "fragments"),
    [
        (BARE, ["cannot render: its constructor takes no render_mode (asked for 'rgb_array')"]),
        (CORRIDOR, [f"{CORRIDOR} cannot render 'rgb_array' frames (its render modes: none)"]),
    ],
)
def test_rendering_an_env_that_cannot_render_is_one_line(cli, env_id, fragments):
    result = cli(*TINY_CORRIDOR, "--env", env_id, "env_cfg.render_mode=rgb_array")
    one_line_error(result, *fragments)


def test_kwargs_errors_name_only_what_the_user_set():
    with pytest.raises(ConfigError, match=r"env_cfg.kwargs \(bogus\) do not fit CartPole-v1: .*bogus"):
        make_env(env_cfg("CartPole-v1", kwargs={"bogus": 1}), seed=1)
    with pytest.raises(ConfigError) as error:
        make_env(env_cfg(BARE, kwargs={"length": 5, "colour": "red"}), seed=1)
    assert "env_cfg.kwargs (length, colour)" in str(error.value) and "render_mode" not in str(error.value)


# ---------------------------------------------------------------- the default cap


def test_default_cap_applies_only_without_a_time_limit_and_max_step():
    check_env_id(ENDLESS)
    assert envs.DEFAULT_MAX_STEP == 10_000
    assert default_cap(env_cfg("CliffWalking-v1")) == 10_000
    assert default_cap(env_cfg(ENDLESS)) == 10_000
    assert default_cap(env_cfg("CartPole-v1")) is None  # its own limit, 500
    assert default_cap(env_cfg(ENDLESS, max_step=7)) is None
    assert default_cap(env_cfg(ENDLESS, kwargs={"max_episode_steps": 9})) is None


def run_until_done(env, limit=1_000):
    env.reset()
    for step in range(1, limit + 1):
        _, _, terminated, truncated, _ = env.step(1)
        if terminated or truncated:
            return step, terminated, truncated
    raise AssertionError(f"no end in {limit} steps")


def test_env_without_a_time_limit_is_truncated_at_the_default_cap(monkeypatch):
    monkeypatch.setattr(envs, "DEFAULT_MAX_STEP", 50)
    assert run_until_done(make_env(env_cfg(ENDLESS), seed=1)) == (50, False, True)
    assert run_until_done(make_env(env_cfg("CliffWalking-v1"), seed=1)) == (50, False, True)  # walks right, into the cliff
    assert run_until_done(make_env(env_cfg(CORRIDOR), seed=1)) == (4, True, False)  # its own limit (20) is kept


def test_max_step_still_replaces_the_cap_and_the_envs_own_limit(monkeypatch):
    monkeypatch.setattr(envs, "DEFAULT_MAX_STEP", 50)
    assert run_until_done(make_env(env_cfg(ENDLESS, max_step=7), seed=1)) == (7, False, True)
    assert run_until_done(make_env(env_cfg("CartPole-v1", max_step=3), seed=1))[0] <= 3


def test_a_run_on_an_endless_env_ends(cli, monkeypatch):
    monkeypatch.setattr(envs, "DEFAULT_MAX_STEP", 25)
    result = cli("--env", ENDLESS, "general_cfg.max_env_steps=60", "general_cfg.online_eval=false", SMALL_NET)
    assert result.code == 0, result.err
    rows = read_csv(result.folder / "results" / "res.csv")
    assert [row["length"] for row in rows] == ["25", "25", "25"]


# ---------------------------------------------------------------- suggestions ignore case


def test_close_matches_puts_a_case_only_difference_first():
    assert close_matches("ppo", ["A2C", "PPO", "DQN"], n=1, cutoff=0.3) == ["PPO"]
    assert close_matches("cartpole-v1", ["CartPole-v0", "CartPole-v1"])[0] == "CartPole-v1"


@pytest.mark.parametrize(("env_id", "suggested"), [("cartpole-v1", "CartPole-v1"), ("CLIFFWALKING-V1", "CliffWalking-v1")])
def test_unknown_env_id_suggests_the_id_that_differs_in_case(cli, env_id, suggested):
    one_line_error(cli("--env", env_id), f"did you mean {suggested}")
