"""Fit the answerability model: a logistic regression over `scoring.FEATURES`.

    python -m attache.retrieval.calibration.fit retrieval/calibration/data/*.jsonl

Reads the feature dumps written by `dump.py`, cross-validates by article (each group,
one document's questions, is predicted by a model fitted on the others), prints the
out-of-sample trade-off between unanswerable questions refused and answerable ones
answered right at several operating points, picks the operating point (the one
refusing most unanswerable SQuAD 2.0 questions while keeping answerable ones answered
right at `--floor` or better), fits on everything and writes `model.json`.
With `--ranker`, fits the sentence ranker instead, on what `dump.py --candidates` wrote
(SQuAD v1.1's answerable questions), and writes `ranker.json`:

    python -m attache.retrieval.calibration.fit --ranker retrieval/calibration/data/ranking.jsonl.gz

numpy only; nothing here runs when Attaché answers.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

import numpy as np

from attache.retrieval.scoring import FEATURES, RANK_FEATURES

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


def fit_ranker(paths: list[Path], out: Path, l2: float) -> int:
    """The ranker: a logistic regression over each best-scoring sentence's features
    giving the probability that it holds the answer; prints the share of questions whose
    first sentence holds it, in score order and in the ranker's order (out of sample, by
    article)."""
    questions = []
    for path in paths:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as lines:
            questions.extend(json.loads(line) for line in lines if line.strip())
    questions = [q for q in questions if q["candidates"]]
    names = list(FEATURES) + list(RANK_FEATURES)
    rows = [(i, q["group"], c) for i, q in enumerate(questions) for c in q["candidates"]]
    x = np.array([[c["features"].get(n, 0.0) for n in names] for _, _, c in rows], float)
    y = np.array([c["label"] for _, _, c in rows], float)
    owner = np.array([i for i, _, _ in rows])
    groups = np.array([g for _, g, _ in rows])
    p = np.zeros(len(rows))
    for group in sorted(set(groups)):
        test = groups == group
        p[test] = predict(x[test], *fit_logistic(x[~test], y[~test], l2))
    first = np.array([q["candidates"][0]["label"] for q in questions], float)
    ranked = np.array([y[owner == i][np.argmax(p[owner == i])] for i in range(len(questions))])
    print(f"{len(questions)} questions, {len(rows)} sentences; first sentence holds the answer: "
          f"score order {first.mean():.3f}, ranker {ranked.mean():.3f} (out of sample)")
    weights, bias, means, scales = fit_logistic(x, y, l2)
    out.write_text(json.dumps({
        "features": names,
        "weights": [round(float(w), 5) for w in weights],
        "means": [round(float(m), 5) for m in means],
        "scales": [round(float(s), 5) for s in scales],
        "bias": round(bias, 5),
        "fitted_on": [str(path.name) for path in paths],
        "rows": len(rows),
        "l2": l2,
    }, indent=1) + "\n", encoding="utf-8")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="fit the answerability model")
    parser.add_argument("dumps", type=Path, nargs="+")
    parser.add_argument("--l2", type=float, default=1.0)
    parser.add_argument("--floor", type=float, default=0.795,
                        help="answerable SQuAD 2.0 questions answered right, at least "
                             "(out of sample)")
    parser.add_argument("--ranker", action="store_true",
                        help="fit the sentence ranker on `dump.py --candidates` output")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.ranker:
        return fit_ranker(args.dumps, args.out or HERE / "ranker.json", args.l2)
    args.out = args.out or HERE / "model.json"
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
