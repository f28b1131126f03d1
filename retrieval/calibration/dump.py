"""Dump the answerability features of every question of a question file, with its label.

    ATTACHE_DATA_DIR=.attache-squad python -m attache.retrieval.calibration.dump \\
        ../shared/eval/squad2-public/questions.jsonl > retrieval/calibration/squad2.jsonl

One line per question: `id`, `group` (the document it is about, for cross-validation
by article), `impossible`, `label` (1 when the answer the product would give is right:
it holds a gold answer, or the expected string and source; 0 for an unanswerable
question), `hard_fail` (a hard check refuses it), `features`. Run in one process over an
index of the documents the questions are about (the seeds for the seeds' questions).

With `--candidates`, for the ranker (`fit.py --ranker`): one line per question with gold
answers, `id`, `group` and `candidates`, the best-scoring sentences in score order, each
with its `label` (1 when it holds a gold answer) and ranker `features`:

    ATTACHE_DATA_DIR=.attache-squad python -m attache.retrieval.calibration.dump \\
        --candidates ../shared/eval/squad-public/questions.jsonl \\
        | gzip -9n > retrieval/calibration/data/ranking.jsonl.gz
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from attache.index.settings import load_settings
    from attache.retrieval.answer import cite
    from attache.retrieval.evaluate import contains_answer, read_questions
    from attache.retrieval.service import Attache

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", type=Path, nargs="+")
    parser.add_argument("--candidates", action="store_true",
                        help="the ranker's data: every best-scoring sentence of each question")
    args = parser.parse_args(argv)
    service = Attache(load_settings())
    for path in args.questions:
        if args.candidates:
            _candidates(service, path)
            continue
        for item in read_questions(path):
            selection = service.select(" ".join(item["question"].split()))
            text, citations = cite(selection.sentences)
            impossible = bool(item.get("impossible") or item.get("expect_refusal"))
            if impossible or selection.best is None:
                label = 0
            elif item.get("answers"):
                label = int(contains_answer(text, item["answers"]))
            else:
                wanted = [w.lower() for w in item.get("expect_any", [])]
                source = item.get("expect_source")
                label = int(any(w in text.lower() for w in wanted)
                            and (source is None or any(c.source == source for c in citations)))
            group = item.get("doc") or item.get("expect_source") or path.stem
            print(json.dumps({
                "id": f"{path.stem}:{item['id']}",
                "group": f"{path.stem}:{group}",
                "impossible": impossible,
                "label": label,
                "hard_fail": bool(selection.check and selection.check.hard_fail),
                "features": {k: round(v, 5) for k, v in selection.features.items()},
            }), flush=True)
    return 0


def _candidates(service, path: Path) -> None:
    from attache.retrieval.answer import scored
    from attache.retrieval.evaluate import contains_answer, read_questions
    from attache.retrieval.scoring import judge
    from attache.retrieval.search import CANDIDATES

    retriever = service.retriever
    idf = service._idf_for(retriever)
    for item in read_questions(path):
        if not item.get("answers"):
            continue
        question = " ".join(item["question"].split())
        vector = service.embedder.embed_query(question)
        passages = retriever.search(question, CANDIDATES, vector=vector)
        prof, _, ranked = scored(question, passages, idf, query_vector=vector,
                                 cache=service._analyses)
        print(json.dumps({
            "id": f"{path.stem}:{item['id']}",
            "group": f"{path.stem}:{item.get('doc') or path.stem}",
            "candidates": [
                {"label": int(contains_answer(j.candidate.text, item["answers"])),
                 "features": {k: round(v, 5) for k, v in j.rank_values.items()}}
                for j in judge(prof, ranked, idf)
            ],
        }), flush=True)


if __name__ == "__main__":
    sys.exit(main())
