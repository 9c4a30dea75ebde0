"""Environment creation: ``gymnasium.make`` with the configured wrappers, seeded once, fault-tolerant."""

from __future__ import annotations

import contextlib
import difflib
import importlib
import math
from collections.abc import Callable
from typing import Any, TypeVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from joyrl import paths  # noqa: F401  (puts the project root on sys.path for `envs`)
from joyrl.contracts import BaseAgent, observation_spaces_for
from joyrl.errors import ConfigError, JoyRLError

# The evaluation env draws from a stream apart from the training env's.
EVAL_SEED_OFFSET = 10_000
ACTION_MASK = "action_mask"  # the observation part (and info key) holding a legal-action mask: 1 legal, 0 illegal
# The per-episode cap (a truncation) of an env registered without a time limit when max_step is -1
# (CliffWalking-v1, most users' own envs): without one, a greedy policy walking into a wall never ends
# its episode. Read at call time (tests lower it); max_step > 0 replaces it.
DEFAULT_MAX_STEP = 10_000


class SeedOnFirstReset(gym.Wrapper):
    """Seeds the env at its first reset only, so later episodes continue one random stream.

    Re-seeding every reset would replay the same start states each episode.
    """

    def __init__(self, env: gym.Env, seed: int | None) -> None:
        super().__init__(env)
        # steps go straight to the wrapped env: no extra call on the hot path (the method is shadowed on purpose)
        self.step = env.step  # type: ignore[method-assign]
        self._pending_seed = seed
        if seed is not None:
            env.action_space.seed(seed)
            env.observation_space.seed(seed)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if seed is None and self._pending_seed is not None:
            seed = self._pending_seed
        self._pending_seed = None
        return self.env.reset(seed=seed, options=options)


_BOOLEANS = frozenset({bool, np.bool_})
_sum = np.add.reduce
_SHORT = 48  # up to this many numbers a Python sum of the list beats a NumPy reduction (0.2 us against 1 us for 4)


def _all_finite(array: np.ndarray) -> bool:
    """No NaN or inf in a float array: its sum is finite, or (finite values whose sum overflowed) each number is."""
    total = sum(array.ravel().tolist()) if array.size <= _SHORT else _sum(array, None, np.float64)
    return math.isfinite(total) or bool(np.isfinite(array).all())


_MAX_LISTED_ACTIONS = 4096


def _space_actions(space: spaces.Space) -> dict[int, np.integer] | None:
    """Each action of a Discrete space (up to 4,096 of them) as the space's NumPy integer; None for other spaces."""
    if not isinstance(space, spaces.Discrete) or space.n > _MAX_LISTED_ACTIONS:
        return None
    first = int(space.start)
    return {action: space.dtype.type(action) for action in range(first, first + int(space.n))}


class EnvFailure(Exception):
    """The env raised or returned something malformed; the episode is dropped and the env rebuilt."""


class FaultTolerantEnv(gym.Wrapper):
    """Turns an env's exceptions and malformed returns into ``EnvFailure``; the next reset rebuilds it.

    Malformed: a step that is not a 5-tuple, a reward that is not a finite number (some
    competition envs return ``None`` after hours of running), an observation that is
    ``None`` or holds NaN/inf, flags that are not booleans.

    A Discrete env gets an agent's ``int`` action as its space's own NumPy integer, the type
    ``action_space.sample()`` gives: Gymnasium's envs check ``action_space.contains(action)`` every
    step, and that check costs 0.9 us more for a Python int (a tenth of a CartPole step).
    """

    def __init__(self, env: gym.Env, rebuild: Callable[[int], gym.Env]) -> None:
        super().__init__(env)
        self._rebuild = rebuild  # called with the number of rebuilds so far, from 1
        self.rebuilds = 0
        self._broken = False
        self._space_actions = _space_actions(env.action_space)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if self._broken:
            self._replace_env()
        try:
            observation, info = self.env.reset(seed=seed, options=options)
        except Exception as error:  # noqa: BLE001  (anything the env raises is the env's failure)
            self._fail(f"reset raised {type(error).__name__}: {error}")
        self._check_observation(observation, "reset")
        return observation, info

    def step(self, action):
        if type(action) is int and self._space_actions is not None:
            action = self._space_actions.get(action, action)  # one out of the space is the env's to refuse
        try:
            observation, reward, terminated, truncated, info = self.env.step(action)
        except Exception as error:  # noqa: BLE001
            self._fail(f"step raised {type(error).__name__}: {error}")
        try:
            reward_ok = math.isfinite(reward)
        except TypeError:  # None, a string, an array
            reward_ok = False
        if not reward_ok:
            self._fail(f"step returned the reward {reward!r}, not a finite number")
        if type(terminated) not in _BOOLEANS or type(truncated) not in _BOOLEANS:
            self._fail(f"step returned terminated={terminated!r}, truncated={truncated!r}, not booleans")
        self._check_observation(observation, "step")
        return observation, reward, terminated, truncated, info

    def _check_observation(self, observation: Any, where: str) -> None:
        if observation is None:
            self._fail(f"{where} returned the observation None")
        if type(observation) is dict:  # a Dict observation: each part
            for part in observation.values():
                self._check_observation(part, where)
            return
        if type(observation) is np.ndarray and observation.dtype.kind == "f" and not _all_finite(observation):
            self._fail(f"{where} returned an observation holding NaN or inf")

    def _fail(self, message: str):
        self._broken = True
        raise EnvFailure(message) from None

    def _replace_env(self) -> None:
        with contextlib.suppress(Exception):  # a broken env may fail to close; it is dropped either way
            self.env.close()
        self.rebuilds += 1
        try:
            self.env = self._rebuild(self.rebuilds)
        except Exception as error:  # noqa: BLE001
            raise EnvFailure(f"rebuilding the env raised {type(error).__name__}: {error}") from None
        self._broken = False


W = TypeVar("W", bound=gym.Wrapper)


def find_wrapper(env: gym.Env, wrapper: type[W]) -> W | None:
    """The outermost ``wrapper`` around ``env``'s core, or None."""
    while isinstance(env, gym.Wrapper):
        if isinstance(env, wrapper):
            return env
        env = env.env
    return None


def _seeding_wrapper(env: gym.Env) -> SeedOnFirstReset | None:
    return find_wrapper(env, SeedOnFirstReset)


def reset_rng_state(env: gym.Env) -> dict[str, Any]:
    """What decides the env's next reset: the seed its first reset will use, or its RNG state (plain types)."""
    seeder = _seeding_wrapper(env)
    if seeder is not None and seeder._pending_seed is not None:
        return {"seed": seeder._pending_seed}
    return {"rng": env.unwrapped.np_random.bit_generator.state}


def set_reset_rng_state(env: gym.Env, state: dict[str, Any]) -> None:
    """Undo the draws since ``reset_rng_state``: the next reset starts the same episode again."""
    seeder = _seeding_wrapper(env)
    if seeder is not None:
        seeder._pending_seed = state.get("seed")
    if "rng" in state:
        env.unwrapped.np_random.bit_generator.state = state["rng"]


def space_rng_states(env: gym.Env) -> dict[str, Any]:
    """The action and observation spaces' sampling RNG states (agents may sample actions from them)."""
    return {name: getattr(env, name).np_random.bit_generator.state for name in ("action_space", "observation_space")}


def set_space_rng_states(env: gym.Env, states: dict[str, Any]) -> None:
    for name, state in states.items():
        getattr(env, name).np_random.bit_generator.state = state


def _import_object(spec: str, what: str) -> Any:
    module_name, _, attribute = spec.partition(":")
    if not attribute:
        module_name, _, attribute = spec.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError, ValueError):
        raise ConfigError(f"env_cfg.wrappers: cannot import {what} {spec!r}; write 'module:Class'") from None


def _apply_wrappers(env: gym.Env, wrappers: list[Any]) -> gym.Env:
    for entry in wrappers:
        if isinstance(entry, str):
            name, kwargs = entry, {}
        elif isinstance(entry, dict) and isinstance(entry.get("name"), str):
            name, kwargs = entry["name"], dict(entry.get("kwargs") or {})
        else:
            raise ConfigError(f"env_cfg.wrappers: {entry!r} is neither 'module:Class' nor {{name: ..., kwargs: ...}}")
        wrapper = _import_object(name, "wrapper")
        try:
            env = wrapper(env, **kwargs)
        except (TypeError, ValueError) as error:  # wrong kwargs, or a wrapper refusing this env (AtariPreprocessing)
            raise ConfigError(f"env_cfg.wrappers: {name}: {error}") from None
    return env


def _register_atari() -> None:
    """The ``ALE/...`` ids, from the optional Atari set, imported only when asked for (0.2 s)."""
    try:
        ale_py = importlib.import_module("ale_py")
    except ImportError:
        raise ConfigError("ALE ids need the optional Atari set: pip install -r requirements-atari.txt") from None
    gym.register_envs(ale_py)


def close_matches(name: str, valid: list[str], n: int = 3, cutoff: float = 0.6) -> list[str]:
    """Up to ``n`` of ``valid`` close to ``name``, ignoring case; a case-only difference comes first."""
    by_lower: dict[str, list[str]] = {}
    for candidate in valid:
        by_lower.setdefault(candidate.lower(), []).append(candidate)
    found = list(by_lower.get(name.lower(), []))
    for close in difflib.get_close_matches(name.lower(), list(by_lower), n=n, cutoff=cutoff):
        found.extend(candidate for candidate in by_lower[close] if candidate not in found)
    return found[:n]


def split_env_id(env_id: str) -> tuple[str | None, str]:
    """Gymnasium's ``module:EnvId`` form as (module, EnvId); (None, env_id) without a module."""
    module, colon, name = env_id.partition(":")
    return (module, name) if colon else (None, env_id)


def env_display_name(env_id: str) -> str:
    """The id without its ``module:`` prefix, with '/' as '-': for run folder names."""
    return split_env_id(env_id)[1].replace("/", "-")


def check_env_id(env_id: str) -> None:
    """Raise ConfigError for an id Gymnasium does not know, suggesting close ones.

    ``module:EnvId`` imports ``module`` first (its import registers ``EnvId``), as ``gymnasium.make`` does.
    """
    importlib.import_module("envs")  # registers the project's custom environments
    module, name = split_env_id(env_id)
    if module is not None:
        _import_env_module(module, env_id)
    if name.startswith("ALE/") and name not in gym.registry:
        _register_atari()
    if name in gym.registry:
        return
    prefix = "" if module is None else f"{module}:"
    close = [prefix + close_id for close_id in close_matches(name, list(gym.registry))]
    hint = f"did you mean {' or '.join(close)}?" if close else "see gymnasium.pprint_registry() for the ids"
    where = "" if module is None else f" (importing {module} did not register {name})"
    raise ConfigError(f"unknown env id {env_id!r}{where}; {hint}")


def _import_env_module(module: str, env_id: str) -> None:
    """Import the module of a ``module:EnvId`` id; one ConfigError line when it cannot be."""
    if ":" in env_id.partition(":")[2]:
        raise ConfigError(f"env id {env_id!r} has more than one ':'; write module:EnvId, e.g. mypackage.envs:MyEnv-v0")
    try:
        importlib.import_module(module)
    except (ImportError, ValueError, TypeError) as error:  # not found, a dependency missing, an empty or relative name
        raise ConfigError(
            f"env id {env_id!r}: cannot import the module {module!r} ({error}); "
            "check its name and that it can be imported from the project root"
        ) from None


def registered_spec(env_id: str) -> gym.envs.registration.EnvSpec | None:
    """The registry entry of ``env_id`` (``module:`` prefix ignored; call ``check_env_id`` first), or None."""
    return gym.registry.get(split_env_id(env_id)[1])


def default_cap(cfg: Any) -> int | None:
    """``DEFAULT_MAX_STEP`` when it caps ``cfg.id``'s episodes (no time limit of its own, max_step -1), else None."""
    if cfg.max_step > 0 or "max_episode_steps" in cfg.kwargs:
        return None
    spec = registered_spec(cfg.id)
    if spec is None or spec.max_episode_steps is not None:
        return None
    if spec.id.startswith("ALE/") or "max_num_frames_per_episode" in spec.kwargs:
        return None  # Atari games end on their own frame limit, counted in raw frames
    return DEFAULT_MAX_STEP


def make_env(cfg: Any, seed: int | None, render_mode: str | None = None) -> gym.Env:
    """Build ``cfg.id`` with ``cfg.kwargs``, the per-episode cap and the wrappers, seeded once.

    ``cfg.max_step > 0`` replaces the env's own time limit; an env registered without one
    gets ``DEFAULT_MAX_STEP`` (10,000; see ``default_cap``). Reaching the cap truncates the
    episode (``truncated=True``, never ``terminated``). ``cfg.id`` may be ``module:EnvId``.
    The env is wrapped in ``FaultTolerantEnv``; a rebuilt env gets a fresh seed derived from ``seed``.
    """
    check_env_id(cfg.id)

    def rebuild(count: int) -> gym.Env:
        fresh_seed = None if seed is None else int(np.random.SeedSequence([seed, count]).generate_state(1)[0])
        return _build_env(cfg, fresh_seed, render_mode)

    return FaultTolerantEnv(_build_env(cfg, seed, render_mode), rebuild)


def _build_env(cfg: Any, seed: int | None, render_mode: str | None) -> gym.Env:
    """``gymnasium.make`` with the user's kwargs, the cap, and ``render_mode`` only when a mode is wanted.

    Third-party envs come as they are: one whose constructor takes no ``render_mode`` is built
    without it; asked to render, it is refused in one line, as is an env whose metadata lists
    other render modes.
    """
    make_kwargs = dict(cfg.kwargs)
    cap = cfg.max_step if cfg.max_step > 0 else default_cap(cfg)
    if cap is not None:
        make_kwargs["max_episode_steps"] = cap
    mode = render_mode if render_mode is not None else cfg.render_mode
    if mode is not None:
        _check_render_mode(cfg.id, mode)
        make_kwargs["render_mode"] = mode
    try:
        env = gym.make(cfg.id, **make_kwargs)
    except (TypeError, ValueError) as error:  # an unknown keyword, or a value the env's constructor refuses
        if mode is not None and "unexpected keyword argument 'render_mode'" in str(error):
            raise ConfigError(f"{cfg.id} cannot render: its constructor takes no render_mode (asked for {mode!r})") from None
        what = f"env_cfg.kwargs ({', '.join(cfg.kwargs)}) do not fit {cfg.id}" if cfg.kwargs else f"cannot make {cfg.id}"
        raise ConfigError(f"{what}: {error}") from None
    except gym.error.Error as error:
        raise ConfigError(f"cannot make {cfg.id}: {error}") from None
    except ImportError as error:
        raise JoyRLError(f"{cfg.id} needs a package that is not installed: {error}") from None
    env = _apply_wrappers(env, cfg.wrappers)
    if getattr(cfg, "index_tuples", False) and is_discrete_tuple(env.observation_space):
        env = DiscreteTupleIndex(env)
    return SeedOnFirstReset(env, seed)


def is_discrete_tuple(space: spaces.Space) -> bool:
    """A Tuple whose parts are all Discrete (Blackjack-v1's)."""
    return isinstance(space, spaces.Tuple) and all(isinstance(part, spaces.Discrete) for part in space.spaces)


class DiscreteTupleIndex(gym.ObservationWrapper):
    """A Tuple of Discrete parts as one Discrete index, for tabular agents (those that list "Tuple" in their spaces).

    Mixed radix, the first part most significant: Blackjack-v1's (player sum, dealer card, usable ace),
    ``Tuple(Discrete(32), Discrete(11), Discrete(2))``, is ``(sum * 11 + card) * 2 + ace`` in ``Discrete(704)``.
    ``parts(index)`` gives the tuple back (figures, a table's rows by state).
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        parts = env.observation_space.spaces  # type: ignore[attr-defined]
        self.sizes = tuple(int(part.n) for part in parts)
        self.starts = tuple(int(part.start) for part in parts)
        self.observation_space = spaces.Discrete(math.prod(self.sizes))

    def observation(self, observation: tuple) -> int:
        index = 0
        for value, size, start in zip(observation, self.sizes, self.starts, strict=True):
            index = index * size + int(value) - start
        return index

    def parts(self, index: int) -> tuple[int, ...]:
        values = []
        for size, start in zip(reversed(self.sizes), reversed(self.starts), strict=True):
            index, value = divmod(index, size)
            values.append(value + start)
        return tuple(reversed(values))


def _check_render_mode(env_id: str, mode: str) -> None:
    """ConfigError when the env's registered class lists its render modes and ``mode`` is not among them.

    As ``gymnasium.make`` does, 'human' passes on an env with 'rgb_array' (HumanRendering shows its
    frames) and 'X_list' on one with 'X' (RenderCollection).
    """
    spec = registered_spec(env_id)
    if spec is None or spec.entry_point is None:
        return
    try:
        creator = spec.entry_point if callable(spec.entry_point) else gym.envs.registration.load_env_creator(spec.entry_point)
    except (ImportError, AttributeError):
        return  # gymnasium.make says what is missing
    metadata = getattr(creator, "metadata", None)
    modes = metadata.get("render_modes") if isinstance(metadata, dict) else None
    if mode == "human" and "rgb_array" in (modes or ()) or mode.endswith("_list") and mode[: -len("_list")] in (modes or ()):
        return
    if modes is not None and mode not in modes:
        listed = ", ".join(map(str, modes)) or "none"
        raise ConfigError(f"{env_id} cannot render {mode!r} frames (its render modes: {listed}); render mode needs rgb_array")


def project_env_ids() -> list[str]:
    """The ids the project's ``envs/`` package registers (their entry points start with ``envs.``)."""
    importlib.import_module("envs")
    return sorted(
        env_id
        for env_id, spec in gym.registry.items()
        if isinstance(spec.entry_point, str) and spec.entry_point.startswith("envs.")
    )


def space_kind(space: spaces.Space) -> str:
    """'Discrete', 'Box', ... : the names agents list in ``supported_*_spaces``."""
    return type(space).__name__


def env_info(env: gym.Env) -> dict[str, Any]:
    """What the env tells the agent: spaces, ``n_states``, ``n_actions`` and action bounds."""
    obs_space, action_space = env.observation_space, env.action_space
    info: dict[str, Any] = {"obs_space": obs_space, "action_space": action_space}
    if isinstance(obs_space, spaces.Discrete):
        info["n_states"] = int(obs_space.n)
        info["obs_shape"] = ()
    elif isinstance(obs_space, spaces.Box):
        info["n_states"] = int(np.prod(obs_space.shape))
        info["obs_shape"] = tuple(obs_space.shape)
    elif isinstance(obs_space, (spaces.MultiDiscrete, spaces.MultiBinary)):  # n_states: the one-hot / bits width
        sizes = obs_space.nvec if isinstance(obs_space, spaces.MultiDiscrete) else np.ones(obs_space.shape, dtype=np.int64)
        info["n_states"] = int(np.sum(sizes))
        info["obs_shape"] = tuple(obs_space.shape)
    elif isinstance(obs_space, spaces.Dict):  # the parts' shapes; agents pick their parts (joyrl.networks.dict_format)
        info["obs_shape"] = {name: tuple(part.shape or ()) for name, part in obs_space.spaces.items()}
    if isinstance(action_space, spaces.Discrete):
        info["n_actions"] = int(action_space.n)
    elif isinstance(action_space, spaces.Box):
        info["n_actions"] = int(np.prod(action_space.shape))
        info["action_low"] = action_space.low
        info["action_high"] = action_space.high
    return info


def either(kinds: list[str]) -> str:
    """'A', 'A or B', 'A, B or C'."""
    return kinds[0] if len(kinds) == 1 else f"{', '.join(kinds[:-1])} or {kinds[-1]}"


def check_spaces(agent_class: type[BaseAgent], env: gym.Env, algo_name: str, env_id: str) -> None:
    """Stop with one line when the algorithm cannot handle the env's spaces, or their pair.

    An agent listing "Tuple" takes a Tuple of Discrete parts as one index (``DiscreteTupleIndex``, applied
    by ``make_env``), so a Tuple still here has another kind of part, or meets an agent without "Tuple".
    """
    action_kind = space_kind(env.action_space)
    narrowed = action_kind in agent_class.observation_spaces_by_action
    for role, space, supported, condition in (
        ("action", env.action_space, agent_class.supported_action_spaces, ""),
        ("observation", env.observation_space, observation_spaces_for(agent_class, action_kind),
         f" with {action_kind} actions" if narrowed else ""),
    ):  # fmt: skip
        if space_kind(space) in supported and not isinstance(space, spaces.Tuple):
            continue
        if isinstance(space, spaces.Dict):
            shape = f"with parts {', '.join(space.spaces)}"
        elif isinstance(space, spaces.Tuple):
            shape = f"of parts {', '.join(space_kind(part) for part in space.spaces)}"
        else:
            shape = f"of shape {space.shape}"
        kinds = [f"{kind} (of Discrete parts)" if kind == "Tuple" else kind for kind in supported]
        raise ConfigError(
            f"{algo_name} handles {either(kinds)} {role} spaces{condition}, but {env_id} has a {space_kind(space)} "
            f"{shape}; pick an env with a {supported[0]} {role} space or another algorithm"
        )


class ActionMaskObservation(gym.Wrapper):
    """Puts the legal-action mask an env gives in ``info["action_mask"]`` into the observation, as its ``action_mask`` part.

    Agents read masks from the observation (joyrl/networks.py), so that a state and its legal
    actions travel together: into the replay memory, and into evaluation. A Box observation
    becomes ``Dict(observation=..., action_mask=MultiBinary(n))``; a Dict gains the part. For
    ``env_cfg.wrappers: [joyrl.envs:ActionMaskObservation]``; Discrete action spaces (n entries) and
    MultiDiscrete ones (sum(nvec) entries: each dimension's choices in turn).
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        actions = env.action_space
        if not isinstance(actions, spaces.Discrete | spaces.MultiDiscrete):
            raise ValueError(f"action masks need a Discrete or MultiDiscrete action space, not {actions}")
        size = int(actions.n) if isinstance(actions, spaces.Discrete) else int(np.sum(actions.nvec))
        space = env.observation_space
        parts = dict(space.spaces) if isinstance(space, spaces.Dict) else {"observation": space}
        self.observation_space = spaces.Dict({**parts, ACTION_MASK: spaces.MultiBinary(size)})

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        observation, info = self.env.reset(seed=seed, options=options)
        return self._with_mask(observation, info), info

    def step(self, action):
        observation, reward, terminated, truncated, info = self.env.step(action)
        return self._with_mask(observation, info), reward, terminated, truncated, info

    def _with_mask(self, observation: Any, info: dict) -> dict[str, Any]:
        if ACTION_MASK not in info:
            raise KeyError(f"ActionMaskObservation: the env's info has no {ACTION_MASK!r} (keys: {', '.join(info)})")
        parts = dict(observation) if isinstance(observation, dict) else {"observation": observation}
        return {**parts, ACTION_MASK: np.asarray(info[ACTION_MASK], dtype=np.int8)}
