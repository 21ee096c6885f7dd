"""Policy specs from the YAML rules: names, typed knobs, validation.

A slot's ``policy`` is either a bare name (``thompson``) or
``{"name": ..., "params": {...}}``. Every knob is declared here once with its
type, range, default and help, so validation messages and docs come from the
same table (the way mitmproxy declares options). ``validate_policy_spec``
never raises: it returns error strings the rules loader attaches to a line.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from .goals import GOALS, is_binary

DEFAULT_POLICY = "thompson"


@dataclass(frozen=True)
class Param:
    """One tuning knob: its type, allowed range, default and meaning."""

    kind: str  # "float" | "int" | "choice" | "bool" | "text" | "mapping" | "list"
    default: Any
    help: str
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False  # lo excluded
    nullable: bool = False
    choices: tuple[str, ...] = ()
    goals: str = "any"  # "any" | "binary" | "real"

    def describe(self) -> str:
        if self.kind == "choice":
            text = "one of " + ", ".join(repr(c) for c in self.choices)
        elif self.kind == "bool":
            text = "true or false"
        elif self.kind in ("text", "mapping", "list"):
            text = {"text": "a name", "mapping": "a mapping", "list": "a list"}[self.kind]
        else:
            noun = "an integer" if self.kind == "int" else "a number"
            lo = "" if self.lo is None else (f"> {self.lo:g}" if self.lo_open else f">= {self.lo:g}")
            hi = "" if self.hi is None else f"<= {self.hi:g}"
            rng = " and ".join(x for x in (lo, hi) if x)
            text = f"{noun} {rng}".strip()
        return text + (" or null" if self.nullable else "")

    def check(self, value: Any) -> bool:
        if value is None:
            return self.nullable
        if self.kind == "choice":
            return isinstance(value, str) and value in self.choices
        if self.kind == "bool":
            return isinstance(value, bool)
        if self.kind == "text":
            return isinstance(value, str) and bool(value.strip())
        if self.kind == "mapping":
            return isinstance(value, Mapping)
        if self.kind == "list":
            return isinstance(value, (list, tuple))
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.kind == "int" and not (isinstance(value, int) or float(value).is_integer()):
            return False
        if not math.isfinite(value):
            return False
        if self.lo is not None and (value <= self.lo if self.lo_open else value < self.lo):
            return False
        return not (self.hi is not None and value > self.hi)


_HALF_LIFE = Param(
    "float", None, "forget old evidence: statistics halve in weight every this many learned "
    "decisions (null = never forget; change_detection handles abrupt changes, this slow drift)",
    lo=1, nullable=True,
)


def _change_params(threshold: float) -> dict[str, Param]:
    """The change-detection knobs (``change.py``); the default threshold depends on what is watched."""
    return {
        "change_detection": Param(
            "bool", True, "watch every variant's rewards for a lasting shift (a test of before/after "
            "means) and restart learning when one is found, so a new best variant is found again"),
        "change_threshold": Param(
            "float", threshold, "evidence (log-likelihood ratio, in nats) a shift needs before learning "
            "restarts: higher means fewer false alarms and slower reaction", lo=1, hi=100),
    }


# one threshold for every stream (0/1 counts, amounts, rewards against a model's prediction) but LinUCB's:
# the bandit bench's false-alarm and detection-delay runs chose it (docs/benchmarks.md, "Change detection")
_CHANGE = _change_params(8.0)
# LinUCB's streams are its rewards against its own model's predictions, which move as the model
# learns: at 8, one of the bandit bench's 160 steady twin runs restarted (and the same seed through
# the proxy); at 10 none did, and swaps were recovered from as often (docs/benchmarks.md, "False restarts")
_LINUCB_CHANGE = _change_params(10.0)


PARAMS: dict[str, dict[str, Param]] = {
    "thompson": {
        "prior_alpha": Param("float", 1.0, "Beta prior successes", lo=0, lo_open=True, goals="binary"),
        "prior_beta": Param("float", 1.0, "Beta prior failures", lo=0, lo_open=True, goals="binary"),
        "prior_mean": Param("float", 0.0, "normal-inverse-gamma prior mean reward", goals="real"),
        "prior_strength": Param("float", 0.01, "pseudo-observations behind prior_mean", lo=0, lo_open=True, goals="real"),
        "prior_shape": Param("float", 1.0, "inverse-gamma shape of the reward variance", lo=0, lo_open=True, goals="real"),
        "prior_scale": Param("float", 1.0, "inverse-gamma scale of the reward variance", lo=0, lo_open=True, goals="real"),
        "mc_samples": Param("int", 1000, "posterior draws used to compute propensities", lo=100, hi=100_000),
        "refresh": Param("float", 0.01, "recompute the propensities once the evidence has grown by this share "
                         "(0 = after every learned decision; the Monte Carlo step costs ~0.5 ms)", lo=0, hi=0.5),
        "half_life": _HALF_LIFE,
        **_CHANGE,
    },
    "ucb": {
        "delta": Param("float", 1.0, "exploration scale of the confidence bonus", lo=0, lo_open=True, hi=100),
        "bound": Param("choice", "ucb-v", "ucb1 (river's formula) or ucb-v (variance-aware, far "
                       "less exploration at low conversion rates)", choices=("ucb-v", "ucb1")),
        "epsilon": Param("float", 0.0, "share of uniform exploration mixed in (gives every arm a "
                         "propensity > 0, which off-policy evaluation needs)", lo=0, hi=1),
        "half_life": _HALF_LIFE,
        **_CHANGE,
    },
    "epsilon-greedy": {
        "epsilon": Param("float", 0.1, "share of traffic explored uniformly", lo=0, hi=1),
        "decay": Param("float", 0.0, "epsilon * exp(-decay * learned decisions)", lo=0),
        "half_life": _HALF_LIFE,
        **_CHANGE,
    },
    "exp3": {
        "gamma": Param("float", 0.1, "share of uniform exploration and learning rate", lo=0, lo_open=True, hi=1),
        "reward_cap": Param("float", None, "rewards are divided by this and clipped to 1 (default: "
                            "largest reward seen so far)", lo=0, lo_open=True, nullable=True, goals="real"),
        "half_life": _HALF_LIFE,
        **_CHANGE,
    },
    "linucb": {
        "alpha": Param("float", 0.3, "width of the confidence bonus (classic LinUCB alpha; the default was "
                        "chosen by the bandit bench over seeds, traffic rates and conversion levels)", lo=0, hi=100),
        "ridge": Param("float", 1.0, "ridge regularisation (prior precision) of the all-variants model, and "
                       "of each variant's own model on top of `shared`", lo=0, lo_open=True),
        "shared": Param("float", 20.0, "how many observations' worth of the all-variants model each variant's "
                        "model starts from (0 = from zero: plain disjoint LinUCB)", lo=0, hi=10_000),
        "epsilon": Param("float", 0.05, "share of uniform exploration mixed in: a variant that started unluckily "
                         "is still tried, and off-policy evaluation gets a propensity > 0 for every variant",
                         lo=0, hi=1),
        "epsilon_evidence": Param(
            "float", None, "observations' worth of data about a visitor's context (all variants together) at "
            "which the share of uniform exploration has fallen half way from `epsilon` to `epsilon_floor`; it "
            "comes back when the evidence goes (a restart, the short memory) (null = always `epsilon`)",
            lo=1, nullable=True),
        "epsilon_floor": Param("float", 0.01, "the share of uniform exploration a context's evidence lowers "
                               "`epsilon` towards (with `epsilon_evidence`)", lo=0, hi=1),
        "group_prior": Param(
            "float", 2000.0, "0/1 goals: the strongest pull (in observations) towards the all-variants model for a "
            "feature group on which the variants' rates do not differ beyond noise (traffic source, category...); "
            "each group's pull is estimated from the data, never weaker than `shared` (null = `shared` for every "
            "feature)", lo=1, nullable=True, goals="binary"),
        "max_features": Param("int", 128, "feature vocabulary cap (new feature names beyond it are ignored)", lo=2, hi=4096),
        "half_life": _HALF_LIFE,
        "recent_half_life": Param(
            "float", 1500.0, "also keep the data discounted with this half-life (in decisions) and decide with "
            "it while the variants the full memory leads with earn less than it predicts: how the policy comes "
            "back when the best variants change (null = off)", lo=1, nullable=True),
        "recent_window": Param("float", None, "half-life (in settled decisions) of the evidence for the "
                               "short memory (null = kept until it turns)", lo=1, nullable=True),
        "recent_switch": Param("float", 4.0, "evidence (nats) that the leaders fell the short memory needs before "
                               "the policy decides with it (all leaders together; one variant's leads alone need "
                               "ln(number of variants) more); it goes back once the evidence is gone", lo=0, hi=100),
        "recent_fall": Param("float", 0.4, "the fall the short memory's switch looks for: the leading "
                             "variants' rewards at this fraction of what the full memory predicts", lo=0.05, hi=0.95),
        **_LINUCB_CHANGE,
    },
    "river-model": {
        "model": Param("text", None, "the river estimator of each variant's reward, as module.Class: a "
                       "classifier for 0/1 goals (default linear_model.LogisticRegression), a regressor for "
                       "amounts (default linear_model.LinearRegression), e.g. tree.HoeffdingTreeClassifier",
                       nullable=True),
        "model_params": Param("mapping", None, "the model's keyword arguments; a river object is written "
                              "{name: optim.SGD, params: {lr: 0.05}}", nullable=True),
        "preprocessing": Param("list", None, "river transformers applied to the features first, in order "
                               "(e.g. [preprocessing.StandardScaler])", nullable=True),
        "exploration": Param("choice", "bootstrap", "bootstrap: Thompson sampling over replicas of each "
                             "variant's model (online bagging); epsilon-greedy: the best prediction; softmax: "
                             "exp(prediction / temperature)", choices=("bootstrap", "epsilon-greedy", "softmax")),
        "bootstrap": Param("int", 8, "replicas per variant for exploration: bootstrap", lo=2, hi=50),
        "epsilon": Param("float", 0.05, "share of uniform exploration mixed into every rule", lo=0, hi=1),
        "temperature": Param("float", 0.01, "softmax temperature, in reward units (scaled by the largest "
                             "reward seen for amounts)", lo=0, lo_open=True),
        **_CHANGE,
    },
    "uniform": {},
}
ALIASES = {"epsilon_greedy": "epsilon-greedy", "egreedy": "epsilon-greedy", "random": "uniform",
           "river": "river-model", "river_model": "river-model"}
POLICY_NAMES: tuple[str, ...] = tuple(PARAMS)


@dataclass(frozen=True)
class PolicySpec:
    """A validated policy name and its full parameter set (defaults filled in)."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "params": dict(self.params)}


def _split(spec: Any) -> tuple[Any, Any]:
    if spec is None:
        return DEFAULT_POLICY, {}
    if isinstance(spec, str):
        return spec, {}
    if isinstance(spec, PolicySpec):
        return spec.name, spec.params
    if isinstance(spec, Mapping):
        return spec.get("name", DEFAULT_POLICY), spec.get("params") or {}
    return spec, None


def validate_policy_spec(spec: Any, goal: str) -> list[str]:
    """Error messages for a policy spec under a goal; empty when it is valid."""
    errors: list[str] = []
    if goal not in GOALS:
        return [f"goal: unknown goal {goal!r}; allowed: {', '.join(GOALS)}"]
    if isinstance(spec, Mapping):
        extra = sorted(set(spec) - {"name", "params"})
        if extra:
            errors.append(f"policy: unknown key(s) {', '.join(map(repr, extra))}; allowed: 'name', 'params'")
    raw_name, params = _split(spec)
    if not isinstance(raw_name, str):
        return errors + [f"policy: expected a policy name or a mapping with 'name', got {spec!r}"]
    name = ALIASES.get(raw_name, raw_name)
    if name not in PARAMS:
        hint = difflib.get_close_matches(raw_name, POLICY_NAMES, n=1)
        did = f" (did you mean {hint[0]!r}?)" if hint else ""
        return errors + [f"policy: unknown policy {raw_name!r}{did}; allowed: {', '.join(POLICY_NAMES)}"]
    if not isinstance(params, Mapping):
        return errors + [f"policy {name!r}: params must be a mapping, got {params!r}"]
    kind = "binary" if is_binary(goal) else "real"
    table = PARAMS[name]
    allowed = [p for p, d in table.items() if d.goals in ("any", kind)]
    for key, value in params.items():
        decl = table.get(key)
        if decl is None or decl.goals not in ("any", kind):
            why = (f"only applies to {decl.goals}-valued goals, not goal {goal!r}" if decl
                   else "unknown param")
            hint = difflib.get_close_matches(str(key), allowed, n=1) if decl is None else []
            did = f" (did you mean {hint[0]!r}?)" if hint else ""
            errors.append(f"policy {name!r}: {why} {key!r}{did}; allowed: {', '.join(allowed) or '(none)'}")
        elif not decl.check(value):
            errors.append(f"policy {name!r}: param {key!r} must be {decl.describe()}, got {value!r}")
    if name == "river-model" and not errors:
        from .river_models import check_estimator  # imports river: only for slots that use it

        errors += [f"policy {name!r}: {problem}" for problem in check_estimator(
            params.get("model") or ("linear_model.LogisticRegression" if kind == "binary"
                                    else "linear_model.LinearRegression"),
            params.get("model_params"), params.get("preprocessing"), kind == "binary")]
    return errors


def parse_policy_spec(spec: Any, goal: str) -> PolicySpec:
    """Validated spec with defaults; raises ``ValueError`` listing every problem."""
    errors = validate_policy_spec(spec, goal)
    if errors:
        raise ValueError("; ".join(errors))
    raw_name, params = _split(spec)
    name = ALIASES.get(raw_name, raw_name)
    kind = "binary" if is_binary(goal) else "real"
    full = {k: d.default for k, d in PARAMS[name].items() if d.goals in ("any", kind)}
    full.update(params)
    return PolicySpec(name, full)
