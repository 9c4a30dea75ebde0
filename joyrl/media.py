"""Rendered frames: recorded by an env wrapper, written as an animated GIF."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np


class FrameRecorder(gym.Wrapper):
    """Keeps ``env.render()`` frames of the first ``n_episodes`` episodes (env in rgb_array mode)."""

    def __init__(self, env: gym.Env, n_episodes: int) -> None:
        super().__init__(env)
        self.n_episodes = n_episodes
        self.frames: list[np.ndarray] = []
        self._episodes_started = 0

    def _recording(self) -> bool:
        return self._episodes_started <= self.n_episodes

    def reset(self, **kwargs):
        result = self.env.reset(**kwargs)
        self._episodes_started += 1
        self._grab()
        return result

    def step(self, action):
        result = self.env.step(action)
        self._grab()
        return result

    def _grab(self) -> None:
        if self._recording():
            frame = self.env.render()
            if isinstance(frame, np.ndarray):
                self.frames.append(frame)


def save_gif(frames: list[np.ndarray], path: Path, fps: int) -> Path | None:
    """Write ``frames`` (H, W, 3) uint8 as a looping GIF; nothing when there are none."""
    if not frames:
        return None
    import imageio.v2 as imageio  # here: only runs that render need it

    path.parent.mkdir(parents=True, exist_ok=True)
    # imageio's stub takes List[ArrayLike], invariant, so a list of arrays does not match it
    imageio.mimsave(path, frames, duration=1000 / fps, loop=0)  # type: ignore[arg-type]
    return path
