"""Keras 3 (torch backend) + SeeTrain: a tiny classifier trained for 2 epochs on the CPU.

    python examples/keras_example.py [--logdir ./seetrain_logs]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("KERAS_BACKEND", "torch")  # before the first `import keras`

import keras  # noqa: E402
import numpy as np  # noqa: E402

from integrations.keras import SeeTrainCallback  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="./seetrain_logs")
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 8)).astype("float32")
    y = (x[:, :4].sum(axis=1) > 0).astype("int32")

    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu", name="hidden"),
                              keras.layers.Dense(2, activation="softmax", name="head")], name="classifier")
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    callback = SeeTrainCallback(project="keras-example", experiment_name="classifier",
                                config={"samples": len(x)}, logdir=args.logdir, log_every_n_batches=4)
    model.fit(x, y, epochs=args.epochs, batch_size=32, validation_split=0.25, verbose=0, callbacks=[callback])
    print(f"run {callback.integration.run.id} in {callback.integration.run.dir}")


if __name__ == "__main__":
    main()
