"""Stable-Baselines3: a ``BaseCallback`` for ``model.learn(...)``.

    from stable_baselines3 import PPO
    from integrations.stable_baselines3 import SeeTrainCallback

    model = PPO("MlpPolicy", "CartPole-v1", n_steps=128)
    model.learn(total_timesteps=10_000, callback=SeeTrainCallback(project="rl"))

Recorded, at step = ``model.num_timesteps``:

- everything SB3's own logger records (``rollout/ep_rew_mean``, ``rollout/ep_len_mean``,
  ``train/loss``, ``train/entropy_loss``, ``train/value_loss``, ``time/fps`` ...), under the same
  keys, each time SB3 dumps them (the callback adds a writer to ``model.logger``);
- every finished episode (from the ``Monitor`` wrapper's ``info["episode"]``):
  ``episode/reward``, ``episode/length``;
- the algorithm, policy, environment id and the algorithm's hyperparameters in the config
  under ``sb3``.

See docs/integrations/stable_baselines3.md.
"""

from __future__ import annotations

from typing import Any

from stable_baselines3.common.callbacks import BaseCallback, ConvertCallback
from stable_baselines3.common.logger import KVWriter

from integrations._base import Integration
from integrations._binding import LazyIntegration, current_run_integration
from integrations._patching import Target

__all__ = ["SeeTrainCallback", "StableBaselines3Integration", "autolog_targets"]

_HYPERPARAMETERS = ("learning_rate", "n_steps", "batch_size", "n_epochs", "gamma", "gae_lambda", "clip_range",
                    "ent_coef", "vf_coef", "max_grad_norm", "buffer_size", "learning_starts", "tau",
                    "train_freq", "gradient_steps", "target_update_interval", "exploration_fraction",
                    "exploration_final_eps", "seed", "n_envs")
_SIMPLE = (int, float, str, bool, type(None))


class StableBaselines3Integration(Integration):
    """Hub entry: ``init_stable_baselines3(project=...).get_callback()`` is a ``SeeTrainCallback``."""

    name = "stable_baselines3"
    mode = "callback"

    def get_callback(self, **kwargs: Any) -> SeeTrainCallback:
        return SeeTrainCallback(integration=self, **kwargs)


class _Writer(KVWriter):
    """SB3 logger output that sends each dump to SeeTrain (numbers only; SB3's own strings and
    videos stay with SB3's other outputs)."""

    def __init__(self, callback: SeeTrainCallback) -> None:
        self.callback = callback

    def write(self, key_values: dict[str, Any], key_excluded: dict[str, tuple[str, ...]], step: int = 0) -> None:
        values = {key: value for key, value in key_values.items()
                  if isinstance(value, (int, float)) and not isinstance(value, bool)}
        if values:
            self.callback._integration().log(values, step=int(step))

    def close(self) -> None:
        pass


class SeeTrainCallback(BaseCallback):
    """Records a Stable-Baselines3 training into a SeeTrain run.

    ``project``, ``experiment_name``, ``description``, ``config``, ``tags``, ``logdir``, ``mode``
    ... go to ``seetrain.init``; ``integration=`` binds to a hub integration. The run is
    created when ``learn`` starts and finished when it ends (if this callback created it).
    """

    def __init__(self, project: str | None = None, experiment_name: str | None = None,
                 description: str | None = None, config: Any = None, tags: list[str] | None = None,
                 integration: Integration | None = None, verbose: int = 0, **init_kwargs: Any) -> None:
        super().__init__(verbose)
        kwargs = {"project": project, "experiment_name": experiment_name, "description": description,
                  "config": config, "tags": tags, **init_kwargs}
        self._lazy = LazyIntegration(StableBaselines3Integration, kwargs, integration)
        self._writer: _Writer | None = None
        self.episodes = 0

    def _integration(self) -> Integration:
        return self._lazy.get()

    @property
    def integration(self) -> Integration:
        return self._lazy.get()

    def _on_training_start(self) -> None:
        integration = self._lazy.get()
        integration.guard(self._configure, integration)
        self._writer = _Writer(self)
        # Inside the guard: a model whose logger is not set up yet must not break learn().
        integration.guard(lambda: self.model.logger.output_formats.append(self._writer))

    def _configure(self, integration: Integration) -> None:
        model = self.model
        env = model.get_env()
        spec = getattr(getattr(env, "envs", [None])[0], "spec", None) if env is not None else None
        hyper = {}
        for name in _HYPERPARAMETERS:
            value = getattr(model, name, None)
            if callable(value):
                continue  # schedules
            if isinstance(value, _SIMPLE) and value is not None:
                hyper[name] = value
            elif value is not None:
                hyper[name] = str(value)
        integration.update_config({"sb3": {"algorithm": type(model).__name__,
                                           "policy": type(model.policy).__name__,
                                           "env_id": getattr(spec, "id", None),
                                           "device": str(model.device), **hyper}})

    def _on_step(self) -> bool:
        infos = self.locals.get("infos") or ()
        for info in infos:
            episode = info.get("episode") if isinstance(info, dict) else None
            if episode:
                self.episodes += 1
                self._lazy.get().log({"episode/reward": float(episode["r"]), "episode/length": int(episode["l"])},
                                     step=int(self.num_timesteps))
        return True

    def _on_training_end(self) -> None:
        writer = self._writer
        if writer is not None:
            formats = getattr(getattr(self.model, "_logger", None), "output_formats", [])
            if writer in formats:
                formats.remove(writer)
            self._writer = None
        current = self._lazy.created
        if current is not None:
            current.update_config({"sb3": {**current.get_config().get("sb3", {}),
                                           "num_timesteps": int(self.num_timesteps), "episodes": self.episodes}})
        self._lazy.finish("finished")


# ---- seetrain.autolog() -------------------------------------------------------------------------
def _already(callback: Any) -> bool:
    if isinstance(callback, SeeTrainCallback):
        return True
    if isinstance(callback, (list, tuple)):
        return any(_already(c) for c in callback)
    return any(_already(c) for c in getattr(callback, "callbacks", ()))


def _with_callback(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
    positional = len(args) > 1      # learn(total_timesteps, callback, ...)
    given = args[1] if positional else kwargs.get("callback")
    if not _already(given):
        ours = SeeTrainCallback(integration=current_run_integration(StableBaselines3Integration))
        if given is None:
            combined: Any = ours
        elif isinstance(given, (list, tuple)):
            combined = [*given, ours]
        elif isinstance(given, BaseCallback):
            combined = [given, ours]
        else:  # a plain function, as SB3 allows
            combined = [ConvertCallback(given), ours]
        if positional:
            args = (args[0], combined, *args[2:])
        else:
            kwargs["callback"] = combined
    return wrapped(*args, **kwargs)


def autolog_targets() -> list[Target]:
    """``learn`` of the on- and off-policy base classes (PPO, A2C, DQN, SAC, TD3 ... call them)."""
    from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
    from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm

    why = "add a SeeTrainCallback to every learn()"
    return [Target(OnPolicyAlgorithm, "learn", _with_callback, why),
            Target(OffPolicyAlgorithm, "learn", _with_callback, why)]
