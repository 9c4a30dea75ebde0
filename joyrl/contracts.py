"""What an algorithm folder gives the framework, declared rather than discovered.

``AgentProtocol`` and ``TrainerProtocol`` are the required parts (a type checker holds every
``algos/<NAME>/`` to them). The optional parts are explicit class attributes with defaults on
``BaseAgent`` and ``BaseTrainer``, which every agent and trainer subclasses; the framework reads
them as attributes and never probes with ``getattr``/``hasattr``:

- ``supported_observation_spaces`` / ``supported_action_spaces``: the Gymnasium space kinds the
  agent handles (checked at start-up; listed by ``python main.py --list``);
- ``observation_spaces_by_action``: for an action kind that takes fewer observation kinds than
  ``supported_observation_spaces`` (CQL with Box actions: no Dict), those it takes
  (``observation_spaces_for``);
- ``masks_actions``: the agent honours an ``action_mask`` observation part (joyrl/acting.py);
- ``weights``: the entries of the agent's ``state_dict()`` that a fine-tune starts from (networks,
  normalisers' statistics, tables); the rest (optimisers, counters, episode state) starts fresh;
- ``memory``: a replay memory kept in ``last.pt`` with ``save_buffer`` (None: nothing to keep);
- ``end_episode()``: told when an episode ends (n-step returns, noise processes, hidden states);
- ``drop_rollout()``: told when an env failure loses the steps not learned from yet;
- ``needs_dataset``: the algorithm learns from a dataset only (BC, CQL, ...): train mode without
  ``general_cfg.dataset`` is one clear line;
- ``learns_from_demonstrations``: it trains online, in the env, with a dataset of demonstrations
  beside (GAIL): the run gives it the dataset with ``fit_dataset`` and trains as usual;
- ``learns_offline``: ``update()`` can learn from a memory filled from a dataset
  (``general_cfg.dataset``, joyrl/datasets.py) with no env steps; ``fit_dataset(dataset)``: told
  the dataset first, for statistics taken from the data (observation normalisation);
- ``ray_workers``: how the agent's data travels from Ray workers with ``mp_backend: ray``
  (joyrl/distributed.py): ``transitions`` (streamed into the replay memory), ``episodes`` (the
  same, whole episodes at a time), ``rollouts`` (synchronous on-policy rounds), None (refused);
- a trainer's ``close()``: told when the run ends (the Ray trainer stops its workers);
- a trainer's ``state_dict()`` / ``load_state_dict(state, env)``: the unfinished episode, for an
  exact resume (the default keeps nothing, so a resumed run starts a new episode).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, Protocol, TypedDict

import gymnasium as gym

RayWorkers = Literal["transitions", "episodes", "rollouts"] | None  # how data travels from Ray workers, or None


class Checkpointable(Protocol):
    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class AgentProtocol(Checkpointable, Protocol):
    supported_observation_spaces: ClassVar[tuple[str, ...]]
    supported_action_spaces: ClassVar[tuple[str, ...]]
    observation_spaces_by_action: ClassVar[dict[str, tuple[str, ...]]]
    masks_actions: ClassVar[bool]
    learns_offline: ClassVar[bool]
    needs_dataset: ClassVar[bool]
    learns_from_demonstrations: ClassVar[bool]
    weights: ClassVar[tuple[str, ...]]
    ray_workers: ClassVar[RayWorkers]
    memory: Checkpointable | None

    def sample_action(self, state: Any) -> Any: ...

    def predict_action(self, state: Any) -> Any: ...

    def update(self) -> dict[str, float] | None: ...

    def end_episode(self) -> None: ...

    def drop_rollout(self) -> None: ...

    def fit_dataset(self, dataset: Any) -> None: ...


class EpisodeResult(TypedDict, total=False):
    """What a trainer returns for each finished episode; any other key is an update statistic (its mean)."""

    ep_reward: float  # the episode's return
    ep_step: int  # its length
    env_steps_taken: int  # env steps since the previous result, all envs together (vector trainers); default ep_step
    n_updates: int  # updates that returned statistics since the previous result
    info: dict[str, Any]  # the env's info at the episode's last step, for general_cfg.info_keys


class TrainerProtocol(Protocol):
    stop_requested: bool

    def train_one_episode(self, env: gym.Env, agent: Any, cfg: Any) -> dict[str, Any] | None: ...

    def test_one_episode(self, env: gym.Env, agent: Any, cfg: Any) -> dict[str, Any]: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any], env: gym.Env) -> bool: ...

    def close(self) -> None: ...


class BaseAgent:
    """The optional parts of an agent, with their defaults (see the module docstring)."""

    supported_observation_spaces: ClassVar[tuple[str, ...]] = ("Box",)
    supported_action_spaces: ClassVar[tuple[str, ...]] = ("Discrete",)
    observation_spaces_by_action: ClassVar[dict[str, tuple[str, ...]]] = {}
    masks_actions: ClassVar[bool] = False
    learns_offline: ClassVar[bool] = False
    needs_dataset: ClassVar[bool] = False
    learns_from_demonstrations: ClassVar[bool] = False
    weights: ClassVar[tuple[str, ...]] = ()
    ray_workers: ClassVar[RayWorkers] = None
    memory: Checkpointable | None = None

    def end_episode(self) -> None:
        """Nothing to close at an episode's end."""

    def drop_rollout(self) -> None:
        """Nothing held back from learning."""

    def fit_dataset(self, dataset: Any) -> None:
        """Nothing taken from an offline dataset but its transitions (which ``store_transition`` receives)."""


def observation_spaces_for(agent_class: type[BaseAgent], action_kind: str) -> tuple[str, ...]:
    """The observation space kinds ``agent_class`` takes with actions of ``action_kind`` (a space's class name)."""
    return agent_class.observation_spaces_by_action.get(action_kind, agent_class.supported_observation_spaces)


class BaseTrainer:
    """The optional parts of a trainer: a stop flag the run sets, and no unfinished episode to keep."""

    def __init__(self) -> None:
        self.stop_requested = False  # set by the run on Ctrl-C or SIGTERM: stop after the current step

    def state_dict(self) -> dict[str, Any]:
        """Nothing: a resumed run starts a new episode."""
        return {}

    def load_state_dict(self, state: dict[str, Any], env: gym.Env) -> bool:
        """Nothing to continue; True: nothing was lost."""
        return True

    def close(self) -> None:
        """Nothing to stop when the run ends."""
