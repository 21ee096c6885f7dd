"""Any river regressor or classifier as each variant's reward model, with exact propensities.

The rules name the model (``model: tree.HoeffdingTreeClassifier``, with
``model_params`` and ``preprocessing``; see ``..river_models``). Each variant
gets its own model of the reward given the visitor's features — the chance of
a click or an order (a classifier) or the amount (a regressor) — learned one
reward at a time, as river models learn (once the reward's window has closed:
see *Learning* below).

A model alone only predicts; the exploration rule turns predictions into a
probability vector, so the logged propensity is the probability the decision
had:

* ``bootstrap`` (the default): Thompson sampling over ``bootstrap`` replicas
  of each variant's model, each learning every reward 0, 1, 2… times (online
  bagging, Poisson(1) weights: Oza & Russell 2001; Osband & Van Roy 2015 for
  bandits). A decision picks a replica at random and shows the variant that
  replica rates best, so P(variant) is the share of replicas that rate it
  best, exactly;
* ``epsilon-greedy``: the best mean prediction;
* ``softmax``: ``exp(prediction / temperature)`` (``temperature`` in reward
  units; for amounts it is scaled by the largest reward seen).

Every rule mixes in ``epsilon`` of uniform exploration, so no variant's
propensity is 0 (what off-policy evaluation needs) and a variant that started
unluckily is still tried. Bootstrap weights come from a generator derived from
the policy's seed and version, so every process applying the same updates
holds the same models.

State: river models are pickled (base64 in the JSON state) together with
river's version. A pickle does not load across river versions: loading one
written by another version raises ``IncompatibleState``, and the learner then
rebuilds the model from the log (``learner.SnapshotFormatError``).

Learning: rewards arrive late and unevenly (a click within minutes, a
non-click when the window closes), and a model that learned them as they
arrive would hold the recent clicks without their non-clicks and favour what
it just showed (``Policy.begin``). LinUCB and the counting policies count a
decision as a trial when it is made; a river model cannot unlearn that, so it
learns each reward once its window has closed, in decision order. Change
detection reads each settled reward against the models' prediction for that
visitor just before they learn it (and all variants' together), as LinUCB
does, once a variant has ``WARM_UP`` of them.
"""

from __future__ import annotations

import base64
import math
import pickle
from typing import Any, Mapping, Sequence

import numpy as np

from ..exploration import argmax_probabilities, mix_uniform, softmax_probabilities
from ..randomness import derived_rng
from ..river_models import build_estimator, river_version
from .base import Features, Policy
from .linucb import WARM_UP


MAX_FEATURES = 256  # feature names the models get (the rest are ignored)


class IncompatibleState(ValueError):
    """A state this process cannot load (pickled by another river version)."""


def poisson_one(rng: Any) -> int:
    """A Poisson(1) draw (Knuth): how many times a bootstrap replica learns one reward."""
    limit, k, p = math.exp(-1.0), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


class RiverModelPolicy(Policy):
    """Per-variant river models of the reward, wrapped by an exploration rule (module docstring)."""

    name = "river-model"
    contextual = True
    joint_stream = True
    # a river model cannot unlearn a non-click imputed when the decision was made (``Policy.begin``);
    # it learns each reward once its window has closed instead, in decision order
    learns_settled = True
    # its models learn the settled values, and a river model cannot unlearn a 0 settled early:
    # settled at the attribution window, as before
    early_settling = False

    def __init__(self, goal: str, params: Mapping[str, Any] | None = None, seed: int | None = None):
        super().__init__(goal, params, seed)
        self.models: dict[str, list[Any]] = {}  # arm -> replicas
        self.counts: dict[str, float] = {}  # arm -> rewards learned since the last restart
        self.reward = [0.0, 0.0]  # sum and count of rewards learned (the floor of predictions)
        self.scale = 1.0  # largest |reward| seen (real goals): softmax's temperature is in its units
        self._fresh: Any = None  # an untrained model: what a variant without data predicts
        # feature names seen so far: models get every one, 0.0 when absent (one-hot features are
        # sparse, and a tree or a scaler that only ever sees a feature's 1s cannot split on it)
        self.vocabulary: dict[str, None] = {}

    # -- models --------------------------------------------------------------
    @property
    def replicas(self) -> int:
        return int(self.params["bootstrap"]) if self.params["exploration"] == "bootstrap" else 1

    def _model_name(self) -> str:
        return self.params.get("model") or ("linear_model.LogisticRegression" if self.binary
                                            else "linear_model.LinearRegression")

    def _build(self) -> Any:
        return build_estimator(self._model_name(), self.params.get("model_params"),
                               self.params.get("preprocessing"), self.binary)

    def _predict(self, model: Any, x: Features) -> float:
        if self.binary:
            return float(model.predict_proba_one(dict(x)).get(True, 0.0))
        value = model.predict_one(dict(x))
        return float(value) if value is not None else 0.0

    def _dense(self, context: Features | None, learn: bool = False) -> dict[str, float]:
        """The features as the models see them: every known name, 0.0 when absent."""
        x = dict(context or {})
        if learn:
            for name in x:
                if name not in self.vocabulary and len(self.vocabulary) < MAX_FEATURES:
                    self.vocabulary[name] = None
        return {**dict.fromkeys(self.vocabulary, 0.0), **{k: v for k, v in x.items() if k in self.vocabulary}}

    def predictions(self, arm_ids: Sequence[str], context: Features | None) -> np.ndarray:
        """Arms x replicas: each replica's predicted reward for this visitor."""
        x = self._dense(context)
        rows = []
        for arm in arm_ids:
            row = [self._predict(model, x) for model in self.models.get(arm, ())]
            if len(row) < self.replicas:  # replicas not made yet predict as a model that learned nothing
                if self._fresh is None:
                    self._fresh = self._build()
                row += [self._predict(self._fresh, x)] * (self.replicas - len(row))
            rows.append(row)
        return np.array(rows, dtype=float).reshape(len(arm_ids), self.replicas)

    # -- verbs -----------------------------------------------------------------
    def probabilities(self, arm_ids, context=None):
        preds = self.predictions(arm_ids, context)
        rule = self.params["exploration"]
        if rule == "bootstrap":  # each replica's argmax, its mass shared by the arms tied at the top
            probs = dict.fromkeys(arm_ids, 0.0)
            replicas = preds.shape[1]
            for column in preds.T.tolist():
                best = max(column)
                tied = [arm for arm, value in zip(arm_ids, column) if value == best]
                share = 1.0 / len(tied)
                for arm in tied:
                    probs[arm] += share / replicas
        elif rule == "softmax":
            temperature = self.params["temperature"] * (1.0 if self.binary else self.scale)
            probs = softmax_probabilities(arm_ids, list(preds.mean(axis=1)), temperature)
        else:
            probs = argmax_probabilities(arm_ids, list(preds.mean(axis=1)))
        return mix_uniform(probs, self.params["epsilon"])

    def update(self, arm_id, reward, context=None, propensity=None, *, decided_at=None, settle=0.0, begun=False):
        """Queue the reward; it is learned once its window has settled (``_on_settled``)."""
        x = self._dense(context, learn=True)
        reward = float(reward)
        if not self.binary and abs(reward) > self.scale:
            self.scale = abs(reward)
        self.version += 1
        self._watch(arm_id, reward, decided_at, settle, context=x)

    def _on_settled(self, arm_id, value, at, context):
        """Change detection reads the value against the models' prediction, then the models learn it."""
        restarted = super()._on_settled(arm_id, value, at, context)
        self._learn(arm_id, dict(context or {}), value)
        return restarted

    def _learn(self, arm_id: str, x: dict[str, float], reward: float) -> None:
        models = self.models.get(arm_id)
        if models is None:
            models = self.models[arm_id] = [self._build() for _ in range(self.replicas)]
        target: Any = reward > 0 if self.binary else reward
        if len(models) == 1:
            models[0].learn_one(x, target)
        else:
            rng = derived_rng(self.seed, self.restarts, self.reward[1])
            for model in models:
                for _ in range(poisson_one(rng)):
                    model.learn_one(x, target)
        self.counts[arm_id] = self.counts.get(arm_id, 0.0) + 1.0
        self.reward[0] += reward
        self.reward[1] += 1.0

    def _observe(self, arm_id, value, context):
        """The reward against the models' prediction for this visitor, before they learn it (the
        models learn settled values only, so no pending reward biases it), once the arm has
        ``WARM_UP`` of them."""
        models = self.models.get(arm_id)
        if models is None or self.counts.get(arm_id, 0.0) < WARM_UP:
            return None, 1.0
        x = dict(context or {})
        predicted = float(np.mean([self._predict(m, x) for m in models]))
        if self.binary:
            return value, max(predicted, self._floor())
        return value - predicted, 1.0

    def _floor(self) -> float:
        """The least a prediction counts as (a tenth of the mean reward; see ``LinUCB._floor``)."""
        mean = self.reward[0] / self.reward[1] if self.reward[1] else 0.0
        return max(0.1 * mean, 1e-4)

    def _watched(self) -> str:
        return "error"

    def _forget_evidence(self) -> None:
        self.models, self.counts, self.reward = {}, {}, [0.0, 0.0]

    def keep_arms(self, arm_ids):
        keep = set(arm_ids)
        self.models = {a: m for a, m in self.models.items() if a in keep}
        self.counts = {a: n for a, n in self.counts.items() if a in keep}
        super().keep_arms(arm_ids)

    # -- state ---------------------------------------------------------------------
    def state(self):
        out = super().state()
        out["river"] = river_version()
        out["models"] = base64.b64encode(pickle.dumps(self.models, protocol=5)).decode("ascii")
        out["counts"] = dict(self.counts)
        out["vocabulary"] = list(self.vocabulary)
        out["reward"] = list(self.reward)
        out["scale"] = self.scale
        return out

    def _load(self, state):
        super()._load(state)
        if state.get("name") != self.name:
            return
        if state.get("river") != river_version():
            raise IncompatibleState(f"river-model state pickled by river {state.get('river')}, this is river "
                                    f"{river_version()}: rebuild it from the log")
        self.models = pickle.loads(base64.b64decode(state["models"]))  # our own snapshot, see the docstring
        self.counts = {a: float(n) for a, n in state.get("counts", {}).items()}
        self.vocabulary = dict.fromkeys(state.get("vocabulary", []))
        self.reward = [float(v) for v in state.get("reward", [0.0, 0.0])]
        self.scale = float(state.get("scale", 1.0))
