"""River estimators named in the rules: resolve, validate and build them.

A ``river-model`` slot names its reward model as text, the way river's own
docs write it — ``linear_model.LogisticRegression``, ``tree.HoeffdingTreeClassifier``,
``forest.ARFClassifier`` — with keyword arguments in ``model_params`` and
optional ``preprocessing`` steps (``preprocessing.StandardScaler``, …) that
are composed in front of it (``compose.Pipeline``). A parameter that is itself
a river object is written ``{name: optim.SGD, params: {lr: 0.05}}``.

Only classes of river's estimator modules (``ALLOWED_MODULES``) can be named,
and only with plain values or such nested specs: a rules file can choose a
model, not run code. river is imported on first use (it takes seconds), so
rules without a ``river-model`` slot never load it.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any, Mapping, Sequence

ALLOWED_MODULES = (
    "compose", "ensemble", "feature_extraction", "forest", "linear_model", "naive_bayes", "neighbors",
    "optim", "preprocessing", "tree",
)


class ModelSpecError(ValueError):
    """A model, preprocessing step or parameter the rules name that river cannot build."""


def river_version() -> str:
    import river

    return str(river.__version__)


def resolve(name: Any) -> type:
    """The river class ``name`` (``module.Class``) names, from the allowed modules only."""
    if not isinstance(name, str) or "." not in name:
        raise ModelSpecError(f"expected a river class as 'module.Class' (e.g. linear_model.LogisticRegression), got {name!r}")
    module_path, _, class_name = name.rpartition(".")
    if module_path.split(".")[0] not in ALLOWED_MODULES or class_name.startswith("_"):
        raise ModelSpecError(f"{name!r} is not in river's estimator modules ({', '.join(ALLOWED_MODULES)})")
    try:
        module = importlib.import_module(f"river.{module_path}")
    except ImportError:
        raise ModelSpecError(f"river has no module {module_path!r} (in {name!r})") from None
    cls = getattr(module, class_name, None)
    if not inspect.isclass(cls):
        raise ModelSpecError(f"river.{module_path} has no class {class_name!r}")
    return cls


def _value(value: Any, where: str) -> Any:
    """A parameter value: plain data, or a nested ``{name, params}`` river object."""
    if isinstance(value, Mapping):
        if "name" not in value or set(value) - {"name", "params"}:
            raise ModelSpecError(f"{where}: a river object is written {{name: module.Class, params: {{...}}}}, got {dict(value)!r}")
        return build(value["name"], value.get("params") or {}, where)
    if isinstance(value, (list, tuple)):
        return [_value(v, where) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ModelSpecError(f"{where}: unsupported value {value!r}")


def build(name: Any, params: Mapping[str, Any] | None = None, where: str = "model") -> Any:
    """An instance of the river class ``name`` with ``params`` (checked against its signature)."""
    cls = resolve(name)
    params = dict(params or {})
    if not isinstance(params, dict):
        raise ModelSpecError(f"{where}: params must be a mapping, got {params!r}")
    accepted = inspect.signature(cls).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values())
    unknown = sorted(k for k in params if k not in accepted and not takes_any)
    if unknown:
        raise ModelSpecError(f"{where}: {name} has no parameter(s) {', '.join(map(repr, unknown))}; "
                             f"it takes {', '.join(k for k in accepted if k not in ('args', 'kwargs')) or 'none'}")
    try:
        return cls(**{k: _value(v, f"{where}.{k}") for k, v in params.items()})
    except ModelSpecError:
        raise
    except Exception as exc:  # river's own checks of its arguments
        raise ModelSpecError(f"{where}: {name}({', '.join(f'{k}={v!r}' for k, v in params.items())}): {exc}") from None


def _step(item: Any, where: str) -> Any:
    if isinstance(item, str):
        return build(item, {}, where)
    if isinstance(item, Mapping) and "name" in item:
        return build(item["name"], item.get("params") or {}, where)
    raise ModelSpecError(f"{where}: a step is a river class name or {{name, params}}, got {item!r}")


def build_estimator(model: Any, model_params: Mapping[str, Any] | None, preprocessing: Sequence[Any] | None,
                    binary: bool) -> Any:
    """The reward model for one variant: ``preprocessing | model``, a classifier for 0/1 goals
    (it predicts the chance of the reward) and a regressor for amounts."""
    from river import base, compose

    estimator = build(model, model_params, "model")
    kind, wanted = ("classifier", base.Classifier) if binary else ("regressor", base.Regressor)
    if not isinstance(estimator, wanted):
        raise ModelSpecError(f"model: {model} is not a {kind}; a {'0/1' if binary else 'real-valued'} goal needs "
                             f"a river {kind} (e.g. {'linear_model.LogisticRegression' if binary else 'linear_model.LinearRegression'})")
    steps = [_step(item, f"preprocessing[{i}]") for i, item in enumerate(preprocessing or ())]
    for i, step in enumerate(steps):
        if not isinstance(step, base.Transformer):
            raise ModelSpecError(f"preprocessing[{i}]: {type(step).__name__} is not a river transformer")
    return compose.Pipeline(*steps, estimator) if steps else estimator


def check_estimator(model: Any, model_params: Any, preprocessing: Any, binary: bool) -> list[str]:
    """Problems building the estimator (empty: it builds), for the rules checker."""
    if model_params is not None and not isinstance(model_params, Mapping):
        return [f"model_params must be a mapping, got {model_params!r}"]
    if preprocessing is not None and not isinstance(preprocessing, (list, tuple, str)):
        return [f"preprocessing must be a list of river transformers, got {preprocessing!r}"]
    steps = [preprocessing] if isinstance(preprocessing, str) else preprocessing
    try:
        build_estimator(model, model_params, steps, binary)
    except ModelSpecError as exc:
        return [str(exc)]
    return []
