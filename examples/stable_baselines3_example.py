"""Stable-Baselines3 + SeeTrain: PPO on CartPole for a few thousand steps; SB3's rollout/train
metrics and every episode's reward in one run.

    python examples/stable_baselines3_example.py [--logdir ./seetrain_logs] [--steps 2048]
"""

from __future__ import annotations

import argparse

from stable_baselines3 import PPO

from integrations.stable_baselines3 import SeeTrainCallback


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="./seetrain_logs")
    parser.add_argument("--steps", type=int, default=2048)
    args = parser.parse_args()

    model = PPO("MlpPolicy", "CartPole-v1", n_steps=256, batch_size=64, n_epochs=4, seed=0, device="cpu")
    model.learn(total_timesteps=args.steps,
                callback=SeeTrainCallback(project="sb3-example", experiment_name="ppo-cartpole",
                                          logdir=args.logdir))


if __name__ == "__main__":
    main()
