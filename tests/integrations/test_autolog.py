"""seetrain.autolog() per framework, each in a fresh interpreter: autolog is switched on BEFORE the
framework is imported (so it must import nothing and patch on import), the unchanged training
script logs into the current run, and ``disable=True`` puts back the very original objects."""

from __future__ import annotations

import importlib.util
import json

import pytest

from tests.helpers import run_python

pytestmark = pytest.mark.integration

ENV = {"SEETRAIN_SYSTEM_MONITOR": "0", "SEETRAIN_CAPTURE_CONSOLE": "0", "KERAS_BACKEND": "torch",
       "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
       "DO_NOT_TRACK": "true", "WANDB_MODE": "disabled"}

PRELUDE = """
import json, sys
import seetrain
state = seetrain.autolog()
assert {module!r} not in sys.modules, "autolog imported the framework"
assert state[{name!r}] == "waiting for import", state
"""

EPILOGUE = """
patched = {{(owner, attr): vars(owner)[attr] for owner, attr in TARGETS}}
import wrapt
assert all(isinstance(p, wrapt.FunctionWrapper) for p in patched.values()), "not patched on import"
assert seetrain.autolog() == seetrain.autolog(), "not idempotent"
seetrain.autolog(disable=True)
restored = all(vars(owner)[attr] is p.__wrapped__ for (owner, attr), p in patched.items())
seetrain.finish()
(view,) = seetrain.Api("logs").runs("auto")
print(json.dumps({{"restored": restored, "keys": view.keys(), "status": view.status,
                   "config": view.config, "tags": view.tags, "events": [m.key for m in view.media()]}}))
"""


def _run(name: str, module: str, body: str, tmp_path, timeout: float = 180) -> dict:
    code = PRELUDE.format(module=module, name=name) + body + EPILOGUE.format()
    proc = run_python(code, cwd=tmp_path, env=ENV, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _needs(*modules: str) -> None:
    for module in modules:
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} not installed")


def test_lightning_trainer(tmp_path):
    _needs("lightning")
    out = _run("pytorch_lightning", "lightning", """
import torch
import lightning.pytorch as lp
from torch.utils.data import DataLoader, TensorDataset

class Tiny(lp.LightningModule):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Linear(4, 1)
    def training_step(self, batch, i):
        loss = torch.nn.functional.mse_loss(self.net(batch[0]), batch[1])
        self.log("train/loss", loss)
        return loss
    def test_step(self, batch, i):
        self.log("test/loss", torch.nn.functional.mse_loss(self.net(batch[0]), batch[1]))
    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)

x = torch.randn(16, 4)
loader = DataLoader(TensorDataset(x, x.sum(1, keepdim=True)), batch_size=4)
seetrain.init(project="auto", logdir="logs")
trainer = lp.Trainer(max_steps=4, log_every_n_steps=1, logger=False, enable_checkpointing=False,
                     enable_progress_bar=False, enable_model_summary=False, default_root_dir="root")
trainer.fit(Tiny(), loader)
trainer.test(trainer.lightning_module, loader, verbose=False)
TARGETS = [(lp.Trainer, "fit"), (lp.Trainer, "test")]
""", tmp_path)
    assert out["restored"] and out["status"] == "finished"
    assert {"train/loss", "test/loss"} <= set(out["keys"])
    assert out["config"]["framework"]["name"] == "pytorch_lightning" and "pytorch_lightning" in out["tags"]


def test_hf_trainer(tmp_path):
    _needs("transformers", "torch")
    out = _run("transformers", "transformers.trainer", """
import torch
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments

class Data(torch.utils.data.Dataset):
    def __init__(self):
        g = torch.Generator().manual_seed(0)
        self.ids = torch.randint(1, 100, (16, 8), generator=g)
    def __len__(self):
        return 16
    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "labels": (self.ids[i, 0] > 50).long()}

torch.manual_seed(0)
model = BertForSequenceClassification(BertConfig(vocab_size=100, hidden_size=16, num_hidden_layers=1,
    num_attention_heads=2, intermediate_size=32, max_position_embeddings=16, num_labels=2))
seetrain.init(project="auto", logdir="logs")
args = TrainingArguments(output_dir="out", report_to=[], max_steps=4, logging_steps=2, use_cpu=True,
                         per_device_train_batch_size=4, save_strategy="no", disable_tqdm=True)
Trainer(model=model, args=args, train_dataset=Data()).train()
import transformers.trainer
TARGETS = [(transformers.trainer.Trainer, "train")]
""", tmp_path)
    assert out["restored"] and out["status"] == "finished"
    assert "train/loss" in out["keys"] and out["config"]["framework"]["name"] == "transformers"


def test_keras_fit(tmp_path):
    _needs("keras", "torch")
    out = _run("keras", "keras", """
import numpy as np
import keras
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
model.compile(optimizer="sgd", loss="mse")
seetrain.init(project="auto", logdir="logs")
x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
model.fit(x, x.sum(1), epochs=2, batch_size=8, verbose=0)
owner = next(k for k in keras.Model.__mro__ if "fit" in vars(k))
TARGETS = [(owner, "fit")]
""", tmp_path)
    assert out["restored"] and out["status"] == "finished"
    assert any(k.endswith("loss") for k in out["keys"]) and out["config"]["framework"]["name"] == "keras"


def test_xgboost_train(tmp_path):
    _needs("xgboost")
    out = _run("xgboost", "xgboost", """
import numpy as np
import xgboost as xgb
import xgboost.training
x = np.random.default_rng(0).normal(size=(100, 3))
d = xgb.DMatrix(x, label=(x[:, 0] > 0).astype(int))
seetrain.init(project="auto", logdir="logs")
xgb.train({"max_depth": 2}, d, 4, evals=[(d, "train")], verbose_eval=False)
TARGETS = [(xgb, "train"), (xgboost.training, "train")]
""", tmp_path)
    assert out["restored"] and "train/rmse" in out["keys"]
    assert "xgboost/feature_importance" in out["events"]


def test_openai_client(tmp_path):
    _needs("openai")
    out = _run("openai", "openai", """
from tests.llm_fake_server import FakeLLMServer
srv = FakeLLMServer().start()
import openai
seetrain.init(project="auto", logdir="logs")
client = openai.OpenAI(base_url=srv.url + "/v1", api_key="x", max_retries=0)
client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi there"}])
stream = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "a b"}], stream=True)
print("".join(c.choices[0].delta.content or "" for c in stream if c.choices), file=sys.stderr)
import openai.resources.chat.completions as occ
TARGETS = [(occ.Completions, "create"), (occ.AsyncCompletions, "create")]
""", tmp_path)
    assert out["restored"] and "llm/calls" in out["keys"]
    assert out["events"].count("llm_call") == 2


def test_exclude_and_nothing_imported(tmp_path):
    _needs("xgboost")
    proc = run_python("""
import sys, seetrain, wrapt
patched = lambda: isinstance(vars(xgboost)["train"], wrapt.FunctionWrapper)
state = seetrain.autolog(exclude=["xgboost", "lightning"])
assert "xgboost" not in state and "pytorch_lightning" not in state, state
import xgboost
assert not patched()
state = seetrain.autolog()             # a different exclude: xgboost is patched now
assert patched(), state
state = seetrain.autolog(exclude=["xgboost"])   # and unpatched again
assert not patched() and "xgboost" not in state
heavy = [m for m in ("torch", "lightning", "keras", "transformers", "openai") if m in sys.modules]
print(heavy)
""", cwd=tmp_path, env=ENV, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_lightgbm_train(tmp_path):
    _needs("lightgbm")
    out = _run("lightgbm", "lightgbm", """
import numpy as np
import lightgbm as lgb
import lightgbm.engine
x = np.random.default_rng(0).normal(size=(200, 3))
data = lgb.Dataset(x, label=(x[:, 0] > 0).astype(int))
seetrain.init(project="auto", logdir="logs")
lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 4}, data, 5, valid_sets=[data], valid_names=["train"])
TARGETS = [(lgb, "train"), (lightgbm.engine, "train")]
""", tmp_path)
    assert out["restored"] and "train/binary_logloss" in out["keys"]
    assert "lightgbm/feature_importance" in out["events"] and out["config"]["lightgbm"]["num_trees"] == 5


def test_stable_baselines3_learn(tmp_path):
    _needs("stable_baselines3", "gymnasium")
    out = _run("stable_baselines3", "stable_baselines3", """
from stable_baselines3 import PPO
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
seetrain.init(project="auto", logdir="logs")
PPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=32, n_epochs=1, seed=0, device="cpu").learn(128)
TARGETS = [(OnPolicyAlgorithm, "learn"), (OffPolicyAlgorithm, "learn")]
""", tmp_path)
    assert out["restored"] and {"episode/reward", "train/loss"} <= set(out["keys"])
    assert out["config"]["sb3"]["algorithm"] == "PPO"


def test_ollama_client(tmp_path):
    _needs("ollama")
    out = _run("ollama", "ollama", """
from tests.llm_fake_server import FakeLLMServer
srv = FakeLLMServer().start()
import ollama
seetrain.init(project="auto", logdir="logs")
client = ollama.Client(host=srv.url)
client.chat("llama3", [{"role": "user", "content": "hi"}])
"".join(p.message.content for p in client.chat(model="llama3", messages=[{"role": "user", "content": "a b"}],
                                               stream=True))
oc = sys.modules["ollama._client"]  # the package's `_client` attribute is its default Client
TARGETS = [(oc.Client, "chat"), (oc.AsyncClient, "chat")]
""", tmp_path)
    assert out["restored"] and out["events"].count("llm_call") == 2 and "llm/calls" in out["keys"]


def test_cohere_client_made_after_autolog(tmp_path):
    _needs("cohere")
    out = _run("cohere", "cohere", """
from tests.llm_fake_server import FakeLLMServer
srv = FakeLLMServer().start()
import cohere
seetrain.init(project="auto", logdir="logs")
cohere.ClientV2(api_key="x", base_url=srv.url).chat(model="command-r", messages=[{"role": "user", "content": "hi"}])
import cohere.v2.client as cv
TARGETS = [(cv.V2Client, "chat"), (cv.V2Client, "chat_stream")]
""", tmp_path)
    assert out["restored"] and out["events"].count("llm_call") == 1
