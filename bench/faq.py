"""FAQ matcher quality and speed on the labelled set in bench/faq_data.

    .venv/bin/python bench/faq.py            # both sets at the default threshold + time per match
    .venv/bin/python bench/faq.py --no-timing  # quality only (the 1,000-entry timing is slow)
    .venv/bin/python bench/faq.py --fit      # refit the confidence model on the calibration set
    .venv/bin/python bench/faq.py --fit --calibration-only --no-timing  # ...without seeing held-out

Two question sets over the same 40 entries (20 topics, English and Korean):
- calibration (questions.csv, 454 questions, 210 out of scope, 110 of those near-domain: things
  customers of the shop ask that no entry answers, sharing words with an entry): the confidence
  model's WEIGHTS and DEFAULT_THRESHOLD were fitted and chosen on it, so its figures are
  optimistic; which FEATURES the model reads is chosen by the 5-fold log-loss printed for it;
- held-out (heldout.csv, 187 questions, 57 out of scope): written later from the customers' side
  (paraphrases, typos, spacing and particle variants, mixed English/Korean) and never used to fit
  or tune anything — its figures are the honest ones.
Targets (issue 7): >= 90 % correct among answered, <= 5 % of out-of-scope answered,
< 5 ms per match with 1,000 entries.
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from inbox.faq.encoder import SentenceEncoder  # noqa: E402
from inbox.faq.matcher import (  # noqa: E402
    DEFAULT_THRESHOLD,
    FEATURES,
    WEIGHTS,
    EntryText,
    Match,
    Matcher,
    confidence,
    language_of,
)
from inbox.faq.transfer import read_entries  # noqa: E402

DATA = ROOT / "bench" / "faq_data"


SETS = {"calibration": "questions.csv", "held-out": "heldout.csv"}


def labelled_set(
    name: str = "calibration",
) -> tuple[list[EntryText], list[tuple[str, int | None]]]:
    """The entries (ids 1..40 in file order) and (question, expected entry id or None)."""
    raw = read_entries(DATA / "entries.yaml")
    ids = {e["question"]: i for i, e in enumerate(raw, start=1)}
    entries = [
        EntryText(i, e["language"], (e["question"], *e.get("alternatives", [])))
        for i, e in enumerate(raw, start=1)
    ]
    with (DATA / SETS[name]).open(encoding="utf-8") as handle:
        questions = [
            (row["text"], ids[row["expected"]] if row["expected"] else None)
            for row in csv.DictReader(handle)
        ]
    return entries, questions


def evaluate(results: list[tuple[Match | None, int | None]], threshold: float) -> dict[str, float]:
    answered = [(m, want) for m, want in results if m is not None and m.confidence > threshold]
    in_scope = [r for r in results if r[1] is not None]
    out_scope = [r for r in results if r[1] is None]
    correct = sum(1 for m, want in answered if m.entry_id == want)
    return {
        "precision": correct / len(answered) if answered else 1.0,
        "answered_in_scope": sum(1 for m, w in answered if w is not None) / len(in_scope),
        "recall": correct / len(in_scope),
        "out_of_scope_answered": sum(1 for m, w in answered if w is None) / len(out_scope),
        "top1_in_scope": sum(1 for m, w in in_scope if m and m.entry_id == w) / len(in_scope),
    }


def fit(results: list[tuple[Match | None, int | None]]) -> list[float]:
    """Logistic regression of "the top entry is right" on the matcher's FEATURES."""
    x, y = design(results)
    return [round(float(v), 2) for v in logistic(x, y)]


def design(results: list[tuple[Match | None, int | None]]) -> tuple[np.ndarray, np.ndarray]:
    """The features of each top match (with a leading 1) and whether it is the right entry."""
    found = [(m, want) for m, want in results if m is not None]
    x = np.array([(1.0, *m.features()) for m, _ in found])
    y = np.array([1.0 if m.entry_id == want else 0.0 for m, want in found])
    return x, y


def logistic(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    w = np.zeros(x.shape[1])
    for _ in range(20_000):
        p = 1 / (1 + np.exp(-x @ w))
        w -= 0.5 * (x.T @ (p - y) / len(y) + 1e-3 * np.r_[0, w[1:]])
    return w


def cross_validated_log_loss(results: list[tuple[Match | None, int | None]]) -> float:
    """5-fold log-loss of the confidence model on the calibration set (how features are chosen)."""
    x, y = design(results)
    folds = np.random.default_rng(0).permutation(len(y)) % 5
    predicted = np.zeros(len(y))
    for k in range(5):
        w = logistic(x[folds != k], y[folds != k])
        predicted[folds == k] = 1 / (1 + np.exp(-x[folds == k] @ w))
    predicted = np.clip(predicted, 1e-9, 1 - 1e-9)
    return float(-np.mean(y * np.log(predicted) + (1 - y) * np.log(1 - predicted)))


def chosen_threshold(results: list[tuple[Match | None, int | None]]) -> float | None:
    """The lowest threshold (0.01 steps) answering >= 90 % right and <= 3 % out of scope."""
    for step in range(30, 100):
        r = evaluate(results, step / 100)
        if r["precision"] >= 0.90 and r["out_of_scope_answered"] <= 0.03:
            return step / 100
    return None


def synthetic_entries(count: int, seed: int = 7) -> list[EntryText]:
    rng = random.Random(seed)
    verbs = [
        "change",
        "cancel",
        "renew",
        "upgrade",
        "order",
        "return",
        "repair",
        "register",
        "transfer",
        "activate",
        "pause",
        "share",
        "download",
        "print",
        "book",
        "refill",
    ]
    things = [
        "subscription",
        "gift card",
        "warranty",
        "rental",
        "bundle",
        "voucher",
        "ticket",
        "parcel",
        "membership",
        "device",
        "plan",
        "battery",
        "lens",
        "filter",
        "charger",
    ]
    ko = ["구독", "상품권", "보증", "렌탈", "묶음상품", "바우처", "티켓", "소포", "멤버십", "기기"]
    ko_verbs = ["변경", "취소", "연장", "업그레이드", "주문", "반납", "수리", "등록", "이전"]
    out = []
    for i in range(count):
        if i % 2:
            v, t = rng.choice(ko_verbs), rng.choice(ko)
            texts = (f"{t} {v} 어떻게 하나요 {i}", f"{t} {v}하고 싶어요 {i}", f"{t}{v} 방법 {i}")
            out.append(EntryText(1000 + i, "ko", texts))
        else:
            v, t = rng.choice(verbs), rng.choice(things)
            texts = (f"How do I {v} my {t} {i}?", f"Can I {v} a {t} {i}", f"{t} {v} help {i}")
            out.append(EntryText(1000 + i, "en", texts))
    return out


def time_per_match(entries: list[EntryText], questions: list[str]) -> tuple[float, float, float]:
    """Mean ms per match for questions new to the encoder and again with their vectors cached,
    and the index build time. (The encoder caches vectors by normalised text, so appending a
    space does not make a question new: a fresh encoder does.)"""
    start = time.perf_counter()
    matcher = Matcher(entries + synthetic_entries(1000 - len(entries)), encoder=SentenceEncoder())
    built = time.perf_counter() - start
    warm, timed = questions[:20], list(dict.fromkeys(questions[20:]))
    for q in warm:
        matcher.rank(q, language=language_of(q))
    means = []
    for _ in ("new", "cached"):
        timings = []
        for q in timed:
            began = time.perf_counter()
            matcher.rank(q, language=language_of(q))
            timings.append((time.perf_counter() - began) * 1000)
        means.append(statistics.mean(timings))
    return means[0], means[1], built


def top_matches(
    matcher: Matcher, questions: list[tuple[str, int | None]]
) -> list[tuple[Match | None, int | None]]:
    """The matcher's best entry for each question, with the expected entry."""
    results = []
    for text, want in questions:
        found = matcher.rank(text, limit=2, language=language_of(text))
        results.append((found[0] if found else None, want))
    return results


def rescored(
    results: list[tuple[Match | None, int | None]], weights: list[float]
) -> list[tuple[Match | None, int | None]]:
    """The same matches with their confidence recomputed under other weights."""
    return [
        (replace(m, confidence=confidence(m.features(), weights)) if m else None, want)
        for m, want in results
    ]


def report(
    name: str, questions: list[tuple[str, int | None]], results: list, verbose: bool
) -> None:
    """Print one set's figures at several thresholds and its wrong answers."""
    in_scope = sum(1 for _, w in questions if w is not None)
    print(
        f"\n{name} set: {len(questions)} questions "
        f"({in_scope} in scope, {len(questions) - in_scope} out of scope)"
    )
    print("threshold  correct-among-answered  answered(in scope)  recall  out-of-scope-answered")
    for threshold in sorted({0.3, 0.5, 0.6, 0.7, 0.8, 0.9, DEFAULT_THRESHOLD}):
        r = evaluate(results, threshold)
        mark = "  <- default" if abs(threshold - DEFAULT_THRESHOLD) < 1e-9 else ""
        print(
            f"  {threshold:.2f}      {r['precision']:6.1%}"
            f"                {r['answered_in_scope']:6.1%}"
            f"        {r['recall']:6.1%}  {r['out_of_scope_answered']:6.1%}{mark}"
        )
    print(f"top-1 accuracy on in-scope questions: {evaluate(results, 0)['top1_in_scope']:.1%}")
    if not verbose:
        return
    for (text, want), (m, _) in zip(questions, results, strict=True):
        if m and m.confidence > DEFAULT_THRESHOLD and m.entry_id != want:
            print(f"  wrong answer: {text!r} -> entry {m.entry_id} ({m.confidence:.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit", action="store_true", help="refit on the calibration set")
    parser.add_argument("--no-timing", action="store_true", help="skip the 1,000-entry timing")
    parser.add_argument("--misses", action="store_true", help="list wrong answers")
    parser.add_argument(
        "--calibration-only", action="store_true", help="print nothing about the held-out set"
    )
    args = parser.parse_args()
    entries, calibration = labelled_set("calibration")
    _, held_out = labelled_set("held-out")
    matcher = Matcher(entries)
    results = {"calibration": top_matches(matcher, calibration)}
    results["held-out"] = top_matches(matcher, held_out)
    weights = list(WEIGHTS)
    if args.fit:  # the held-out set never takes part in fitting
        weights = fit(results["calibration"])
        print(f"WEIGHTS = {tuple(weights)}  (fitted on the calibration set only)")
        results = {name: rescored(found, weights) for name, found in results.items()}
        print(
            f"calibration rule picks DEFAULT_THRESHOLD = {chosen_threshold(results['calibration'])}"
        )
    else:
        print(f"weights {tuple(weights)}, default threshold {DEFAULT_THRESHOLD}")
    print(f"features {FEATURES}; 5-fold log-loss on the calibration set ", end="")
    print(f"{cross_validated_log_loss(results['calibration']):.4f}")
    print(f"{len(entries)} entries")
    report("calibration", calibration, results["calibration"], args.misses)
    if not args.calibration_only:
        report("held-out", held_out, results["held-out"], args.misses)
    if not args.no_timing:
        questions = [q for q, _ in calibration + held_out]
        new_ms, cached_ms, built = time_per_match(entries, questions)
        print(f"\ntime per match with 1,000 entries: {new_ms:.2f} ms", end="")
        print(f" (question's vector already cached: {cached_ms:.2f} ms)", end="")
        print(f" (index built in {built:.1f} s)")


if __name__ == "__main__":
    main()
