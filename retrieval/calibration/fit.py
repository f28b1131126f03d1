"""Fit the answerability model: a logistic regression over `scoring.FEATURES`.

    python -m attache.retrieval.calibration.fit retrieval/calibration/data/*.jsonl

Reads the feature dumps written by `dump.py`, cross-validates by article (each group,
one document's questions, is predicted by a model fitted on the others), prints the
out-of-sample trade-off between unanswerable questions refused and answerable ones
answered right at several operating points, picks the operating point (the one
refusing most unanswerable SQuAD 2.0 questions while keeping answerable ones answered
right at `--floor` or better), fits on everything and writes `model.json`.
numpy only; nothing here runs when Attaché answers.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from attache.retrieval.scoring import FEATURES

HERE = Path(__file__).resolve().parent
THRESHOLDS = tuple(round(0.05 + 0.025 * i, 3) for i in range(27))  # 0.05 … 0.70
SHOWN = (0.0, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7)


def load(paths: list[Path]) -> list[dict]:
    rows = []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                rows.append(json.loads(line))
    return rows


def matrix(rows: list[dict]) -> np.ndarray:
    return np.array([[r["features"].get(name, 0.0) for name in FEATURES] for r in rows], float)


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """Standardise, then Newton's method on the L2-penalised log-likelihood."""
    means = x.mean(axis=0)
    scales = x.std(axis=0)
    scales[scales < 1e-9] = 1.0
    z = (x - means) / scales
    a = np.hstack([np.ones((len(z), 1)), z])
    w = np.zeros(a.shape[1])
    penalty = np.full(a.shape[1], l2)
    penalty[0] = 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-np.clip(a @ w, -30, 30)))
        gradient = a.T @ (p - y) + penalty * w
        hessian = (a * (p * (1 - p))[:, None]).T @ a + np.diag(penalty) + 1e-9 * np.eye(len(w))
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[1:], float(w[0]), means, scales


def predict(x: np.ndarray, weights, bias, means, scales) -> np.ndarray:
    return 1 / (1 + np.exp(-np.clip(bias + ((x - means) / scales) @ weights, -30, 30)))


def cross_validate(rows: list[dict], x: np.ndarray, y: np.ndarray, l2: float) -> np.ndarray:
    groups = np.array([r["group"] for r in rows])
    out = np.zeros(len(rows))
    for group in sorted(set(groups)):
        test = groups == group
        model = fit_logistic(x[~test], y[~test], l2)
        out[test] = predict(x[test], *model)
    return out


def ece(p: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: |accuracy - mean confidence| per bin, weighted."""
    if not len(p):
        return 0.0
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for low, high in zip(edges[:-1], edges[1:]):
        inside = (p >= low) & ((p < high) | (high == 1))
        if inside.any():
            total += inside.sum() * abs(correct[inside].mean() - p[inside].mean())
    return total / len(p)


def tradeoff(rows: list[dict], p: np.ndarray, prefix: str) -> list[dict]:
    chosen = np.array([r["id"].startswith(prefix) for r in rows])
    impossible = np.array([r["impossible"] for r in rows]) & chosen
    possible = ~np.array([r["impossible"] for r in rows]) & chosen
    hard = np.array([r["hard_fail"] for r in rows])
    label = np.array([r["label"] for r in rows]).astype(bool)
    table = []
    for t in sorted(set(THRESHOLDS) | set(SHOWN)):
        answered = (p >= t) & ~hard
        table.append({
            "min_confidence": t,
            "unanswerable_refused": float((~answered[impossible]).mean()) if impossible.any() else None,
            "answerable_right": float((answered & label)[possible].mean()) if possible.any() else None,
            "ece": float(ece(p[answered & chosen], label[answered & chosen])),
        })
    return table


def chosen(table: list[dict], floor: float) -> dict:
    """The operating point refusing most unanswerable questions while answering at least
    `floor` of the answerable ones right."""
    eligible = [t for t in table if (t["answerable_right"] or 0) >= floor]
    return max(eligible, key=lambda t: t["unanswerable_refused"] or 0) if eligible else table[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="fit the answerability model")
    parser.add_argument("dumps", type=Path, nargs="+")
    parser.add_argument("--l2", type=float, default=1.0)
    parser.add_argument("--floor", type=float, default=0.79,
                        help="answerable SQuAD 2.0 questions answered right, at least")
    parser.add_argument("--out", type=Path, default=HERE / "model.json")
    args = parser.parse_args(argv)
    rows = load(args.dumps)
    x, y = matrix(rows), np.array([r["label"] for r in rows], float)
    p = cross_validate(rows, x, y, args.l2)
    report = {}
    for name, prefix in (("squad2", "questions:"), ("seeds", "seeds-")):
        report[name] = tradeoff(rows, p, prefix)
        print(f"\n{name} (out of sample, by article)")
        print("| min confidence | unanswerable refused | answerable answered right | ECE |")
        print("| --- | --- | --- | --- |")
        for line in report[name]:
            if line["min_confidence"] not in SHOWN and line["min_confidence"] != chosen(
                    report["squad2"], args.floor)["min_confidence"]:
                continue
            fmt = lambda v: "–" if v is None else f"{v:.3f}"  # noqa: E731
            print(f"| {line['min_confidence']:.2f} | {fmt(line['unanswerable_refused'])} | "
                  f"{fmt(line['answerable_right'])} | {line['ece']:.3f} |")
    best = chosen(report["squad2"], args.floor)
    weights, bias, means, scales = fit_logistic(x, y, args.l2)
    model = {
        "features": list(FEATURES),
        "weights": [round(float(w), 5) for w in weights],
        "means": [round(float(m), 5) for m in means],
        "scales": [round(float(s), 5) for s in scales],
        "bias": round(bias, 5),
        "min_confidence": best["min_confidence"],
        "fitted_on": [str(path.name) for path in args.dumps],
        "rows": len(rows),
        "l2": args.l2,
    }
    args.out.write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
    print(f"\nmin_confidence {best['min_confidence']}; weights (standardised):")
    for name, w in sorted(zip(FEATURES, weights), key=lambda item: -abs(item[1])):
        print(f"  {name:18s} {w:+.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
