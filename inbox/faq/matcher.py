"""Ranks FAQ entries for a customer message and says how sure it is.

Two signals per entry, each the best over its question and alternative phrasings:
- semantic: cosine of multilingual sentence embeddings (paraphrase, word order);
- lexical: TF-IDF cosine over character 2- and 3-grams of the text without whitespace, so Korean
  spacing (`배송비얼마에요` / `배송비 얼마예요`), particles and English typos keep most grams.
A logistic model turns them into a confidence that is calibrated on the calibration set in
bench/faq_data and checked on a held-out set there (see bench/faq.py). Besides the semantic
score it reads three things that tell "about the same topic" from "answered by this entry":
the lead over the runner-up (combined and semantic alone: a question between two entries is
about neither) and how much of the question's content the entry's wording covers (a near-domain
question such as "can I pay on delivery" shares "pay" with the payment entry, but its other
content words are in no phrasing of it).
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

# Fitted by `python bench/faq.py --fit` on the calibration set only (bench/faq_data/questions.csv;
# the held-out set never takes part); the order is the bias, then FEATURES.
FEATURES = ("semantic", "margin", "coverage", "semantic_margin")
WEIGHTS = (-3.88, 3.44, 2.92, 3.24, 2.59)
SEMANTIC_SHARE = 0.6  # how much the embedding counts when ranking entries
# The lowest threshold at which the calibration set answers >= 90 % right and <= 3 % of its
# out-of-scope questions (headroom under the 5 % target for questions unlike the set).
DEFAULT_THRESHOLD = 0.76

_HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")
_NOT_WORD = re.compile(r"[^\w]+", re.UNICODE)
# Stock question and request wording says nothing about the topic, but in a small knowledge base
# its grams are rare and so weigh like content ("배송 비용 알려주세요" went to the one entry that
# also ends in 알려주세요). The lexical signal reads the text without them; the embedding still
# sees the whole sentence.
_STOCK_KO = re.compile(
    r"(알려\s*주세요|알려\s*줘요|가르쳐\s*주세요|어떻게\s*(하나요|해요|하죠|되나요|돼요|되죠|하면\s*돼요)"
    r"|하고\s*싶어요|하고\s*싶은데요?|싶어요|궁금해요|궁금합니다|할\s*수\s*있나요|할\s*수\s*있어요"
    r"|가능한가요|가능해요|가능할까요|되나요|돼요|있나요|있어요|인가요|이에요|예요|에요|주세요|해주세요)"
    r"\s*$"
)
_STOCK_EN = frozenset(
    "a an the i me my we our you your it is are am do does did can could would will "
    "how what when where which to of for in on with please pls hi hello there "
    "be i'm im want need know tell".split()
)


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
    margin: float  # combined score's lead over the next entry
    semantic_margin: float  # semantic score's lead over the best other entry
    coverage: float  # idf-weighted share of the question's grams found in the entry's wording

    def features(self) -> tuple[float, ...]:
        """The confidence model's inputs, in the order of FEATURES."""
        return tuple(float(getattr(self, name)) for name in FEATURES)


def language_of(text: str) -> str:
    """`ko` when the text has Hangul, else `en` (the two languages the bot speaks)."""
    return "ko" if _HANGUL.search(text) else "en"


def normalise(text: str) -> str:
    """NFKC, lower case, punctuation as spaces, whitespace collapsed."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return " ".join(_NOT_WORD.sub(" ", folded).replace("_", " ").split())


def content_text(text: str) -> str:
    """The normalised text without stock question wording (falls back to all of it)."""
    content = normalise(text)
    for _ in range(2):  # "…하고 싶어요" then "…가능한가요" style double endings
        content = _STOCK_KO.sub("", content).strip()
    return content or normalise(text)


def char_grams(text: str) -> Counter[str]:
    """Character 2- and 3-grams of the content text with its whitespace removed."""
    squashed = content_text(text).replace(" ", "")
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
        self.sizes = np.array([len(e.phrasings) for e in self.entries], dtype=np.int64)
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

    def _lexical(self, text: str) -> tuple[np.ndarray, _QueryGrams]:
        """TF-IDF cosine of `text` with every phrasing, and the text's known grams."""
        query = np.zeros(len(self.vocabulary), dtype=np.float32)
        norm = total_idf = 0.0
        for gram, count in char_grams(text).items():
            col = self.vocabulary.get(gram)
            idf = self.idf[col] if col is not None else self.unknown_idf
            weight = (1 + math.log(count)) * idf
            norm += weight * weight
            total_idf += idf
            if col is not None:
                query[col] = weight
        grams = _QueryGrams(np.where(query > 0, self.idf, 0.0), total_idf)
        if norm == 0.0:
            return np.zeros(self.grams.shape[0], dtype=np.float32), grams
        return np.asarray(self.grams @ (query / math.sqrt(norm))).ravel(), grams

    def _coverage(self, index: int, grams: _QueryGrams) -> float:
        """The idf-weighted share of the question's grams that any phrasing of the entry has."""
        if grams.total_idf == 0.0:
            return 0.0
        pointers = self.grams.indptr
        first, last = self.starts[index], self.starts[index] + self.sizes[index]
        wording = np.unique(self.grams.indices[pointers[first] : pointers[last]])
        return float(grams.idf[wording].sum() / grams.total_idf)

    def rank(self, text: str, limit: int = 3, language: str | None = None) -> list[Match]:
        """The best entries for `text`, most confident first (same-language entries only,
        when there are any: the answer must be in the customer's language)."""
        if not self.entries or not normalise(text):
            return []
        query = self.encoder.encode([normalise(text)])[0]
        with single_blas_thread():  # type: ignore[attr-defined]
            semantic_rows = self.vectors @ query
        semantic = np.maximum.reduceat(semantic_rows, self.starts)
        lexical_rows, grams = self._lexical(text)
        lexical = np.maximum.reduceat(lexical_rows, self.starts)
        combined = SEMANTIC_SHARE * semantic + (1 - SEMANTIC_SHARE) * lexical
        eligible = semantic
        if language is not None:
            same = self.languages == language
            if same.any():
                combined = np.where(same, combined, -np.inf)
                eligible = np.where(same, semantic, -np.inf)
        order = [i for i in np.argsort(-combined)[: max(limit, 2)] if np.isfinite(combined[i])]
        semantic_top = [i for i in np.argsort(-eligible)[:2] if np.isfinite(eligible[i])]
        matches = []
        for rank, index in enumerate(order[:limit]):
            runner_up = order[rank + 1] if rank + 1 < len(order) else None
            margin = combined[index] - (combined[runner_up] if runner_up is not None else 0.0)
            other = [eligible[i] for i in semantic_top if i != index][:1]
            features = {
                "semantic": float(semantic[index]),
                "margin": float(margin),
                "coverage": self._coverage(index, grams),
                "semantic_margin": float(semantic[index] - (other[0] if other else 0.0)),
            }
            matches.append(
                Match(
                    entry_id=self.entries[index].entry_id,
                    confidence=confidence([features[name] for name in FEATURES]),
                    lexical=float(lexical[index]),
                    **features,
                )
            )
        return matches


@dataclass(frozen=True)
class _QueryGrams:
    idf: np.ndarray  # per vocabulary column: its idf where the question has the gram, else 0
    total_idf: float  # idf of all the question's grams, unknown ones included


def confidence(features: Sequence[float], weights: Sequence[float] = WEIGHTS) -> float:
    """The calibrated probability that the top entry is the right answer (FEATURES' order)."""
    value = weights[0] + sum(w * f for w, f in zip(weights[1:], features, strict=True))
    return float(_sigmoid(float(value)))


def _sigmoid(value: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, value))))
