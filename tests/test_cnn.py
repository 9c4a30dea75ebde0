"""DQN_CNN: the Nature CNN, uint8 frames end to end, PixelCatch-v0, the Atari wrappers."""

import importlib.util
import re
from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces
from gymnasium.utils.env_checker import check_env
from torch import nn

import envs  # noqa: F401  (registers PixelCatch-v0)
from algos.DQN.agent import Agent as DQNAgent
from algos.DQN.config import AlgoConfig as DQNConfig
from algos.DQN_CNN.agent import Agent
from algos.DQN_CNN.config import AlgoConfig
from joyrl.config import defaults
from joyrl.envs import make_env
from joyrl.errors import ConfigError
from joyrl.networks import ScaleUint8, build_mlp
from tests.helpers import read_csv

ATARI_FRAMES = spaces.Box(0, 255, (4, 84, 84), np.uint8)
SMALL_CNN = (
    "algo_cfg.value_layers=[{layer_type: conv2d, layer_size: [4], kernel_size: 4, stride: 4}, "
    "{layer_type: linear, layer_size: [16]}]"
)
TINY_DQN_CNN = [
    "--algo",
    "DQN_CNN",
    "--env",
    "PixelCatch-v0",
    "--seed",
    "1",
    "general_cfg.max_env_steps=300",
    "general_cfg.eval_per_episode=10",
    "general_cfg.online_eval_episode=2",
    "algo_cfg.learning_starts=50",
    "algo_cfg.buffer_size=500",
    "algo_cfg.epsilon_decay=200",
    SMALL_CNN,
]


def agent_cfg(obs_space, **changes):
    settings = defaults(AlgoConfig) | {"buffer_size": 100} | changes
    return SimpleNamespace(
        **settings, device="cpu", obs_space=obs_space, obs_shape=obs_space.shape, n_actions=6, max_env_steps=1000
    )


# ------------------------------------------------------------------ the network and the memory


def test_the_default_network_is_the_nature_cnn_on_atari_frames():
    net = build_mlp(AlgoConfig.value_layers, (4, 84, 84), 6, input_dtype=np.uint8)
    convs = [layer for layer in net if isinstance(layer, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size[0], c.stride[0]) for c in convs] == [
        (4, 32, 8, 4),
        (32, 64, 4, 2),
        (64, 64, 3, 1),
    ]
    shapes, x = [], torch.zeros(2, 4, 84, 84, dtype=torch.uint8)
    for layer in net:
        x = layer(x)
        if isinstance(layer, nn.Conv2d):
            shapes.append(tuple(x.shape[1:]))
    assert shapes == [(32, 20, 20), (64, 9, 9), (64, 7, 7)]  # (84 - 8) / 4 + 1 = 20, (20 - 4) / 2 + 1 = 9, 9 - 3 + 1 = 7
    linears = [layer for layer in net if isinstance(layer, nn.Linear)]
    assert [(layer.in_features, layer.out_features) for layer in linears] == [(64 * 7 * 7, 512), (512, 6)]
    assert x.shape == (2, 6)


def test_uint8_frames_are_scaled_inside_the_agents_network():
    agent = Agent(agent_cfg(ATARI_FRAMES))
    assert isinstance(agent.policy_net[0], ScaleUint8)
    frame = ATARI_FRAMES.sample()
    with torch.no_grad():
        from_bytes = agent.policy_net(torch.from_numpy(frame)[None])
        from_unit_floats = agent.policy_net[1:](torch.from_numpy(frame)[None].float() / 255)
    assert torch.allclose(from_bytes, from_unit_floats)
    assert agent.observation(frame).dtype == torch.uint8
    assert 0 <= agent.predict_action(frame) < 6


def test_the_replay_memory_keeps_uint8_frames():
    agent = Agent(agent_cfg(ATARI_FRAMES))
    assert agent.memory.states.dtype == np.uint8 and agent.memory.next_states.dtype == np.uint8
    assert agent.memory.states[0].nbytes == 4 * 84 * 84  # 28,224 bytes per observation, a quarter of float32's
    frame = np.full((4, 84, 84), 200, np.uint8)
    agent.store_transition(frame, 1, 0.0, frame, False)
    batch = agent.memory.sample(3)
    assert batch.states.dtype == torch.uint8 and batch.states.shape == (3, 4, 84, 84)
    assert int(batch.next_states.max()) == 200


def test_float_image_observations_stay_float32_and_unscaled():
    agent = Agent(
        agent_cfg(
            spaces.Box(0, 1, (1, 36, 36), np.float32),
            value_layers=[{"layer_type": "conv2d", "layer_size": [4], "kernel_size": 4}],
        )
    )
    assert agent.memory.states.dtype == np.float32
    assert not isinstance(agent.policy_net[0], ScaleUint8)


@pytest.mark.parametrize(
    ("clip_reward", "rewards", "stored"), [(True, [5.0, -3.0, 0.5], [1.0, -1.0, 0.5]), (False, [5.0], [5.0])]
)
def test_rewards_are_clipped_when_stored(clip_reward, rewards, stored):
    agent = Agent(agent_cfg(ATARI_FRAMES, clip_reward=clip_reward))
    frame = np.zeros((4, 84, 84), np.uint8)
    for reward in rewards:
        agent.store_transition(frame, 0, reward, frame, False)
    assert agent.memory.rewards[: len(rewards)].tolist() == stored


def test_dqn_keeps_flat_float32_observations():
    cfg = SimpleNamespace(**defaults(DQNConfig), device="cpu", n_states=4, n_actions=2, max_env_steps=1000)
    agent = DQNAgent(cfg)
    assert agent.observation_format() == ((4,), np.float32)
    assert agent.memory.states.shape == (100_000, 4) and agent.memory.states.dtype == np.float32
    assert [type(layer) for layer in agent.policy_net] == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]


# ------------------------------------------------------------------ PixelCatch-v0


def test_pixel_catch_passes_the_env_checker():
    check_env(gym.make("PixelCatch-v0").unwrapped)


def test_pixel_catch_frames_show_the_ball_and_the_paddle():
    env = gym.make("PixelCatch-v0")
    frame, _ = env.reset(seed=3)
    column = env.unwrapped.ball_column
    assert frame.shape == (1, 36, 36) and frame.dtype == np.uint8
    assert set(np.unique(frame)) == {0, 255}
    assert frame[0, 0:4, 4 * column : 4 * column + 4].min() == 255  # the ball: a 4x4 square in the top row
    assert frame[0, 32:36, 16:20].min() == 255  # the paddle, in the middle of the bottom row
    assert frame.sum() == 2 * 16 * 255


@pytest.mark.parametrize("catch", [True, False])
def test_pixel_catch_pays_one_for_a_catch_and_minus_one_for_a_miss(catch):
    env = gym.make("PixelCatch-v0")
    env.reset(seed=0)
    column = env.unwrapped.ball_column
    target = column if catch else (column + 1) % 9
    rewards, terminated, truncated = [], False, False
    while not (terminated or truncated):
        paddle = env.unwrapped.paddle
        action = 1 + int(np.sign(target - paddle))  # 0 left, 1 stay, 2 right
        _, reward, terminated, truncated, _ = env.step(action)
        rewards.append(reward)
    assert rewards == [0.0] * 7 + [1.0 if catch else -1.0]
    assert terminated and not truncated


def test_pixel_catch_renders_rgb_frames():
    env = gym.make("PixelCatch-v0", render_mode="rgb_array")
    env.reset(seed=0)
    image = env.render()
    assert image.shape == (144, 144, 3) and image.dtype == np.uint8


# ------------------------------------------------------------------ runs through the command line


def test_dqn_cnn_trains_on_pixel_catch_and_tests_its_checkpoint(cli):
    result = cli(*TINY_DQN_CNN)
    assert result.code == 0, result.err
    assert int(read_csv(result.folder / "results" / "res.csv")[-1]["env_steps"]) >= 300
    agent_state = torch.load(result.folder / "models" / "last.pt", weights_only=True)["agent"]
    assert agent_state["policy_net"]["1.weight"].shape == (4, 1, 4, 4)  # after ScaleUint8, the conv2d on 1 channel
    assert agent_state["update_count"] > 0
    tested = cli(*TINY_DQN_CNN, "--mode", "test", "--load", result.folder, "general_cfg.play_episodes=2")
    assert tested.code == 0, tested.err
    assert [row["length"] for row in read_csv(tested.folder / "results" / "res.csv")] == ["8", "8"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--env", "CartPole-v1"], r"algo_cfg\.value_layers\[0\]: conv2d needs image observations shaped \(C, H, W\)"),
        (
            ["algo_cfg.value_layers=[{layer_type: conv2d, layer_size: [4], kernel_size: 4, stride: 0}]"],
            r"algo_cfg\.value_layers\[0\]\.stride: expected a positive integer",
        ),
        (
            ["algo_cfg.value_layers=[{layer_type: conv2d, layer_size: [4], kernel_size: 40}]"],
            r"algo_cfg\.value_layers\[0\]: a 40x40 kernel does not fit the 36x36 feature map",
        ),
    ],
)
def test_conv_layers_that_do_not_fit_stop_the_run_with_one_line(cli, args, message):
    result = cli(*TINY_DQN_CNN, *args)
    assert result.code == 2
    assert result.folder is None
    assert len(result.err.strip().splitlines()) == 1
    assert re.search(message, result.err)


# ------------------------------------------------------------------ Atari (only with requirements-atari.txt)

needs_atari = pytest.mark.skipif(importlib.util.find_spec("ale_py") is None, reason="pip install -r requirements-atari.txt")


def atari_cfg(**changes):
    settings = {"id": "ALE/Pong-v5", "kwargs": {"frameskip": 1}, "max_step": -1, "render_mode": None}
    return SimpleNamespace(**settings | {"wrappers": ["envs.atari:atari_wrappers"]} | changes)


@needs_atari
def test_atari_wrappers_give_four_stacked_84x84_uint8_frames():
    env = make_env(atari_cfg(), seed=1)
    assert env.observation_space == spaces.Box(0, 255, (4, 84, 84), np.uint8)
    frames, _ = env.reset()
    assert frames.shape == (4, 84, 84) and frames.dtype == np.uint8
    env.close()


@needs_atari
def test_atari_wrappers_need_a_base_env_without_frame_skipping():
    with pytest.raises(ConfigError, match=r"frameskip: 1"):
        make_env(atari_cfg(kwargs={}), seed=1)
