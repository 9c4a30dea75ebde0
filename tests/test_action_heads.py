"""MultiDiscrete and MultiBinary actions for PPO, A2C and REINFORCE: the policy head, masks, collect mode, resume.

``joyrl.policies.DiscretePolicyHead`` turns logits into pi(.|s): a categorical per MultiDiscrete dimension
or a Bernoulli per MultiBinary bit, log-probabilities and entropies summed (independent parts). Checked
against torch's distributions built by hand, then end to end through the CLI.
"""

from __future__ import annotations

from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces
from torch.distributions import Bernoulli, Categorical, kl_divergence

from algos.REINFORCE.agent import Agent as REINFORCEAgent
from algos.REINFORCE.config import AlgoConfig as REINFORCEConfig
from joyrl.errors import ConfigError
from joyrl.policies import DiscretePolicyHead, distribution_rows
from joyrl.trajectories import load_trajectories
from tests.helpers import read_csv, run_cli, train
from tests.identity_envs import coded_id, register_identity_envs

register_identity_envs()

NVEC = [3, 2, 4]  # three dimensions of different sizes: 9 logits


def by_hand(logits: torch.Tensor) -> list[Categorical]:
    """A torch Categorical per MultiDiscrete dimension of NVEC."""
    return [Categorical(logits=part) for part in logits.split(NVEC, dim=-1)]


def test_a_categorical_per_dimension_sums_log_probs_and_entropies():
    torch.manual_seed(0)
    head = DiscretePolicyHead(spaces.MultiDiscrete(NVEC))
    assert head.n_outputs == 9 and head.action_format == ((3,), np.int64)
    logits = torch.randn(64, 9)
    distribution = head.distribution(logits)
    actions = distribution.sample()
    assert actions.shape == (64, 3)
    assert all(int(actions[:, d].max()) < size for d, size in enumerate(NVEC))
    parts = by_hand(logits)
    torch.testing.assert_close(distribution.log_prob(actions), sum(part.log_prob(actions[:, d]) for d, part in enumerate(parts)))
    torch.testing.assert_close(distribution.entropy(), sum(part.entropy() for part in parts))
    greedy = head.greedy(logits)
    assert torch.equal(greedy, torch.stack([part.logits.argmax(-1) for part in parts], dim=1))


def test_every_choice_of_every_dimension_is_drawn_as_often_as_its_probability():
    torch.manual_seed(1)
    head = DiscretePolicyHead(spaces.MultiDiscrete(NVEC))
    logits = torch.randn(1, 9).expand(20_000, 9)
    draws = head.distribution(logits).sample()
    for d, part in enumerate(by_hand(logits[:1])):
        frequencies = torch.bincount(draws[:, d], minlength=NVEC[d]).float() / len(draws)
        torch.testing.assert_close(frequencies, part.probs[0], atol=0.015, rtol=0)


def test_a_mask_per_dimension_gives_illegal_choices_probability_zero():
    torch.manual_seed(2)
    head = DiscretePolicyHead(spaces.MultiDiscrete(NVEC))
    logits = torch.randn(500, 9)
    mask = torch.ones(500, 9, dtype=torch.bool)
    mask[:, 0] = False  # dimension 0: choice 0 illegal
    mask[:, 3:5] = False  # dimension 1: both illegal, so the dimension is left whole
    mask[:, 5:8] = False  # dimension 2: only choice 3 legal
    observation = {"action_mask": mask}
    actions = head.distribution(logits, observation).sample()
    assert (actions[:, 0] != 0).all() and (actions[:, 2] == 3).all()
    assert set(actions[:, 1].tolist()) == {0, 1}
    greedy = head.greedy(logits, observation)
    assert (greedy[:, 0] != 0).all() and (greedy[:, 2] == 3).all()
    assert torch.isfinite(head.distribution(logits, observation).entropy()).all()


def test_a_bernoulli_per_bit():
    torch.manual_seed(3)
    head = DiscretePolicyHead(spaces.MultiBinary(5))
    assert head.n_outputs == 5 and head.action_format == ((5,), np.float32)
    logits = torch.randn(32, 5)
    distribution = head.distribution(logits)
    bits = distribution.sample()
    assert bits.shape == (32, 5) and set(bits.unique().tolist()) <= {0.0, 1.0}
    reference = Bernoulli(logits=logits)
    torch.testing.assert_close(distribution.log_prob(bits), reference.log_prob(bits).sum(-1))
    torch.testing.assert_close(distribution.entropy(), reference.entropy().sum(-1))
    assert torch.equal(head.greedy(logits), (logits > 0).float())
    env_bits = head.to_env(bits)
    assert env_bits.dtype == np.int8 and env_bits.shape == (32, 5)


def test_the_env_gets_the_spaces_own_starts_shapes_and_dtypes():
    head = DiscretePolicyHead(spaces.MultiDiscrete(np.array([[2, 3], [4, 5]]), start=np.array([[1, -1], [0, 10]])))
    assert head.n_outputs == 14 and head.action_shape == (4,)
    actions = torch.tensor([[1, 2, 3, 4]])
    env_action = head.to_env(actions)
    assert env_action.shape == (1, 2, 2) and env_action.dtype == np.int64
    assert env_action[0].tolist() == [[2, 1], [3, 14]]
    assert head.env_action(actions).shape == (2, 2)
    discrete = DiscretePolicyHead(spaces.Discrete(3, start=-1))
    assert discrete.env_action(torch.tensor([0])) == -1 and isinstance(discrete.env_action(torch.tensor([2])), int)


def test_rows_of_a_batched_policy_and_their_kl_are_the_sums_over_dimensions():
    torch.manual_seed(4)
    head = DiscretePolicyHead(spaces.MultiDiscrete(NVEC))
    old, new = torch.randn(10, 9), torch.randn(10, 9)
    rows = torch.tensor([1, 4, 7])
    kl = kl_divergence(distribution_rows(head.distribution(old), rows), distribution_rows(head.distribution(new), rows))
    expected = sum(kl_divergence(p, q) for p, q in zip(by_hand(old[rows]), by_hand(new[rows]), strict=True))
    torch.testing.assert_close(kl, expected)
    bits = DiscretePolicyHead(spaces.MultiBinary(3))
    old, new = torch.randn(10, 3), torch.randn(10, 3)
    kl = kl_divergence(distribution_rows(bits.distribution(old), rows), bits.distribution(new[rows]))
    torch.testing.assert_close(kl, kl_divergence(Bernoulli(logits=old[rows]), Bernoulli(logits=new[rows])).sum(-1))


@pytest.mark.parametrize(
    ("action_space", "mask_size", "message"),
    [(spaces.MultiDiscrete(NVEC), 4, "take 9 entries"), (spaces.MultiBinary(3), 3, "no mask")],
)
def test_a_mask_that_does_not_fit_the_actions_is_one_clear_error(action_space, mask_size, message):
    observation_space = spaces.Dict({"x": spaces.Box(0, 1, (2,)), "action_mask": spaces.MultiBinary(mask_size)})
    with pytest.raises(ConfigError, match=message):
        DiscretePolicyHead(action_space, observation_space)


def tiny(algo: str, env_id: str, steps: int = 400) -> list[str]:
    return ["--algo", algo, "--env", env_id, "--seed", "1", f"general_cfg.max_env_steps={steps}", "general_cfg.save_fig=false"]


@pytest.mark.parametrize("algo", ["PPO", "A2C", "REINFORCE"])
@pytest.mark.parametrize("action_kind", ["MultiDiscrete", "MultiBinary"])
def test_collect_mode_keeps_the_actions_with_their_shape(algo, action_kind, tmp_path):
    """Trained, then collected: every trajectory's actions are (T, 2), of the space's dtype, inside the space."""
    env_id = coded_id("Box", action_kind)
    folder = train(tiny(algo, env_id), tmp_path)
    result = run_cli(["--mode", "collect", "--load", str(folder), "general_cfg.play_episodes=2"], tmp_path)
    assert result.code == 0 and result.folder is not None
    trajectories = load_trajectories(result.folder / "traj" / "trajs_0.pkl")
    space = spaces.MultiDiscrete([2, 2]) if action_kind == "MultiDiscrete" else spaces.MultiBinary(2)
    for trajectory in trajectories:
        actions = trajectory["actions"]
        assert actions.shape == (20, 2) and actions.dtype == space.dtype
        assert all(space.contains(action) for action in actions)
    assert len(trajectories) == len(read_csv(result.folder / "results" / "res.csv")) == 2


@pytest.mark.parametrize("action_kind", ["MultiDiscrete", "MultiBinary"])
def test_reinforce_resumes_a_batch_of_multi_dimensional_actions(action_kind):
    """A checkpoint in the middle of a batch keeps its actions, (N, 2), and a restored agent learns from them."""
    space = spaces.MultiDiscrete([2, 2]) if action_kind == "MultiDiscrete" else spaces.MultiBinary(2)
    keys = {key: getattr(REINFORCEConfig, key) for key in dir(REINFORCEConfig) if not key.startswith("_") and key != "check"}
    cfg = SimpleNamespace(**keys, device="cpu", obs_space=spaces.Discrete(4), action_space=space, n_states=4, n_actions=2)
    agent = REINFORCEAgent(cfg)
    for step in range(6):
        action = agent.sample_action(np.int64(step % 4))
        assert space.contains(action)
        agent.store_transition(np.int64(step % 4), action, 1.0, np.int64((step + 1) % 4), step == 5)
    agent.end_episode()
    restored = REINFORCEAgent(cfg)
    restored.load_state_dict(agent.state_dict())
    assert np.array_equal(np.array(restored.actions), np.array(agent.actions)) and np.array(restored.actions).shape == (6, 2)
    assert np.array_equal(np.array(restored.states), np.array(agent.states))


class MaskedChoices(gym.Env):
    """MultiDiscrete([3, 3]) actions, a fresh random mask per dimension in ``info`` each step; counts illegal picks."""

    metadata = {"render_modes": []}
    illegal_picks = 0
    picks = 0

    def __init__(self, render_mode: str | None = None) -> None:
        self.observation_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.action_space = spaces.MultiDiscrete([3, 3])
        self.mask = np.ones(6, dtype=np.int8)

    def _info(self) -> dict:
        self.mask = (self.np_random.random(6) < 0.5).astype(np.int8)
        for start in (0, 3):  # one legal choice at least in each dimension
            self.mask[start + self.np_random.integers(3)] = 1
        return {"action_mask": self.mask.copy()}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        return np.zeros(2, np.float32), self._info()

    def step(self, action):
        first, second = (int(choice) for choice in action)
        MaskedChoices.picks += 1
        MaskedChoices.illegal_picks += int(not (self.mask[first] and self.mask[3 + second]))
        return self.np_random.uniform(-1, 1, 2).astype(np.float32), 1.0, False, False, self._info()


def test_ppo_never_picks_a_masked_choice_of_a_multi_discrete_action(tmp_path):
    """Acting and the greedy evaluation, through ActionMaskObservation: every pick of every dimension legal."""
    if "JoyRLMaskedChoices-v0" not in gym.registry:
        gym.register("JoyRLMaskedChoices-v0", entry_point=MaskedChoices, max_episode_steps=20)
    MaskedChoices.picks = MaskedChoices.illegal_picks = 0
    layers = "{observation: [{layer_type: linear, layer_size: [16]}]}"  # the Dict's part the networks read
    args = [
        *tiny("PPO", "JoyRLMaskedChoices-v0"),
        "env_cfg.wrappers=[joyrl.envs:ActionMaskObservation]",
        f"algo_cfg.actor_layers={layers}",
        f"algo_cfg.critic_layers={layers}",
    ]
    train([*args, "general_cfg.online_eval_episode=3", "general_cfg.eval_per_episode=5"], tmp_path)
    assert MaskedChoices.picks > 400 and MaskedChoices.illegal_picks == 0
