"""Hydra / OmegaConf + SeeTrain: a config composed from groups with command-line-style overrides
becomes the run config (overrides and group choices included).

    python examples/hydra_example.py [--logdir ./seetrain_logs] [--override model=large lr=0.1]
"""

from __future__ import annotations

import argparse
import os

from hydra import compose, initialize_config_dir

import seetrain
from integrations.hydra import log_config

CONF = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hydra_conf")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="./seetrain_logs")
    parser.add_argument("--override", nargs="*", default=["model=large", "lr=0.1"])
    args = parser.parse_args()

    with initialize_config_dir(config_dir=CONF, version_base=None):
        cfg = compose(config_name="config", overrides=args.override)
    with seetrain.init(project="hydra-example", experiment_name="composed", logdir=args.logdir) as run:
        log_config(cfg, run=run)
        run.update_config({"overrides": list(args.override)})
        for epoch in range(cfg.epochs):
            run.log({"loss": cfg.lr * cfg.model.width / (epoch + 1)})


if __name__ == "__main__":
    main()
