"""Hyperparameters for benchmarks/side_by_side.py: named sets as JoyRL overrides, and JoyRL configs mapped to SB3.

``hyper_overrides(algo, env, hyper, steps)`` gives the JoyRL ``algo_cfg`` overrides of a named set
(``rlzoo``: RL Zoo's tuned settings for that algorithm and env; ``joyrl``: JoyRL's defaults);
``MAPPERS[algo](algo_cfg, steps, hyper)`` maps a resolved JoyRL ``algo_cfg`` to the SB3 class,
its keyword arguments (JSON: schedules as dicts, the activation by name) and the rows of the
mapping table the report prints.
"""

from __future__ import annotations

from typing import Any

ACTIVATIONS = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid", "elu": "ELU", "leaky_relu": "LeakyReLU", "gelu": "GELU"}
ACTIVATIONS |= {"silu": "SiLU"}
Row = tuple[str, str, str, str]  # hyperparameter, JoyRL, SB3, note


LINEAR_256 = "{layer_type: linear, layer_size: [256], activation: relu}"
TANH_64 = "{layer_type: linear, layer_size: [64], activation: tanh}"
PPO_SB3_DEFAULTS = [
    *("algo_cfg.max_grad_norm=0.5", "algo_cfg.normalize_advantage=true", "algo_cfg.clip_range_vf=null"),
    *("algo_cfg.target_kl=null", "algo_cfg.ppo_type=clip", "algo_cfg.ortho_init=true", "algo_cfg.log_std_init=0.0"),
    *("algo_cfg.squash=false", "algo_cfg.normalize_obs=false", "algo_cfg.normalize_reward=false"),
]
TD3_PENDULUM = [  # RL Zoo's td3.yml / ddpg.yml, Pendulum-v1
    "algo_cfg.actor_layers=[{layer_type: linear, layer_size: [400]}, {layer_type: linear, layer_size: [300]}]",
    "algo_cfg.critic_layers=[{layer_type: linear, layer_size: [400]}, {layer_type: linear, layer_size: [300]}]",
    *("algo_cfg.gamma=0.98", "algo_cfg.buffer_size=200000", "algo_cfg.learning_starts=10000", "algo_cfg.noise_type=normal"),
    *("algo_cfg.noise_std=0.1", "algo_cfg.gradient_steps=1", "algo_cfg.train_freq=1", "algo_cfg.lr=1e-3"),
    *("algo_cfg.lr_end=null", "algo_cfg.batch_size=256", "algo_cfg.tau=0.005"),
]

# RL Zoo's tuned settings (rl-baselines3-zoo hyperparams/<algo>.yml) as JoyRL overrides, by (algo, env);
# a callable takes the budget in env steps, for settings given as fractions of it.
RLZOO: dict[tuple[str, str], Any] = {
    ("DQN", "CartPole-v1"): lambda steps: [
        f"algo_cfg.value_layers=[{LINEAR_256}, {LINEAR_256}]",
        "algo_cfg.lr=2.3e-3",
        "algo_cfg.lr_end=null",  # constant learning rate
        "algo_cfg.gamma=0.99",
        "algo_cfg.batch_size=64",
        "algo_cfg.buffer_size=100000",
        "algo_cfg.learning_starts=1000",
        "algo_cfg.train_freq=256",
        "algo_cfg.gradient_steps=128",
        "algo_cfg.target_update=128",  # one hard copy per learning burst == SB3 target_update_interval=10 env steps
        "algo_cfg.tau=1.0",
        "algo_cfg.epsilon_start=1.0",
        "algo_cfg.epsilon_end=0.04",
        f"algo_cfg.epsilon_decay={0.16 * steps:g}",  # exploration_fraction 0.16
        "algo_cfg.epsilon_schedule=linear",
        "algo_cfg.max_grad_norm=10",
    ],
    ("PPO", "CartPole-v1"): [  # lin_0.001, lin_0.2: annealed to 0 over the budget
        f"algo_cfg.actor_layers=[{TANH_64}, {TANH_64}]",
        f"algo_cfg.critic_layers=[{TANH_64}, {TANH_64}]",
        *("algo_cfg.n_envs=8", "algo_cfg.n_steps=32", "algo_cfg.batch_size=256", "algo_cfg.n_epochs=20"),
        *("algo_cfg.gamma=0.98", "algo_cfg.gae_lambda=0.8", "algo_cfg.ent_coef=0.0", "algo_cfg.vf_coef=0.5"),
        *("algo_cfg.lr=1e-3", "algo_cfg.lr_end=0.0", "algo_cfg.clip_range=0.2", "algo_cfg.clip_range_end=0.0"),
        *PPO_SB3_DEFAULTS,
    ],
    ("PPO", "LunarLander-v3"): [
        f"algo_cfg.actor_layers=[{TANH_64}, {TANH_64}]",
        f"algo_cfg.critic_layers=[{TANH_64}, {TANH_64}]",
        *("algo_cfg.n_envs=16", "algo_cfg.n_steps=1024", "algo_cfg.batch_size=64", "algo_cfg.n_epochs=4"),
        *("algo_cfg.gamma=0.999", "algo_cfg.gae_lambda=0.98", "algo_cfg.ent_coef=0.01", "algo_cfg.vf_coef=0.5"),
        *("algo_cfg.lr=3e-4", "algo_cfg.lr_end=null", "algo_cfg.clip_range=0.2", "algo_cfg.clip_range_end=null"),
        *PPO_SB3_DEFAULTS,
    ],
    ("A2C", "CartPole-v1"): [  # n_envs 8, ent_coef 0; SB3's A2C defaults otherwise
        f"algo_cfg.actor_layers=[{TANH_64}, {TANH_64}]",
        f"algo_cfg.critic_layers=[{TANH_64}, {TANH_64}]",
        *("algo_cfg.n_envs=8", "algo_cfg.n_steps=5", "algo_cfg.gamma=0.99", "algo_cfg.gae_lambda=1.0"),
        *("algo_cfg.ent_coef=0.0", "algo_cfg.vf_coef=0.5", "algo_cfg.max_grad_norm=0.5", "algo_cfg.lr=7e-4"),
        *("algo_cfg.lr_end=null", "algo_cfg.normalize_advantage=false", "algo_cfg.normalize_obs=false"),
        "algo_cfg.normalize_reward=false",
    ],
    ("SAC", "Pendulum-v1"): [  # learning_rate 1e-3; SB3's SAC defaults otherwise
        f"algo_cfg.actor_layers=[{LINEAR_256}, {LINEAR_256}]",
        f"algo_cfg.critic_layers=[{LINEAR_256}, {LINEAR_256}]",
        *("algo_cfg.lr=1e-3", "algo_cfg.lr_end=null", "algo_cfg.gamma=0.99", "algo_cfg.tau=0.005"),
        *("algo_cfg.batch_size=256", "algo_cfg.buffer_size=1000000", "algo_cfg.learning_starts=100"),
        *("algo_cfg.train_freq=1", "algo_cfg.gradient_steps=1", "algo_cfg.ent_coef=auto", "algo_cfg.target_entropy=auto"),
    ],
    ("TD3", "Pendulum-v1"): [*TD3_PENDULUM, "algo_cfg.policy_delay=2"],
    ("DDPG", "Pendulum-v1"): TD3_PENDULUM,
}


def hyper_overrides(algo: str, env: str, hyper: str, steps: int) -> list[str]:
    """JoyRL ``algo_cfg`` overrides for a named hyperparameter set; ValueError when RL Zoo's is not written down here."""
    if hyper == "joyrl":
        return []  # JoyRL's defaults (algos/<algo>/config.py)
    if (algo, env) not in RLZOO:
        known = ", ".join(f"{name} on {env_id}" for name, env_id in RLZOO)
        raise ValueError(f"no RL Zoo settings for {algo} on {env} here (known: {known}); use --hyper joyrl")
    overrides = RLZOO[(algo, env)]
    return overrides(steps) if callable(overrides) else list(overrides)


def network(algo: dict[str, Any], key: str) -> tuple[list[int], str]:
    """The hidden sizes of a linear layer spec and its one activation, as SB3's ``net_arch`` / ``activation_fn`` name."""
    layers = algo[key]
    if not isinstance(layers, list) or any(layer["layer_type"] != "linear" for layer in layers):
        raise ValueError(f"{key}: only a list of linear layers maps to SB3's MlpPolicy")
    activations = {layer.get("activation", "relu") for layer in layers}
    if len(activations) != 1 or next(iter(activations)) not in ACTIVATIONS:
        raise ValueError(f"{key}: SB3 takes one activation for all hidden layers, among {', '.join(ACTIVATIONS)}")
    return [layer["layer_size"][0] for layer in layers], ACTIVATIONS[activations.pop()]


def linear_schedule(algo: dict[str, Any], key: str, steps: int, sb3_name: str, end_key: str | None = None) -> tuple[dict, Row]:
    """A JoyRL value annealed linearly by env step (``key`` to ``<key>_end``, or constant when that is None) as a
    schedule dict for SB3's callable of progress_remaining (see side_by_side.sb3_schedule), and its table row."""
    end_key = end_key or f"{key}_end"
    start, end = algo[key], algo.get(end_key)
    if end is None:
        return {"start": start, "end": start, "decay_steps": 1, "total_steps": steps}, (
            sb3_name,
            f"{key}={start:g}, {end_key}=null (constant)",
            f"{sb3_name}={start:g}",
            "",
        )
    decay = algo.get(f"{key}_decay") or steps
    return {"start": start, "end": end, "decay_steps": decay, "total_steps": steps}, (
        sb3_name,
        f"{key}={start:g} → {end_key}={end:g} over {decay:,} env steps",
        f"{sb3_name}=callable(progress_remaining): {start:g} → {end:g} over {decay / steps:.3g} of {steps:,} steps",
        "SB3 sets it at each train() call, JoyRL at each update that learns: the same env step",
    )


def same_keys(algo: dict[str, Any], keys: list[str], notes: dict[str, str] | None = None) -> tuple[dict[str, Any], list[Row]]:
    """Hyperparameters with the same name and meaning on both sides."""
    notes = notes or {}
    return {key: algo[key] for key in keys}, [
        (key, f"{key}={algo[key]:g}", f"{key}={algo[key]:g}", notes.get(key, "")) for key in keys
    ]


# SB3 arguments a hyperparameter set fixes on its own, where they are equivalent to the mapped ones.
SB3_LITERAL = {"rlzoo": {"target_update_interval": 10}}


def map_dqn(algo: dict[str, Any], steps: int, hyper: str) -> tuple[dict[str, Any], list[Row]]:
    """SB3 DQN arguments equivalent to a resolved JoyRL DQN ``algo_cfg``, and the rows of the mapping table."""
    net_arch, activation = network(algo, "value_layers")
    rows: list[Row] = [
        ("network", f"value_layers {net_arch}, {activation}", f"net_arch={net_arch}, activation_fn=nn.{activation}", "")
    ]
    learning_rate, row = linear_schedule(algo, "lr", steps, "learning_rate")
    rows.append(row)

    same = ["gamma", "batch_size", "buffer_size", "learning_starts", "train_freq", "gradient_steps", "tau", "max_grad_norm"]
    kwargs, same_rows = same_keys(
        algo,
        same,
        {
            "learning_starts": "SB3 acts uniformly at random for these steps; JoyRL follows its epsilon from step 0",
            "train_freq": "both learn at env steps that are multiples of train_freq, from learning_starts on",
        },
    )
    rows += same_rows

    target_update, gradient_steps = algo["target_update"], algo["gradient_steps"]
    if target_update % gradient_steps == 0:
        bursts = target_update // gradient_steps
        interval = bursts * algo["train_freq"]
        note = f"one target update every {bursts} learning burst(s): SB3 updates between bursts, at env-step multiples"
        literal = SB3_LITERAL.get(hyper, {}).get("target_update_interval")
        if bursts == 1 and literal is not None and literal <= algo["train_freq"]:
            interval = literal
            note = (
                f"RL Zoo's value; any interval ≤ train_freq ({algo['train_freq']}) gives one effective copy per burst, as JoyRL's"
            )
    else:
        interval = max(1, round(target_update * algo["train_freq"] / gradient_steps))
        note = "APPROXIMATE: same rate, but SB3 updates the target only between bursts, JoyRL also within them"
    kwargs["target_update_interval"] = interval
    rows.append(
        (
            "target network",
            f"target_update={target_update} gradient steps, tau={algo['tau']:g}",
            f"target_update_interval={interval} env steps",
            note,
        )
    )

    if algo["epsilon_schedule"] != "linear":
        raise ValueError("epsilon_schedule: SB3's DQN anneals epsilon linearly only; add --set algo_cfg.epsilon_schedule=linear")
    fraction = min(algo["epsilon_decay"] / steps, 1.0)
    kwargs |= {
        "exploration_initial_eps": algo["epsilon_start"],
        "exploration_final_eps": algo["epsilon_end"],
        "exploration_fraction": fraction,
    }
    rows.append(
        (
            "exploration",
            f"epsilon {algo['epsilon_start']:g} → {algo['epsilon_end']:g}, linear over epsilon_decay={algo['epsilon_decay']:,g} env steps",
            f"exploration_initial_eps={algo['epsilon_start']:g}, exploration_final_eps={algo['epsilon_end']:g}, exploration_fraction={fraction:.4g}",
            "",
        )
    )
    rows.append(("loss, optimiser", "Huber (smooth_l1), Adam (eps 1e-8)", "Huber (smooth_l1), Adam (eps 1e-8)", "fixed in both"))
    rows.append(
        (
            "budget",
            f"{steps:,} env steps, checked at episode ends",
            f"learn(total_timesteps={steps:,})",
            "SB3 rounds up to a multiple of train_freq",
        )
    )
    kwargs["policy_kwargs"] = {"net_arch": net_arch, "activation": activation}
    kwargs["learning_rate"] = learning_rate
    return kwargs, rows


def refuse(algo: dict[str, Any], key: str, allowed: Any, why: str) -> None:
    """ValueError when a JoyRL setting has no SB3 counterpart."""
    if algo[key] != allowed:
        raise ValueError(f"{key}={algo[key]!r}: {why}; add --set algo_cfg.{key}={allowed}")


def actor_critic_network(algo: dict[str, Any], pi: str, vf: str) -> tuple[dict[str, Any], Row]:
    """``policy_kwargs`` for separate actor and critic MLPs of one activation, and its row."""
    (actor, act_fn), (critic, critic_fn) = network(algo, "actor_layers"), network(algo, "critic_layers")
    if act_fn != critic_fn:
        raise ValueError("actor_layers and critic_layers: SB3 takes one activation for both networks")
    kwargs = {"net_arch": {pi: actor, vf: critic}, "activation": act_fn}
    return kwargs, (
        "network",
        f"actor_layers {actor}, critic_layers {critic}, {act_fn}",
        f"net_arch=dict({pi}={actor}, {vf}={critic}), activation_fn=nn.{act_fn}",
        "",
    )


def map_on_policy(algo: dict[str, Any], steps: int, same: list[str]) -> tuple[dict[str, Any], list[Row]]:
    """What PPO and A2C share: the networks, the learning rate, the rollout and loss weights."""
    for key, why in (
        ("normalize_obs", "SB3 normalises with a VecNormalize wrapper, not mapped here"),
        ("normalize_reward", "the same"),
    ):
        refuse(algo, key, False, why)
    policy_kwargs, net_row = actor_critic_network(algo, "pi", "vf")
    policy_kwargs["log_std_init"] = algo["log_std_init"]
    rows = [net_row]
    learning_rate, row = linear_schedule(algo, "lr", steps, "learning_rate")
    rows.append(row)
    kwargs, same_rows = same_keys(
        algo, same, {"n_envs": "JoyRL: gymnasium SyncVectorEnv; SB3: make_vec_env (DummyVecEnv), env i seeded seed + i on both"}
    )
    kwargs |= {"learning_rate": learning_rate, "policy_kwargs": policy_kwargs}
    return kwargs, rows + same_rows


def map_ppo(algo: dict[str, Any], steps: int, hyper: str) -> tuple[dict[str, Any], list[Row]]:
    """SB3 PPO arguments equivalent to a resolved JoyRL PPO ``algo_cfg``."""
    refuse(algo, "ppo_type", "clip", "SB3's PPO has the clipped objective only")
    refuse(algo, "squash", False, "SB3's PPO clips Gaussian actions (it squashes only with gSDE)")
    same = ["n_envs", "n_steps", "batch_size", "n_epochs", "gamma", "gae_lambda", "ent_coef", "vf_coef", "max_grad_norm"]
    kwargs, rows = map_on_policy(algo, steps, same)
    kwargs["clip_range"], row = linear_schedule(algo, "clip_range", steps, "clip_range")
    rows.append(row)
    kwargs["policy_kwargs"]["ortho_init"] = algo["ortho_init"]
    kwargs |= {key: algo[key] for key in ("clip_range_vf", "target_kl", "normalize_advantage")}
    for key in ("clip_range_vf", "target_kl", "normalize_advantage", "ortho_init"):
        rows.append((key, f"{key}={algo[key]}", f"{key}={algo[key]}", ""))
    rows.append(("optimiser", "Adam (eps 1e-5), actor and critic together", "Adam (eps 1e-5), one policy", "fixed in both"))
    return kwargs, rows


def map_a2c(algo: dict[str, Any], steps: int, hyper: str) -> tuple[dict[str, Any], list[Row]]:
    """SB3 A2C arguments equivalent to a resolved JoyRL A2C ``algo_cfg``."""
    same = ["n_envs", "n_steps", "gamma", "gae_lambda", "ent_coef", "vf_coef", "max_grad_norm"]
    kwargs, rows = map_on_policy(algo, steps, same)
    kwargs["normalize_advantage"] = algo["normalize_advantage"]
    rows.append(("normalize_advantage", f"{algo['normalize_advantage']}", f"{algo['normalize_advantage']}", ""))
    kwargs |= {"use_rms_prop": algo["use_rms_prop"], "rms_prop_eps": algo["rms_prop_eps"]}
    for key in ("use_rms_prop", "rms_prop_eps"):
        rows.append((key, f"{key}={algo[key]}", f"{key}={algo[key]}", "RMSprop alpha 0.99 on both sides"))
    return kwargs, rows


def map_off_policy(algo: dict[str, Any], steps: int) -> tuple[dict[str, Any], list[Row]]:
    """What SAC, TD3 and DDPG share: the networks, the learning rate and the replay settings."""
    policy_kwargs, net_row = actor_critic_network(algo, "pi", "qf")
    learning_rate, lr_row = linear_schedule(algo, "lr", steps, "learning_rate")
    same = ["gamma", "tau", "batch_size", "buffer_size", "learning_starts", "train_freq", "gradient_steps"]
    kwargs, same_rows = same_keys(algo, same, {"learning_starts": "uniformly random actions before it, on both sides"})
    kwargs |= {"learning_rate": learning_rate, "policy_kwargs": policy_kwargs}
    return kwargs, [net_row, lr_row, *same_rows]


def map_sac(algo: dict[str, Any], steps: int, hyper: str) -> tuple[dict[str, Any], list[Row]]:
    """SB3 SAC arguments equivalent to a resolved JoyRL SAC ``algo_cfg``."""
    kwargs, rows = map_off_policy(algo, steps)
    kwargs |= {"ent_coef": algo["ent_coef"], "target_entropy": algo["target_entropy"]}
    for key in ("ent_coef", "target_entropy"):
        rows.append(
            (
                key,
                f"{key}={algo[key]}",
                f"{key}={algo[key]}",
                "auto: log alpha learned from alpha = 1" if algo[key] == "auto" else "",
            )
        )
    return kwargs, rows


def map_td3(algo: dict[str, Any], steps: int, hyper: str) -> tuple[dict[str, Any], list[Row]]:
    """SB3 TD3 (or DDPG: no TD3 keys) arguments equivalent to a resolved JoyRL TD3 or DDPG ``algo_cfg``."""
    kwargs, rows = map_off_policy(algo, steps)
    if "policy_delay" in algo:
        kwargs |= {key: algo[key] for key in ("policy_delay", "target_policy_noise", "target_noise_clip")}
        rows += [
            (key, f"{key}={algo[key]:g}", f"{key}={algo[key]:g}", "")
            for key in ("policy_delay", "target_policy_noise", "target_noise_clip")
        ]
    noise = {"type": algo["noise_type"], "std": algo["noise_std"], "theta": algo["ou_theta"], "dt": algo["ou_dt"]}
    kwargs["action_noise"] = noise
    rows.append(
        (
            "exploration noise",
            f"noise_type={algo['noise_type']}, noise_std={algo['noise_std']:g} (actions in [-1, 1])",
            f"action_noise={'Normal' if algo['noise_type'] == 'normal' else 'OrnsteinUhlenbeck'}ActionNoise(sigma={algo['noise_std']:g}) (scaled actions)",
            "",
        )
    )
    return kwargs, rows


# algo -> (SB3 class name, mapper); the worker builds ``getattr(stable_baselines3, name)(..., **kwargs)``,
# taking ``n_envs`` (vector env size) and ``action_noise`` out of the kwargs first.
MAPPERS = {
    "DQN": ("DQN", map_dqn),
    "PPO": ("PPO", map_ppo),
    "A2C": ("A2C", map_a2c),
    "SAC": ("SAC", map_sac),
    "TD3": ("TD3", map_td3),
    "DDPG": ("DDPG", map_td3),
}
