"""Stable-Baselines3 callback on a real PPO / DQN on gymnasium's CartPole (a few hundred steps)."""

from __future__ import annotations

import pytest

sb3 = pytest.importorskip("stable_baselines3")
pytest.importorskip("gymnasium")

import seetrain  # noqa: E402
from integrations import main  # noqa: E402
from integrations.stable_baselines3 import SeeTrainCallback  # noqa: E402

pytestmark = pytest.mark.integration
QUIET = {"system_monitor": False, "capture_console": False}


class Counter(sb3.common.callbacks.BaseCallback):
    def __init__(self):
        super().__init__()
        self.steps = 0

    def _on_step(self) -> bool:
        self.steps += 1
        return True


def test_ppo_cartpole(tmp_path):
    model = sb3.PPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=32, n_epochs=2, seed=0, device="cpu")
    mine = Counter()
    model.learn(total_timesteps=256, callback=[mine, SeeTrainCallback(project="rl", experiment_name="ppo",
                                                                      logdir=str(tmp_path), **QUIET)])
    assert mine.steps == 256  # the user's callback still ran every step
    (view,) = seetrain.Api(tmp_path).runs("rl")
    assert view.status == "finished" and view.name == "ppo"
    keys = set(view.keys())
    assert {"episode/reward", "episode/length", "rollout/ep_rew_mean", "train/loss", "train/entropy_loss",
            "time/fps"} <= keys
    # SB3 dumps once per rollout (log_interval=1): at 64, 128, 192, 256 timesteps.
    assert [s for s, _, _ in view.scalars("time/fps")] == [64, 128, 192, 256]
    rewards = view.scalars("episode/reward")
    lengths = view.scalars("episode/length")
    assert rewards and [v for _, _, v in rewards] == [v for _, _, v in lengths]  # CartPole: reward == length
    cfg = view.config["sb3"]
    assert cfg["algorithm"] == "PPO" and cfg["env_id"] == "CartPole-v1" and cfg["n_steps"] == 64
    assert cfg["num_timesteps"] == 256 and cfg["episodes"] == len(rewards)
    assert not any(type(f).__name__ == "_Writer" for f in model.logger.output_formats)  # removed again


def test_dqn_through_the_hub(tmp_path):
    integration = main.init_stable_baselines3(project="rl-dqn", logdir=str(tmp_path), **QUIET)
    model = sb3.DQN("MlpPolicy", "CartPole-v1", learning_starts=32, buffer_size=500, seed=0, device="cpu")
    model.learn(total_timesteps=200, callback=integration.get_callback(), log_interval=1)
    integration.finish()
    (view,) = seetrain.Api(tmp_path).runs("rl-dqn")
    assert view.config["sb3"]["algorithm"] == "DQN" and "episode/reward" in view.keys()
    assert "rollout/exploration_rate" in view.keys()
