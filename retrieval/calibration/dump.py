"""Dump the answerability features of every question of a question file, with its label.

    ATTACHE_DATA_DIR=.attache-squad python -m attache.retrieval.calibration.dump \\
        ../shared/eval/squad2-public/questions.jsonl > retrieval/calibration/squad2.jsonl

One line per question: `id`, `group` (the document it is about, for cross-validation
by article), `impossible`, `label` (1 when the answer the product would give is right:
it holds a gold answer, or the expected string and source; 0 for an unanswerable
question), `hard_fail` (a hard check refuses it), `features`. Run in one process over an
index of the documents the questions are about (the seeds for the seeds' questions).
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
    args = parser.parse_args(argv)
    service = Attache(load_settings())
    for path in args.questions:
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


if __name__ == "__main__":
    sys.exit(main())
