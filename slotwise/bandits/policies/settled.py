"""The model change detection compares rewards with: fitted on settled values only, in decision order.

A contextual policy's stream for change detection is each reward against the
model's prediction for that visitor. The policy's own model is the wrong
reference: it learns a click minutes after the decision but a non-click only
when the 30-minute window closes, so at any moment it holds the recent clicks
without the recent non-clicks and over-predicts — by more when the traffic
per window is high and the arm young, a bias that shrinks as data grow and that
a test reads as a change. And it has already learned the very reward it would
predict.

So detection keeps its own ridge model per variant, fitted on the values it
has already read (decisions whose window closed, in decision order), and
predicts each new value *before* learning it: one-step-ahead, prequential
residuals, with no pending rewards in either direction. Same form as LinUCB's
(each variant's model starts from the all-variants one, ``shared``), plain data
in the state.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

SHARED_REFRESH = 50  # the all-variants model is refitted every this many settled values


class SettledRidge:
    """Per-arm ridge regression on settled values; features indexed by the policy's vocabulary."""

    def __init__(self, ridge: float, shared: float, discount: float = 1.0) -> None:
        self.ridge, self.shared, self.discount = float(ridge), float(shared), float(discount)
        self.arms: dict[str, list[Any]] = {}  # arm -> [A (d x d), b (d), n]
        self.count = 0  # values learned
        self._beta: tuple[int, np.ndarray] | None = None
        # per arm its coefficients as of ``_theta_at`` (count, d): every arm is predicted for each settled
        # value (which one leads, then its stream and its detector), all from the same fit
        self._theta: dict[str, np.ndarray] = {}
        self._theta_at: tuple[int, int] | None = None
        self._ridge_eye: np.ndarray | None = None  # (ridge + shared) x I, the size of the vocabulary

    def _cell(self, arm: str, d: int) -> list[Any]:
        cell = self.arms.get(arm)
        if cell is None:
            cell = self.arms[arm] = [np.zeros((d, d)), np.zeros(d), 0.0]
        elif len(cell[1]) < d:  # the vocabulary grew: pad
            old = len(cell[1])
            A, b = np.zeros((d, d)), np.zeros(d)
            A[:old, :old], b[:old] = cell[0], cell[1]
            cell[0], cell[1] = A, b
        return cell

    def n(self, arm: str) -> float:
        cell = self.arms.get(arm)
        return 0.0 if cell is None else float(cell[2])

    def _shared_beta(self, d: int) -> np.ndarray:
        if self.shared == 0.0 or not self.arms:
            return np.zeros(d)
        stamp = self.count // SHARED_REFRESH
        if self._beta is None or self._beta[0] != stamp or len(self._beta[1]) != d:
            cells = [self._cell(a, d) for a in self.arms]
            A = sum(c[0] for c in cells) + self.ridge * np.eye(d)
            self._beta = (stamp, np.linalg.solve(A, sum(c[1] for c in cells)))
        return self._beta[1]

    def predict(self, arm: str, x: np.ndarray) -> float:
        """The arm's prediction for ``x``."""
        return float(self._coefficients(arm, len(x)) @ x)

    def _coefficients(self, arm: str, d: int) -> np.ndarray:
        """The arm's ridge solution, solved once per value learned (not once per prediction)."""
        if self._theta_at != (self.count, d):
            self._theta, self._theta_at = {}, (self.count, d)
        theta = self._theta.get(arm)
        if theta is None:
            cell = self._cell(arm, d)
            eye = self._ridge_eye
            if eye is None or len(eye) != d:
                eye = self._ridge_eye = (self.ridge + self.shared) * np.eye(d)
            theta = self._theta[arm] = np.linalg.solve(cell[0] + eye, cell[1] + self.shared * self._shared_beta(d))
        return theta

    def learn(self, arm: str, x: np.ndarray, value: float) -> None:
        d = len(x)
        if self.discount < 1.0:
            for a in list(self.arms):
                c = self._cell(a, d)
                c[0] *= self.discount
                c[1] *= self.discount
                c[2] *= self.discount
        cell = self._cell(arm, d)
        cell[0] += np.outer(x, x)
        cell[1] += value * x
        cell[2] += 1.0
        self.count += 1

    def correct(self, arm: str, x: np.ndarray, delta: float, age: int) -> None:
        """Add ``delta`` to a value learned ``age`` learned values ago (a reward that came after its
        decision was settled as 0): exact for the sufficient statistics, discount included."""
        if arm not in self.arms:
            return  # the arm was removed since
        cell = self._cell(arm, len(x))
        cell[1] += (delta * self.discount ** age) * x
        self._theta_at = None  # the all-variants model takes it in at its next refresh, as a learned value

    def keep(self, arms: Sequence[str]) -> None:
        self.arms = {a: c for a, c in self.arms.items() if a in set(arms)}
        self._beta, self._theta_at = None, None

    def clear(self) -> None:
        self.arms, self.count, self._beta, self._theta_at = {}, 0, None, None

    def state(self) -> dict[str, Any]:
        # the all-variants model as last refitted: refitted from the cells now it would take in what
        # was learned since, and a restored policy would predict otherwise than one that ran on
        return {"count": self.count, "arms": {a: {"A": c[0].tolist(), "b": c[1].tolist(), "n": float(c[2])}
                                              for a, c in self.arms.items()},
                "beta": None if self._beta is None else [self._beta[0], self._beta[1].tolist()]}

    def load(self, state: Mapping[str, Any] | None) -> None:
        self.clear()
        if not state:
            return
        self.count = int(state.get("count", 0))
        for arm, c in (state.get("arms") or {}).items():
            b = np.array(c["b"], dtype=float)
            # reshaped: with no feature yet A is 0 x 0, and its JSON ([]) reads back as a vector
            self.arms[arm] = [np.array(c["A"], dtype=float).reshape(len(b), len(b)), b, float(c["n"])]
        beta = state.get("beta")
        if beta is not None:
            self._beta = (int(beta[0]), np.array(beta[1], dtype=float))
