#!/usr/bin/env python3
"""The pipeline of the README's "Python pipelines" section, end to end, against a running registry:

    prompts written by people, each with the pipeline's own id (external_id)
      -> k answers to each from two teacher models (registered first), naming their prompt by that
         id, so that prompts and answers go in one ingest
      -> a best-of-k mix under the default policy
      -> the mix exported as JSON Lines
      -> a student model registered as trained on that mix (generation 1)
      -> the student's own answers, at generation 2

Run it with an ``ingest`` (or ``admin``) key:

    PYTHONPATH=clients/python python3 clients/python/examples/pipeline.py \\
        --server http://127.0.0.1:8080 --key "$(cat data/admin.key)" --out mix.jsonl

The teachers and the student are stand-ins (templates, so that the script needs nothing but the
standard library); in a real pipeline they are calls to your models.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from collections import Counter
from collections.abc import Iterator

import pedigree

TOPICS = ["photosynthesis", "the water cycle", "plate tectonics", "compound interest", "vaccination",
          "binary search", "the French revolution", "supply and demand", "black holes", "recursion",
          "climate feedback loops", "public key cryptography"]
AUDIENCES = ["a child", "a new student", "a nurse", "a farmer", "a retired engineer", "a journalist",
             "a teenager", "a lawyer", "a chef", "a pilot"]
WORDS = ("energy light water ground pressure money time cells signal pattern balance growth change "
         "heat layer market orbit memory rule step example picture story question reason").split()


PROMPTS = "pipeline-prompts"


def prompts() -> Iterator[dict]:
    """The human prompts: 12 topics x 10 audiences = 120, above the default policy's floor of 100
    human samples, each with the pipeline's own id, unique in its dataset. A generator: the client
    never needs the whole list."""
    for t, topic in enumerate(TOPICS):
        for a, audience in enumerate(AUDIENCES):
            yield {
                "text": f"Explain {topic} to {audience}, in a few sentences.",
                "origin": "human",
                "dataset": PROMPTS,
                "external_id": f"q{t:02d}-{a:02d}",
                "source": {"kind": "private", "name": "prompt-writers", "license": "CC-BY-4.0"},
            }


def answer(model: str, prompt: str, k: int, rng: random.Random) -> str:
    """A stand-in for a call to a model: text whose length and lexical diversity vary."""
    body = " ".join(rng.choice(WORDS) for _ in range(rng.randint(12, 60)))
    return f"{model} answer {k} to '{prompt}': {body}."


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", default=os.environ.get("PEDIGREE_URL", "http://127.0.0.1:8080"))
    ap.add_argument("--key", default=os.environ.get("PEDIGREE_KEY"), help="an ingest or admin key (default $PEDIGREE_KEY)")
    ap.add_argument("--out", default="mix.jsonl", help="where to write the exported mix")
    ap.add_argument("--answers-per-teacher", type=int, default=2)
    ap.add_argument("--student-version", default="1", help="a model's name@version is unique: give a new one to run again")
    ap.add_argument("--json", action="store_true", help="print a JSON summary as the last line")
    args = ap.parse_args(argv)
    if not args.key:
        ap.error("--key or $PEDIGREE_KEY is required")

    reg = pedigree.Client(args.server, args.key)
    rng = random.Random(7)

    # 1. Two teachers, trained outside the registry: their generation is declared (0).
    teachers = ["teacher-a@1", "teacher-b@1"]
    for ref in teachers:
        name, version = ref.split("@")
        try:
            reg.create_model(name, version, provider="Acme", declared_generation=0)
        except pedigree.ProblemError as e:
            if e.code != "conflict":  # already registered by an earlier run: keep it
                raise

    # 2. Each prompt (written by people: generation 0), followed by k answers from each teacher.
    #    An answer names its prompt by the prompt's external_id (prompt_id makes the answers one
    #    best-of-k group), so no prompt id is awaited: prompts and answers go in one ingest, which
    #    batches any iterable (a prompt and its answers may land in different batches) and answers
    #    one result per input, in order, with the id the registry gave it.
    def prompts_and_answers() -> Iterator[dict]:
        for p in prompts():
            yield p
            for model in teachers:
                for k in range(args.answers_per_teacher):
                    yield {"text": answer(model, p["text"], k, rng), "origin": "model", "model": model,
                           "dataset": "pipeline-answers", "external_id": f"{p['external_id']}/{model}/{k}",
                           "prompt_id": pedigree.ext(p["external_id"], dataset=PROMPTS)}

    records = reg.ingest(prompts_and_answers(), batch_size=256, progress=pedigree.TextProgress(label="samples"))
    prompt_records = [r for r in records if r.dataset == PROMPTS]
    answer_records = [r for r in records if r.dataset == "pipeline-answers"]
    print(f"{len(prompt_records)} prompts, generation {prompt_records[0].generation}; "
          f"{len(answer_records)} answers, generation {answer_records[0].generation}, "
          f"k={answer_records[-1].best_of_k.k if answer_records[-1].best_of_k else '?'}")
    # The pipeline's own ids stay usable: lookup() answers what they became (an ingest key may).
    found = reg.lookup(external_ids=[pedigree.ext("q00-00", dataset=PROMPTS)])
    print(f"prompt q00-00 is sample {found[0].id if found else None}")

    # 3. A best-of-k mix under the default policy: of each prompt's answers only the one with the
    #    highest MTLD is eligible; the policy caps the synthetic share (0.5) and each model's share
    #    (0.25) and requires 100 human samples. A dry run first says what the policy would decide.
    request = dict(size=10_000, seed=7, strategy=pedigree.best_of_k("mtld"),
                   filter={"datasets": [PROMPTS, "pipeline-answers"]})
    dry = reg.build_mix(**request, dry_run=True)
    if not dry.allowed:
        print("the policy would refuse the mix:", *dry.violations, sep="\n  ")
        return 1
    try:
        mix = reg.build_mix(**request)
    except pedigree.PolicyDeniedError as e:
        print(f"refused (decision {e.decision_id}):", *e.violations, sep="\n  ")
        return 1
    s = mix.stats
    print(f"mix {mix.id}: {mix.size} samples, {s.human} human, {s.synthetic} synthetic "
          f"(ratio {s.synthetic_ratio:.2f}), by model {s.models}, policy {mix.policy}")

    # 4. Export: a streaming iterator of dicts, in manifest order, in constant memory. Or straight
    #    to a file that datasets.load_dataset("json", data_files=...) reads.
    generations: Counter[int] = Counter()
    for line in reg.export(mix.id):
        generations[line["generation"]] += 1
    written = reg.export_to_file(mix.id, args.out)
    print(f"exported {sum(generations.values())} lines ({written} bytes to {args.out}), generations {dict(generations)}")

    # 5. The student, trained on the mix: its generation is the highest sample generation in its
    #    mixes (1: the teachers' answers), with basis "declared" because the teachers' rests on a
    #    declaration.
    try:
        student = reg.create_model("student", args.student_version, provider="us", trained_on=[mix.id])
    except pedigree.ProblemError as e:
        if e.code == "conflict":
            print(f"student@{args.student_version} is already registered (model {e.existing}): "
                  "run again with another --student-version", file=sys.stderr)
            return 1
        raise
    print(f"student {student.ref}: generation {student.generation} ({student.generation_basis})")

    # 6. The student's answers to the same prompts, which they name by external_id again (no list
    #    of prompt records kept): 1 + max(student 1, prompt 0) = generation 2.
    outputs = reg.ingest(
        ({"text": answer("student", p["text"], 0, rng), "origin": "model", "model": student.ref,
          "dataset": "pipeline-student", "external_id": f"{p['external_id']}/{student.ref}",
          "prompt_id": pedigree.ext(p["external_id"], dataset=PROMPTS)} for p in prompts()),
        batch_size=100,
    )
    gens = Counter(o.generation for o in outputs)
    print(f"{len(outputs)} student outputs, generations {dict(gens)}")

    summary = {"prompts": len(prompt_records), "answers": len(answer_records), "mix_id": mix.id,
               "mix_size": mix.size, "human": s.human, "synthetic": s.synthetic, "models": s.models,
               "manifest_sha256": mix.manifest_sha256, "export_lines": sum(generations.values()),
               "export_generations": {str(k): v for k, v in sorted(generations.items())},
               "export_bytes": written, "student": student.ref, "student_generation": student.generation,
               "student_basis": student.generation_basis, "student_output_generations": {str(k): v for k, v in gens.items()},
               "student_output_ids": [o.id for o in outputs[:3]],
               "q00-00": found[0].id if found else None}
    if args.json:
        print(json.dumps(summary))
    if (gens != Counter({2: len(prompt_records)}) or student.generation != 1
            or [o.prompt_id for o in outputs] != [p.id for p in prompt_records]
            or not found or found[0].id != prompt_records[0].id):
        print("unexpected generations", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
