"""Log to a tracking server (``online`` mode), with the local store as the outbox.

Start a server first (writes need the token, reads are open on localhost):

    seetrain server --db sqlite:///./server/db.sqlite --token secret
    SEETRAIN_API_KEY=secret python examples/online_logging.py --host http://127.0.0.1:5092

Every record goes to ./seetrain_logs first; a background thread uploads it. Stop the server
in the middle: training goes on at full speed, and the records are sent when it is back
(or later with ``seetrain sync --host ...``). ``--rank`` shows how distributed ranks log
into one group.
"""

from __future__ import annotations

import argparse
import math
import os

import numpy as np

import seetrain


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default=os.environ.get("SEETRAIN_HOST", "http://127.0.0.1:5092"))
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--rank", type=int, default=int(os.environ.get("RANK", "0")))
    parser.add_argument("--group", default="example-job")
    parser.add_argument("--logdir", default=None, help="local store, the outbox (default ./seetrain_logs)")
    args = parser.parse_args()

    run = seetrain.init(project="online-demo", experiment_name=f"rank-{args.rank}", mode="online",
                        host=args.host, group=args.group, config={"lr": 3e-4, "rank": args.rank},
                        upload_timeout=10, logdir=args.logdir)
    rng = np.random.default_rng(args.rank)
    for step in range(args.steps):
        loss = math.exp(-step / 500) + 0.05 * rng.standard_normal()
        seetrain.log({"train/loss": loss, "train/lr": 3e-4 * (1 - step / args.steps)}, step=step)
        if step % 500 == 0:
            seetrain.log({"samples": seetrain.Image(rng.random((32, 32, 3)), caption=f"step {step}")}, step=step)
    seetrain.finish()  # waits up to upload_timeout, then says what was sent and what is left
    print(f"run {run.id}: open {args.host}/ to see it")


if __name__ == "__main__":
    main()
