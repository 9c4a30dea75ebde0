"""CartPole with the velocities hidden: a partially observable task for recurrent agents."""

import numpy as np
from gymnasium import spaces
from gymnasium.envs.classic_control.cartpole import CartPoleEnv


class CartPoleNoVelocity(CartPoleEnv):
    """CartPole-v1 that observes only the cart position and the pole angle.

    Observation: ``Box(2,)`` = (cart position, pole angle); the cart velocity and the
    pole's angular velocity are hidden, so one observation is not Markov and a
    memoryless policy cannot balance the pole for long. Actions, rewards and episode
    end are CartPole-v1's (terminated when the pole falls or the cart leaves the
    track, truncated at 500 steps by the registered time limit).
    """

    def __init__(self, render_mode: str | None = None) -> None:
        super().__init__(render_mode=render_mode)
        full = self.observation_space
        self.observation_space = spaces.Box(full.low[[0, 2]], full.high[[0, 2]], dtype=np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        observation, info = super().reset(seed=seed, options=options)
        return observation[[0, 2]], info

    def step(self, action):
        observation, reward, terminated, truncated, info = super().step(action)
        return observation[[0, 2]], reward, terminated, truncated, info
