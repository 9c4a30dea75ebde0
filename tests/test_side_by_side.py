"""benchmarks/side_by_side.py: the JoyRL → SB3 mapping, the shared evaluation, and one tiny run of each side."""

import argparse
import importlib.util
import json

import pytest

from joyrl.config import algo_config_class, defaults
from joyrl.envs import EVAL_SEED_OFFSET
from tests.helpers import ROOT

SCRIPT = ROOT / "benchmarks" / "side_by_side.py"

spec = importlib.util.spec_from_file_location("side_by_side", SCRIPT)
side_by_side = importlib.util.module_from_spec(spec)
spec.loader.exec_module(side_by_side)

POSITIVE = ["env_steps", "episodes", "train_seconds", "steps_per_second", "grad_steps", "us_per_grad_step", "action_calls"]
POSITIVE += ["us_per_action", "us_per_greedy_action", "us_per_env_step", "final_return", "best_return"]


def spec_for(hyper, steps=50_000, extra=()):
    args = argparse.Namespace(
        algo="DQN", env="CartPole-v1", hyper=hyper, steps=steps, seeds=[1], eval_every=5000, eval_episodes=10, threshold=475.0
    )
    args.set = list(extra)
    return side_by_side.build_spec(args)


def test_rlzoo_maps_to_rl_zoo_cartpole_dqn():
    sb3 = spec_for("rlzoo")["sb3"]
    assert sb3["policy_kwargs"] == {"net_arch": [256, 256], "activation": "ReLU"}
    assert side_by_side.sb3_schedule(sb3["learning_rate"]) == pytest.approx(2.3e-3)  # constant
    expected = {"batch_size": 64, "buffer_size": 100_000, "learning_starts": 1000, "gamma": 0.99, "target_update_interval": 10}
    expected |= {"train_freq": 256, "gradient_steps": 128, "exploration_fraction": 0.16, "exploration_final_eps": 0.04}
    expected |= {"exploration_initial_eps": 1.0, "tau": 1.0, "max_grad_norm": 10}
    assert {key: sb3[key] for key in expected} == pytest.approx(expected)


def test_joyrl_defaults_map_to_sb3_schedules():
    steps = 20_000
    algo = defaults(algo_config_class("DQN"))
    spec = spec_for("joyrl", steps)
    sb3 = spec["sb3"]
    assert spec["joyrl_algo_cfg"] == algo
    assert sb3["exploration_fraction"] == pytest.approx(min(algo["epsilon_decay"] / steps, 1.0))
    assert sb3["exploration_final_eps"] == algo["epsilon_end"]
    assert sb3["batch_size"] == algo["batch_size"] and sb3["gradient_steps"] == algo["gradient_steps"]
    schedule = side_by_side.sb3_schedule(sb3["learning_rate"])
    for step in (0, 5_000, 12_345, steps, steps + 256):  # SB3 may run past the budget: progress_remaining < 0
        lr = schedule(1.0 - step / steps)
        if algo["lr_end"] is None:
            assert lr == pytest.approx(algo["lr"])
        else:
            fraction = min(step / (algo["lr_decay"] or steps), 1.0)
            assert lr == pytest.approx(algo["lr"] + fraction * (algo["lr_end"] - algo["lr"]))


def test_set_overrides_reach_both_sides():
    spec = spec_for("rlzoo", extra=["algo_cfg.batch_size=32", "algo_cfg.target_update=256", "algo_cfg.lr_end=0.0"])
    assert spec["sb3"]["batch_size"] == 32
    assert spec["sb3"]["target_update_interval"] == 2 * 256  # one copy every two bursts
    assert spec["sb3"]["learning_rate"]["end"] == 0.0
    with pytest.raises(SystemExit, match="epsilon_schedule"):
        spec_for("rlzoo", extra=["algo_cfg.epsilon_schedule=exponential"])


def test_evaluation_env_is_seeded_once():
    assert side_by_side.EVAL_SEED_OFFSET == EVAL_SEED_OFFSET
    scores = [
        side_by_side.evaluate(lambda obs: int(obs[2] > 0), side_by_side.make_eval_env("CartPole-v1", 3), 3) for _ in range(2)
    ]
    assert scores[0] == scores[1]
    assert scores[0]["mean"] > 0


def test_one_tiny_run_of_each_side(tmp_path, capsys):
    """The driver in this process; each side in its own worker process, as in a real run."""
    pytest.importorskip("stable_baselines3")
    small = "algo_cfg.value_layers=[{layer_type: linear, layer_size: [16], activation: relu}]"
    argv = ["--seeds", "1", "--steps", "600", "--eval-every", "300", "--eval-episodes", "1", "--threshold", "1"]
    argv += ["--results-dir", str(tmp_path), "--runs-dir", str(tmp_path / "runs"), "--set", small]
    argv += ["algo_cfg.learning_starts=100", "algo_cfg.train_freq=50", "algo_cfg.gradient_steps=4", "algo_cfg.target_update=4"]
    argv += ["algo_cfg.buffer_size=1000", "algo_cfg.batch_size=16"]
    assert side_by_side.main(argv) == 0
    printed = capsys.readouterr().out

    runs = tmp_path / "runs" / "side_by_side_DQN_CartPole-v1_rlzoo"
    for side in ("sb3", "joyrl"):
        result = json.loads((runs / f"seed_1_{side}.json").read_text(encoding="utf-8"))
        for key in POSITIVE:
            assert isinstance(result[key], (int, float)) and result[key] > 0, (side, key, result[key])
        assert result["env_steps"] >= 600
        assert result["torch_threads"] == 1
        assert result["steps_to_threshold"] is not None and result["seconds_to_threshold"] > 0
        assert [row["env_steps"] for row in result["evals"]] == sorted(row["env_steps"] for row in result["evals"])
        assert len(result["evals"]) >= 2  # at 300, and at the end
        assert all(seconds >= 0 for name, seconds in result["seconds_in"].items() if name != "other")

    table = (tmp_path / "side_by_side_DQN_CartPole-v1_rlzoo.md").read_text(encoding="utf-8")
    assert "| figure | SB3 | JoyRL | JoyRL/SB3 | better |" in table
    for _, title, _, _ in side_by_side.FIGURES:
        assert title in table
    assert "## Seed 1" in table and "target_update_interval=" in table
    assert table.strip() in printed


def spec_of(algo, env, extra=()):
    args = argparse.Namespace(
        algo=algo, env=env, hyper="rlzoo", steps=100_000, seeds=[1], eval_every=5000, eval_episodes=10, threshold=None
    )
    args.set = list(extra)
    return side_by_side.build_spec(args)


def test_rlzoo_maps_to_rl_zoo_ppo_and_refuses_what_sb3_lacks():
    sb3 = spec_of("PPO", "CartPole-v1")["sb3"]
    expected = {"n_envs": 8, "n_steps": 32, "batch_size": 256, "n_epochs": 20, "gamma": 0.98, "gae_lambda": 0.8}
    assert {key: sb3[key] for key in expected} == pytest.approx(expected)
    assert sb3["policy_kwargs"]["net_arch"] == {"pi": [64, 64], "vf": [64, 64]} and sb3["policy_kwargs"]["activation"] == "Tanh"
    lr, clip = side_by_side.sb3_schedule(sb3["learning_rate"]), side_by_side.sb3_schedule(sb3["clip_range"])
    assert lr(1.0) == pytest.approx(1e-3) and lr(0.5) == pytest.approx(5e-4)  # RL Zoo's lin_0.001
    assert clip(1.0) == pytest.approx(0.2) and clip(0.0) == pytest.approx(0.0)  # lin_0.2
    with pytest.raises(SystemExit, match="ppo_type"):
        spec_of("PPO", "CartPole-v1", ["algo_cfg.ppo_type=kl"])
    with pytest.raises(SystemExit, match="normalize_obs"):
        spec_of("PPO", "CartPole-v1", ["algo_cfg.normalize_obs=true"])


def test_rlzoo_maps_the_off_policy_actor_critics():
    sac = spec_of("SAC", "Pendulum-v1")["sb3"]
    assert sac["policy_kwargs"]["net_arch"] == {"pi": [256, 256], "qf": [256, 256]}
    assert sac["ent_coef"] == "auto" and side_by_side.sb3_schedule(sac["learning_rate"]) == pytest.approx(1e-3)
    td3 = spec_of("TD3", "Pendulum-v1")["sb3"]
    assert td3["policy_kwargs"]["net_arch"] == {"pi": [400, 300], "qf": [400, 300]}
    expected = {"gamma": 0.98, "buffer_size": 200_000, "learning_starts": 10_000, "policy_delay": 2, "batch_size": 256}
    assert {key: td3[key] for key in expected} == pytest.approx(expected)
    assert td3["action_noise"]["type"] == "normal" and td3["action_noise"]["std"] == pytest.approx(0.1)
    assert "policy_delay" not in spec_of("DDPG", "Pendulum-v1")["sb3"]
    with pytest.raises(SystemExit, match="no RL Zoo settings"):
        spec_of("SAC", "CartPole-v1")
