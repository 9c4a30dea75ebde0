"""Dict observations (a network part per observation part, a replay memory per part) and legal-action masks."""

import io
import random
from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces
from torch import nn

from algos.DQN.agent import Agent
from algos.DQN.config import AlgoConfig
from joyrl.buffers import ReplayBatch, ReplayBuffer
from joyrl.cli import config_from_args
from joyrl.config import defaults
from joyrl.envs import ActionMaskObservation
from joyrl.errors import ConfigError
from joyrl.networks import DictBody, ObservationTensor, build_body, build_mlp, dict_format, legal_only
from joyrl.runner import Run
from tests.helpers import NO_WRAPPERS, ROOT, read_csv, without_seconds

PRESET = str(ROOT / "config" / "presets" / "TreasureHunt-Small-v0_DQN.yaml")
CONV = {"layer_type": "conv2d", "layer_size": [4], "kernel_size": 3, "stride": 2}
LINEAR = {"layer_type": "linear", "layer_size": [8]}
SPEC = {"image": [CONV], "vector": [LINEAR], "head": [{"layer_size": [16]}]}
SHAPES = {"image": (2, 7, 7), "vector": (5,), "action_mask": (4,)}
SPACE = spaces.Dict(
    {
        "image": spaces.Box(0, 255, SHAPES["image"], np.uint8),
        "vector": spaces.Box(-1.0, 1.0, SHAPES["vector"], np.float32),
        "action_mask": spaces.MultiBinary(4),
    }
)
TINY = [
    "--yaml",
    PRESET,
    "--seed",
    "1",
    "general_cfg.max_env_steps=400",
    "general_cfg.eval_per_episode=1",
    "general_cfg.online_eval_episode=1",
    "general_cfg.max_step=100",
    "algo_cfg.learning_starts=64",
    "algo_cfg.buffer_size=500",
    "algo_cfg.batch_size=16",
    "algo_cfg.value_layers={image: [{layer_type: conv2d, layer_size: [4], kernel_size: 3, stride: 2}], "
    "vector: [{layer_size: [16]}], head: [{layer_size: [16]}]}",
]


def observation(mask=(1, 1, 1, 1)):
    obs = SPACE.sample()
    obs["action_mask"] = np.array(mask, np.int8)
    return obs


def agent_for(space=SPACE, **changes):
    settings = defaults(AlgoConfig) | {"value_layers": SPEC, "buffer_size": 50} | changes
    return Agent(SimpleNamespace(**settings, device="cpu", obs_space=space, n_actions=4, max_env_steps=1000))


def prefer(agent, q_values):
    """Make the Q-network output ``q_values`` (A,) for every state: zero weights, that bias."""
    with torch.no_grad():
        agent.policy_net[-1].weight.zero_()
        agent.policy_net[-1].bias.copy_(torch.tensor(q_values))


# ------------------------------------------------------------------ the network


def test_each_part_goes_through_its_own_layers_then_the_head():
    net = build_mlp(SPEC, SHAPES, 3, input_dtype={"image": np.uint8, "vector": np.float32})
    body = net[0]
    assert isinstance(body, DictBody) and list(body.parts) == ["image", "vector"]  # action_mask: no spec, not an input
    assert any(isinstance(layer, nn.Conv2d) for layer in body.parts["image"])
    assert [type(layer) for layer in body.parts["vector"]] == [nn.Linear, nn.ReLU]
    head = [layer for layer in net[1:] if isinstance(layer, nn.Linear)]
    assert [(layer.in_features, layer.out_features) for layer in head] == [(4 * 3 * 3 + 8, 16), (16, 3)]
    batch = {name: torch.as_tensor(np.stack([SPACE[name].sample() for _ in range(5)])) for name in SPACE.spaces}
    with torch.no_grad():
        assert net(batch).shape == (5, 3)
        image, vector = body.parts["image"](batch["image"]), body.parts["vector"](batch["vector"])
        assert torch.equal(body(batch), torch.cat([image, vector], dim=1))
        assert torch.allclose(image, body.parts["image"][1:](batch["image"].float() / 255))  # uint8 scaled in its part


def test_an_empty_list_feeds_a_part_in_flattened_and_the_head_is_optional():
    body, width = build_body({"image": [], "vector": [LINEAR]}, SHAPES)
    assert width == 2 * 7 * 7 + 8
    assert len(body) == 1  # the DictBody alone
    assert body({"image": torch.ones(3, 2, 7, 7), "vector": torch.ones(3, 5)}).shape == (3, width)


def test_the_list_spec_still_builds_a_plain_mlp():
    net = build_mlp([LINEAR], (5,), 2)
    assert [type(layer) for layer in net] == [nn.Linear, nn.ReLU, nn.Linear]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"imgae": [CONV]}, r"value_layers\.imgae: the observation has no part 'imgae'; did you mean image\?"),
        ({"vector": [CONV]}, r"value_layers\.vector\[0\]: conv2d needs image observations .* a flat vector of 5"),
        ({"image": [CONV], "head": [CONV]}, r"value_layers\.head\[0\]: the head takes the concatenated flat features"),
        ({"image": CONV}, r"value_layers\.image: expected a list of layers"),
        ({"head": [LINEAR]}, r"value_layers names no observation part; give layers for at least one of image, vector"),
        ({"image": [CONV | {"activation": "swish"}]}, r"value_layers\.image\[0\]\.activation: unknown 'swish'"),
        ({"image": [CONV | {"kernel_size": 9}]}, r"value_layers\.image\[0\]: a 9x9 kernel does not fit"),
        ([LINEAR], r"value_layers: the observation is a Dict with parts image, vector, action_mask; give a mapping"),
    ],
)
def test_bad_dict_specs_are_config_errors(spec, message):
    with pytest.raises(ConfigError, match=message):
        build_body(spec, SHAPES)


def test_a_mapping_spec_on_a_box_observation_is_a_config_error():
    with pytest.raises(
        ConfigError, match=r"value_layers maps observation parts \(image\) to layers, but the observation is not a Dict"
    ):
        build_body({"image": [CONV]}, (4,))
    cfg = SimpleNamespace(value_layers={"image": [CONV]}, obs_space=spaces.Box(0, 1, (4,)))
    with pytest.raises(ConfigError, match=r"its shape is \(4,\)"):
        dict_format(cfg)


def test_a_scalar_box_part_cannot_be_a_network_input():
    space = spaces.Dict({"vector": SPACE["vector"], "level": spaces.Box(0.0, 1.0, ())})
    with pytest.raises(ConfigError, match=r"value_layers\.level: the part is a single number"):
        dict_format(SimpleNamespace(value_layers={"level": [LINEAR]}, obs_space=space))


def test_discrete_and_multi_discrete_parts_are_kept_as_indices_and_enter_the_network_one_hot():
    """The memory keeps the parts' indices (int64); the network's part layers see their one-hots (and a start offset)."""
    space = spaces.Dict(
        {
            "vector": SPACE["vector"],
            "level": spaces.Discrete(3, start=1),
            "digits": spaces.MultiDiscrete([2, 4]),
            "bits": spaces.MultiBinary(2),
        }
    )
    spec = {"level": [], "digits": [], "bits": [], "vector": [LINEAR]}
    shapes, dtypes = dict_format(SimpleNamespace(value_layers=spec, obs_space=space))
    assert shapes == {"level": (), "digits": (2,), "bits": (2,), "vector": (5,)}
    assert dtypes == {"level": np.int64, "digits": np.int64, "bits": np.float32, "vector": np.float32}
    body, width = build_body(spec, shapes, input_dtype=dtypes)
    assert width == 3 + 6 + 2 + LINEAR["layer_size"][0]
    observation = {
        "level": torch.tensor([3, 1]),
        "digits": torch.tensor([[1, 0], [0, 3]]),
        "bits": torch.tensor([[1.0, 0.0], [0.0, 1.0]]),
        "vector": torch.zeros(2, 5),
    }
    features = body(observation)[:, :11]  # the parts without layers come first, as the spec names them
    expected = [[0, 0, 1, 0, 1, 1, 0, 0, 0, 1, 0], [1, 0, 0, 1, 0, 0, 0, 0, 1, 0, 1]]
    assert features.tolist() == expected


def test_the_kept_parts_are_those_the_spec_names_and_the_mask_for_agents_that_use_it():
    cfg = SimpleNamespace(value_layers=SPEC, obs_space=SPACE)
    assert dict_format(cfg) == ({"image": (2, 7, 7), "vector": (5,)}, {"image": np.uint8, "vector": np.float32})
    shapes, dtypes = dict_format(cfg, keep_mask=True)
    assert shapes["action_mask"] == (4,) and dtypes["action_mask"] == np.bool_
    assert dict_format(SimpleNamespace(value_layers=[LINEAR], obs_space=spaces.Box(0, 1, (4,)))) is None


def test_observation_tensor_gives_a_tensor_per_kept_part():
    shapes, dtypes = dict_format(SimpleNamespace(value_layers=SPEC, obs_space=SPACE), keep_mask=True)
    tensors = ObservationTensor(shapes, torch.device("cpu"), dtypes)(observation((0, 1, 0, 1)) | {"extra": 1})
    assert {name: (t.dtype, tuple(t.shape)) for name, t in tensors.items()} == {
        "image": (torch.uint8, (1, 2, 7, 7)),
        "vector": (torch.float32, (1, 5)),
        "action_mask": (torch.bool, (1, 4)),
    }
    assert tensors["action_mask"].tolist() == [[False, True, False, True]]


# ------------------------------------------------------------------ the replay memory


def test_replay_buffer_round_trip_of_dict_observations():
    shapes, dtypes = dict_format(SimpleNamespace(value_layers=SPEC, obs_space=SPACE), keep_mask=True)
    buffer = ReplayBuffer(8, shapes, obs_dtype=dtypes)
    assert buffer.states.parts["image"].dtype == np.uint8 and buffer.states.parts["image"].nbytes == 8 * 2 * 7 * 7
    assert set(buffer.next_states.parts) == {"image", "vector", "action_mask"}
    stored = [(observation(), observation((1, 0, 0, i % 2))) for i in range(11)]  # wraps around the ring
    for i, (state, next_state) in enumerate(stored):
        buffer.push(state | {"not_kept": np.zeros(3)}, i % 4, float(i), next_state, i % 3 == 0)
    assert (len(buffer), buffer.position) == (8, 3)

    batch = buffer.sample(32)
    assert isinstance(batch.states, dict) and batch.states["image"].dtype == torch.uint8
    assert batch.next_states["action_mask"].dtype == torch.bool and batch.next_states["vector"].shape == (32, 5)
    for j, i in enumerate(batch.rewards.long().tolist()):  # each transition's parts stay together
        state, next_state = stored[i]
        assert np.array_equal(batch.states["image"][j].numpy(), state["image"])
        assert np.array_equal(batch.next_states["vector"][j].numpy(), next_state["vector"])
        assert batch.next_states["action_mask"][j].tolist() == [True, False, False, bool(i % 2)]

    saved = io.BytesIO()
    torch.save(buffer.state_dict(), saved)
    saved.seek(0)
    restored = ReplayBuffer(8, shapes, obs_dtype=dtypes)
    restored.load_state_dict(torch.load(saved, weights_only=True))
    for name in ("image", "vector", "action_mask"):
        np.testing.assert_array_equal(restored.states.parts[name], buffer.states.parts[name])
        np.testing.assert_array_equal(restored.next_states.parts[name], buffer.next_states.parts[name])
    np.testing.assert_array_equal(restored.rewards, buffer.rewards)


def test_push_batch_of_dict_observations_equals_repeated_push():
    shapes, dtypes = {"image": (2, 3)}, {"image": np.uint8}
    one, many = ReplayBuffer(4, shapes, obs_dtype=dtypes), ReplayBuffer(4, shapes, obs_dtype=dtypes)
    images = np.arange(6 * 6, dtype=np.uint8).reshape(6, 2, 3)
    for i in range(6):
        one.push({"image": images[i]}, i, float(i), {"image": images[i] + 1}, False)
    for part in (slice(0, 3), slice(3, 6)):  # the second batch wraps around the ring
        many.push_batch(
            {"image": images[part]}, np.arange(6)[part], np.arange(6.0)[part], {"image": images[part] + 1}, np.zeros(3)
        )
    np.testing.assert_array_equal(one.states.parts["image"], many.states.parts["image"])
    np.testing.assert_array_equal(one.next_states.parts["image"], many.next_states.parts["image"])


# ------------------------------------------------------------------ action masks


def test_masked_epsilon_greedy_never_samples_an_illegal_action():
    random.seed(0)
    agent = agent_for(epsilon_start=1.0, epsilon_end=1.0)  # always the random branch
    state = observation((0, 1, 0, 1))
    drawn = [agent.sample_action(state) for _ in range(2000)]
    assert set(drawn) == {1, 3}
    assert 800 < drawn.count(1) < 1200  # uniform among the legal ones
    assert set(agent.sample_action(observation((0, 0, 1, 0))) for _ in range(50)) == {2}


def test_greedy_action_is_the_best_legal_one():
    agent = agent_for(epsilon_start=0.0, epsilon_end=0.0)
    prefer(agent, [5.0, 1.0, 3.0, 0.0])
    assert agent.predict_action(observation()) == 0
    assert agent.predict_action(observation((0, 1, 1, 1))) == 2
    assert agent.sample_action(observation((0, 1, 0, 1))) == 1
    assert agent.predict_action(observation((0, 0, 0, 0))) == 0  # no legal action: the mask is ignored


def test_legal_only_masks_per_row_and_leaves_unmasked_observations_alone():
    q = torch.tensor([[1.0, 5.0, 2.0], [4.0, 0.0, 3.0]])
    masked = legal_only(q, {"action_mask": torch.tensor([[1, 0, 1], [0, 1, 0]], dtype=torch.bool)})
    assert masked.argmax(dim=1).tolist() == [2, 1]
    assert legal_only(q, torch.zeros(2, 3)) is q
    assert legal_only(q, {"vector": torch.zeros(2, 3)}) is q


class Fixed(nn.Module):
    """A stand-in target network giving the same Q-values whatever the input."""

    def __init__(self, q_values):
        super().__init__()
        self.q_values = torch.tensor(q_values)

    def forward(self, _observation):
        return self.q_values


def test_the_target_max_is_taken_over_the_next_states_legal_actions():
    agent = agent_for(gamma=0.5)
    agent.target_net = Fixed([[1.0, 5.0, 2.0, 0.0], [4.0, 0.0, 3.0, 6.0], [7.0, 8.0, 9.0, 1.0]])
    next_masks = torch.tensor([[1, 0, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]], dtype=torch.bool)
    batch = ReplayBatch(
        states=None,
        actions=torch.zeros(3, dtype=torch.int64),
        rewards=torch.tensor([1.0, 0.0, 0.5]),
        next_states={"action_mask": next_masks},
        terminated=torch.tensor([0.0, 0.0, 1.0]),
    )
    # legal maxima: 2 (not 5), 3 (not 6), 9 (no legal action: the whole row); the third terminated
    assert agent.compute_target(batch).tolist() == [1.0 + 0.5 * 2.0, 0.0 + 0.5 * 3.0, 0.5]
    unmasked = batch._replace(next_states={"vector": torch.zeros(3, 5)})
    assert agent.compute_target(unmasked).tolist() == [1.0 + 0.5 * 5.0, 0.0 + 0.5 * 6.0, 0.5]


def test_double_dqn_picks_the_next_action_among_the_legal_ones():
    from algos.DoubleDQN.agent import Agent as DoubleAgent

    settings = defaults(AlgoConfig) | {"value_layers": SPEC, "buffer_size": 50, "gamma": 0.5}
    agent = DoubleAgent(SimpleNamespace(**settings, device="cpu", obs_space=SPACE, n_actions=4, max_env_steps=1000))
    agent.policy_net = Fixed([[0.0, 9.0, 1.0, 2.0]])  # the online net prefers action 1, illegal below
    agent.target_net = Fixed([[10.0, 20.0, 30.0, 40.0]])
    batch = ReplayBatch(
        states=None,
        actions=torch.zeros(1, dtype=torch.int64),
        rewards=torch.tensor([1.0]),
        next_states={"action_mask": torch.tensor([[1, 0, 1, 1]], dtype=torch.bool)},
        terminated=torch.tensor([0.0]),
    )
    assert agent.compute_target(batch).tolist() == [1.0 + 0.5 * 40.0]  # a* = 3, the best legal online action


def test_an_info_mask_becomes_the_observations_action_mask_part():
    class InfoMask(gym.Env):
        observation_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
        action_space = spaces.Discrete(3)

        def reset(self, *, seed=None, options=None):
            super().reset(seed=seed)
            return np.zeros(2, np.float32), {"action_mask": np.array([1, 0, 1])}

        def step(self, action):
            return np.ones(2, np.float32), 0.0, False, False, {"action_mask": np.array([0, 1, 0])}

    env = ActionMaskObservation(InfoMask())
    assert set(env.observation_space.spaces) == {"observation", "action_mask"}
    obs, _ = env.reset(seed=0)
    assert obs["action_mask"].tolist() == [1, 0, 1] and env.observation_space.contains(obs)
    assert env.step(0)[0]["action_mask"].tolist() == [0, 1, 0]


# ------------------------------------------------------------------ DQN on TreasureHunt


def test_dqn_trains_on_treasure_hunt_and_resumes_exactly_from_a_stop_mid_episode(cli):
    """A tiny run; one stopped at step 237 (SIGINT) and resumed with its replay memory ends the same."""
    exact = [*TINY, "general_cfg.save_buffer=true"]
    whole = cli(*exact)
    assert whole.code == 0, whole.err
    assert int(read_csv(whole.folder / "results" / "res.csv")[-1]["env_steps"]) >= 400
    assert (whole.folder / "results" / "eval.csv").is_file() and (whole.folder / "models" / "last.pt").is_file()

    signal = "env_cfg.wrappers=[{name: 'tests.faulty_env:SignalAtStep', kwargs: {step: 237}}]"
    stopped = cli(*exact, signal)
    assert stopped.code == 130
    # the loaded run's env_cfg comes with it: drop the wrapper that stopped it
    resumed = cli(*exact, "general_cfg.load_checkpoint=true", "--load", stopped.folder, NO_WRAPPERS)
    assert resumed.code == 0 and "with its replay memory" in resumed.err
    for name in ("res.csv", "eval.csv", "train_stats.csv"):
        expected = without_seconds(read_csv(whole.folder / "results" / name))
        assert without_seconds(read_csv(resumed.folder / "results" / name)) == expected, name

    tested = cli(*TINY, "--mode", "test", "--load", whole.folder, "general_cfg.play_episodes=1")
    assert tested.code == 0, tested.err


def test_the_greedy_policy_never_takes_an_illegal_action_on_treasure_hunt():
    run = Run(config_from_args([*TINY, "general_cfg.max_env_steps=200"]))
    run.prepare()
    run.trainer.train_one_episode(run.env, run.agent, run.cfg)  # some learning steps first
    flashes = torch.tensor([0.0] * 8 + [100.0] * 8)
    with torch.no_grad():  # now it would flash whenever it may: after every flash, a cooldown makes flashes illegal
        run.agent.policy_net[-1].bias.add_(flashes)
    state, _ = run.env.reset()
    illegal, flashed = 0, 0
    for _ in range(100):
        action = run.agent.predict_action(state)
        illegal += state["action_mask"][action] == 0
        flashed += action >= 8
        state, _, terminated, truncated, _ = run.env.step(action)
        if terminated or truncated:
            state, _ = run.env.reset()
    assert illegal == 0
    assert 1 <= flashed < 100  # flashed when it could, moved during cooldowns
    run.env.close()


@pytest.mark.parametrize("preset", ["TreasureHunt-Small-v0_PPO.yaml", "TreasureHunt-v0_PPO_ray.yaml"])
def test_the_ppo_treasure_hunt_presets_train_on_the_dict_observation_and_record_the_score(cli, preset):
    tiny = ["general_cfg.mp_backend=single", "general_cfg.n_workers=1", "general_cfg.max_env_steps=600"]
    tiny += ["general_cfg.eval_per_episode=2", "general_cfg.online_eval_episode=1", "general_cfg.max_step=50"]
    tiny += ["algo_cfg.n_envs=4", "algo_cfg.n_steps=16", "algo_cfg.batch_size=32", "algo_cfg.n_epochs=1"]
    result = cli("--yaml", ROOT / "config" / "presets" / preset, *tiny)
    assert result.code == 0, result.err
    rows = read_csv(result.folder / "results" / "res.csv")
    assert rows and all(float(row["score"]) >= 0 and row["collected"] != "" for row in rows)
    assert "eval_score" in read_csv(result.folder / "results" / "eval.csv")[0]
    assert (result.folder / "results" / "info_score.png").is_file()
