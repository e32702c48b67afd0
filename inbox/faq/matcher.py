"""Ranks FAQ entries for a customer message and says how sure it is.

Two signals per entry, each the best over its question and alternative phrasings:
- semantic: cosine of multilingual sentence embeddings (paraphrase, word order);
- lexical: TF-IDF cosine over character 2- and 3-grams of the text without whitespace, so Korean
  spacing (`배송비얼마에요` / `배송비 얼마예요`), particles and English typos keep most grams.
A logistic model over both and the lead over the runner-up turns them into a confidence that
is calibrated on the calibration set in bench/faq_data and checked on a held-out set there
(see bench/faq.py).
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
# the held-out set never takes part); the order is bias, semantic, lexical, margin over the
# second-best entry.
WEIGHTS = (-4.7, 6.77, 3.05, 4.63)
SEMANTIC_SHARE = 0.6  # how much the embedding counts when ranking entries
# The lowest threshold at which the calibration set answers >= 90 % right and <= 3 % of its
# out-of-scope questions (headroom under the 5 % target for questions unlike the set).
DEFAULT_THRESHOLD = 0.72

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
    margin: float


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
