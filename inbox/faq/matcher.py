"""Ranks FAQ entries for a customer message and says how sure it is.

Two signals per entry, each the best over its question and alternative phrasings:
- semantic: cosine of multilingual sentence embeddings (paraphrase, word order);
- lexical: TF-IDF cosine over character 2- and 3-grams of the text without whitespace, so Korean
  spacing (`배송비얼마에요` / `배송비 얼마예요`), particles and English typos keep most grams.
A logistic model over both and the lead over the runner-up turns them into a confidence that
is calibrated on the labelled set in bench/faq_data (see bench/faq.py).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix

from inbox.faq.encoder import ENCODER, SentenceEncoder, single_blas_thread

# Fitted by `python bench/faq.py --fit` on the labelled set; the order is bias, semantic,
# lexical, margin over the second-best entry.
WEIGHTS = (-4.78, 7.31, 1.28, 5.37)
SEMANTIC_SHARE = 0.6  # how much the embedding counts when ranking entries
DEFAULT_THRESHOLD = 0.72  # bench/faq.py: >= 90 % right when answering, <= 5 % out of scope

_HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")
_NOT_WORD = re.compile(r"[^\w]+", re.UNICODE)


@dataclass(frozen=True)
class EntryText:
    """What the matcher needs of an entry: its id, language and every phrasing."""

    entry_id: int
    language: str
    phrasings: tuple[str, ...]


@dataclass(frozen=True)
class Match:
    entry_id: int
    confidence: float
    semantic: float
    lexical: float
    margin: float


def language_of(text: str) -> str:
    """`ko` when the text has Hangul, else `en` (the two languages the bot speaks)."""
    return "ko" if _HANGUL.search(text) else "en"


def normalise(text: str) -> str:
    """NFKC, lower case, punctuation as spaces, whitespace collapsed."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return " ".join(_NOT_WORD.sub(" ", folded).replace("_", " ").split())


def char_grams(text: str) -> Counter[str]:
    """Character 2- and 3-grams of the text with its whitespace removed."""
    squashed = normalise(text).replace(" ", "")
    grams: Counter[str] = Counter()
    for n in (2, 3):
        grams.update(squashed[i : i + n] for i in range(len(squashed) - n + 1))
    if len(squashed) == 1:
        grams[squashed] += 1
    return grams


class Matcher:
    """An immutable index of entries; build a new one when entries change."""

    def __init__(self, entries: Sequence[EntryText], encoder: SentenceEncoder = ENCODER) -> None:
        self.encoder = encoder
        self.entries = [e for e in entries if e.phrasings]
        texts = [normalise(p) or p for e in self.entries for p in e.phrasings]
        self.starts = np.cumsum([0] + [len(e.phrasings) for e in self.entries[:-1]])
        self.languages = np.array([e.language for e in self.entries])
        self.vectors = encoder.encode(texts) if texts else np.zeros((0, 512), np.float32)
        self._build_grams(texts)

    def __len__(self) -> int:
        return len(self.entries)

    def _build_grams(self, texts: list[str]) -> None:
        counts = [char_grams(t) for t in texts]
        documents: Counter[str] = Counter()
        for grams in counts:
            documents.update(grams.keys())
        self.vocabulary = {gram: i for i, gram in enumerate(documents)}
        total = len(texts)
        self.idf = np.array(
            [math.log((1 + total) / (1 + documents[g])) + 1 for g in self.vocabulary],
            dtype=np.float32,
        )
        self.unknown_idf = math.log(1 + total) + 1
        rows, cols, values = [], [], []
        for row, grams in enumerate(counts):
            weights = {self.vocabulary[g]: (1 + math.log(c)) for g, c in grams.items()}
            norm = math.sqrt(sum((w * self.idf[col]) ** 2 for col, w in weights.items())) or 1.0
            for col, w in weights.items():
                rows.append(row)
                cols.append(col)
                values.append(w * self.idf[col] / norm)
        self.grams = csr_matrix(
            (values, (rows, cols)), shape=(total, len(self.vocabulary)), dtype=np.float32
        )

    def _lexical(self, text: str) -> np.ndarray:
        query = np.zeros(len(self.vocabulary), dtype=np.float32)
        norm = 0.0
        for gram, count in char_grams(text).items():
            col = self.vocabulary.get(gram)
            weight = (1 + math.log(count)) * (
                self.idf[col] if col is not None else self.unknown_idf
            )
            norm += weight * weight
            if col is not None:
                query[col] = weight
        if norm == 0.0:
            return np.zeros(self.grams.shape[0], dtype=np.float32)
        return np.asarray(self.grams @ (query / math.sqrt(norm))).ravel()

    def rank(self, text: str, limit: int = 3, language: str | None = None) -> list[Match]:
        """The best entries for `text`, most confident first (same-language entries only,
        when there are any: the answer must be in the customer's language)."""
        if not self.entries or not normalise(text):
            return []
        query = self.encoder.encode([normalise(text)])[0]
        with single_blas_thread():  # type: ignore[attr-defined]
            semantic_rows = self.vectors @ query
        semantic = np.maximum.reduceat(semantic_rows, self.starts)
        lexical = np.maximum.reduceat(self._lexical(text), self.starts)
        combined = SEMANTIC_SHARE * semantic + (1 - SEMANTIC_SHARE) * lexical
        if language is not None:
            same = self.languages == language
            if same.any():
                combined = np.where(same, combined, -np.inf)
        order = np.argsort(-combined)[: max(limit, 2)]
        order = [i for i in order if np.isfinite(combined[i])]
        matches = []
        for rank, index in enumerate(order[:limit]):
            runner_up = order[rank + 1] if rank + 1 < len(order) else None
            margin = combined[index] - (combined[runner_up] if runner_up is not None else 0.0)
            matches.append(
                Match(
                    entry_id=self.entries[index].entry_id,
                    confidence=confidence(semantic[index], lexical[index], margin),
                    semantic=float(semantic[index]),
                    lexical=float(lexical[index]),
                    margin=float(margin),
                )
            )
        return matches


def confidence(
    semantic: float, lexical: float, margin: float, weights: Sequence[float] = WEIGHTS
) -> float:
    """The calibrated probability that the top entry is the right answer."""
    bias, w_semantic, w_lexical, w_margin = weights
    value = bias + w_semantic * semantic + w_lexical * lexical + w_margin * margin
    return float(_sigmoid(float(value)))


def _sigmoid(value: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, value))))
