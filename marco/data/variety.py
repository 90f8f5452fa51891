"""Variety audit: what kinds of request a chat set holds, and how much of it one kind takes.

The seed project's third root cause was "limited conversation variety" (grammar explanations, little culture or
conversation), which distinct-n and top openings cannot show: they measure the wording, not what is asked. So the
requests are grouped into kinds and the report gives each kind's share, top words and examples.

A request is the first user turn of a conversation: it sets what the conversation is about, and one vote per
conversation keeps long chats and their follow-ups ("thanks", "and X?") from weighing more. The deduplicated
conversations are grouped (copies would count a request twice) and each kind's share is given among them and among
the kept ones (what training sees, and what the warning is about).

Method, model-free: TF-IDF of words and word pairs (EN/IT/ES/FR/DE stop words removed) reduced by LSA (truncated
SVD, Deerwester et al. 1990), the recipe of scikit-learn's document-clustering example, then k-means with k chosen
by the silhouette (Rousseeuw 1987) over 2..MAX_KINDS. With `score_model`: mean-pooled last hidden states of that
causal LM (SGPT, Muennighoff 2022), less their mean (Mu & Viswanath, ICLR 2018), instead of LSA. Concentration: the
largest kind's share and the effective number of kinds exp(Shannon entropy) (Hill 1973). Cost is bounded at any size:
everything is measured on a seeded sample of at most SAMPLE requests, so shares are estimates beyond that (a 95%
margin of at most 1.4 points).
"""

import functools

import numpy as np

from .fork import Forked, can_fork

SAMPLE = 5_000  # requests grouped and counted: shares within 1.4 points (95%), at a cost that does not grow
SEARCH = 1_000  # of them, the ones k is chosen on (the silhouette is quadratic in its points)
MAX_KINDS = 12  # more than a dozen kinds is more than a person reads, and no longer "one kind holds most"
MIN_REQUESTS = 20  # fewer: too few to speak of kinds
DIMENSIONS = 100  # LSA components
TOP_WORDS = 6
EXAMPLE_CHARS = 160
_SEED = 0


@functools.lru_cache(maxsize=1)
def stop_words() -> frozenset:
    """scikit-learn's English list and the stop-words package's Italian, Spanish, French and German, normalised as
    the requests are (so "don't" is "dont")."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
    from stop_words import get_stop_words

    from .text import normalize_many

    words = set(ENGLISH_STOP_WORDS).union(*(get_stop_words(lang) for lang in ("italian", "spanish", "french", "german")))
    return frozenset(w for text in normalize_many(sorted(words)) for w in text.split())


def _word_vectors(texts: list[str]):
    """(TF-IDF matrix, its terms); None when no word occurs in two requests."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, stop_words=list(stop_words()),
                                 token_pattern=r"(?u)\b[^\W\d_]{2,}\b", dtype=np.float32)
    try:
        return vectorizer.fit_transform(texts), vectorizer.get_feature_names_out()
    except ValueError:  # "empty vocabulary" / "no terms remain"
        return None


def _lsa(matrix) -> np.ndarray:
    from sklearn.decomposition import TruncatedSVD
    from sklearn.preprocessing import normalize

    if matrix.shape[1] <= DIMENSIONS:
        return normalize(matrix.toarray())
    return normalize(TruncatedSVD(DIMENSIONS, random_state=_SEED).fit_transform(matrix))


def model_vectors(texts: list[str], model_name: str, batch_size: int = 32, max_length: int = 64) -> np.ndarray:
    """Mean-pooled last hidden states of a causal LM (a Hub id, a folder or marco-tiny), centred, unit length."""
    import torch
    from sklearn.preprocessing import normalize
    from transformers import AutoModel, AutoTokenizer

    from marco.tiny import resolve

    tokenizer = AutoTokenizer.from_pretrained(resolve(model_name))
    tokenizer.pad_token = tokenizer.pad_token or tokenizer.eos_token
    model = AutoModel.from_pretrained(resolve(model_name)).eval()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model.to(device)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths together: little padding
    pooled = np.zeros((len(texts), model.config.hidden_size), np.float32)
    for first in range(0, len(order), batch_size):
        batch = order[first: first + batch_size]
        encoded = tokenizer([texts[i] or " " for i in batch], padding=True, truncation=True, max_length=max_length,
                            return_tensors="pt").to(device)
        with torch.no_grad():
            hidden = model(input_ids=encoded["input_ids"], attention_mask=encoded["attention_mask"]).last_hidden_state
        mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled[batch] = ((hidden * mask).sum(1) / mask.sum(1).clamp(min=1)).float().cpu().numpy()
    return normalize(pooled - pooled.mean(0))


def kinds(vectors: np.ndarray) -> tuple[np.ndarray, float | None]:
    """(kind of each vector, silhouette of the grouping, None for one kind): k-means for each k in 2..MAX_KINDS on
    up to SEARCH of them, the k of the best silhouette refitted on all from its centres."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    rng = np.random.default_rng(_SEED)
    search = vectors[np.sort(rng.choice(len(vectors), SEARCH, replace=False))] if len(vectors) > SEARCH else vectors
    distinct = len(np.unique(search.round(5), axis=0))
    best = (-2.0, None)
    for k in range(2, min(MAX_KINDS, distinct, len(search) - 1) + 1):
        fit = KMeans(k, n_init=1, random_state=_SEED).fit(search)
        best = max(best, (silhouette_score(search, fit.labels_), k, fit), key=lambda b: b[0])
    if best[1] is None:
        return np.zeros(len(vectors), np.int64), None
    fit = KMeans(best[1], init=best[2].cluster_centers_, n_init=1, random_state=_SEED).fit(vectors)
    return np.unique(fit.labels_, return_inverse=True)[1].astype(np.int64), round(float(best[0]), 4)


def distinctive_words(matrix, terms, labels: np.ndarray, kind: int) -> list[str]:
    """The words (not pairs) whose mean TF-IDF weight is highest in the kind over the rest: what sets it apart."""
    inside = labels == kind
    if matrix is None or not inside.any():
        return []
    lift = np.asarray(matrix[inside].mean(0)).ravel()
    if (~inside).any():
        lift = lift - np.asarray(matrix[~inside].mean(0)).ravel()
    ranked = [i for i in np.argsort(-lift, kind="stable") if lift[i] > 0 and " " not in terms[i]]
    return [str(terms[i]) for i in ranked[:TOP_WORDS]]


def concentration(counts: np.ndarray) -> dict:
    """Largest share and effective number of kinds, exp(entropy) (Hill 1973): 1 for one kind, k for k equal ones."""
    total = counts.sum()
    if not total:
        return {"requests": 0, "largest_share": 0.0, "effective_kinds": 0.0}
    shares = counts[counts > 0] / total
    return {"requests": int(total), "largest_share": round(float(shares.max()), 4),
            "effective_kinds": round(float(np.exp(-(shares * np.log(shares)).sum())), 2)}


def _examples(vectors, labels, kind, texts, positions, originals, names) -> list[dict]:
    """The two requests nearest the kind's centre, with different texts, as written and named."""
    members = np.flatnonzero(labels == kind)
    centre = vectors[members].mean(0)
    chosen, seen = [], set()
    for i in members[np.argsort(-(vectors[members] @ centre), kind="stable")]:
        if texts[i] not in seen:
            seen.add(texts[i])
            chosen.append(int(positions[i]))
        if len(chosen) == 2:
            break
    return [{"name": names[p], "text": " ".join(text.split())[:EXAMPLE_CHARS]} for p, text in zip(chosen, originals(chosen))]


def requests(corpus, distinct: list) -> tuple[np.ndarray, list[str]]:
    """(row positions, normalised first user turns) of a seeded sample of at most SAMPLE of the deduplicated
    conversations (row positions `distinct`)."""
    positions = np.asarray(distinct, np.int64)
    if len(positions) > SAMPLE:
        positions = np.sort(np.random.default_rng(_SEED).choice(positions, SAMPLE, replace=False))
    roles = [corpus.roles[p] for p in positions.tolist()]
    return positions, [turns[initials.index("u")] for turns, initials in zip(corpus.spill.turns(positions), roles)]


def group(positions: np.ndarray, texts: list[str], names: list, originals, score_model: str | None = None) -> dict:
    """The kinds of the sampled requests (what needs no rejection but the duplicates'): each one's label, top words
    and examples. `originals(positions)`: those rows' first user turns as written; `names`: every row's name."""
    found = {"method": f"mean-pooled hidden states of {score_model}" if score_model else
             f"TF-IDF words and word pairs, LSA ({DIMENSIONS} dimensions)",
             "sampled": len(positions), "clusters": []}
    if len(positions) < MIN_REQUESTS:
        return {**found, "note": f"{len(positions)} requests: too few to group into kinds (at least {MIN_REQUESTS})"}
    from threadpoolctl import threadpool_limits

    vectors = model_vectors(texts, score_model) if score_model else None
    with threadpool_limits(1):  # the clean's other process has the other core; BLAS threads on small matrices only wait
        words = _word_vectors(texts)
        matrix, terms = words if words else (None, None)
        if vectors is None and matrix is None:
            return {**found, "note": "no word occurs in two requests: nothing to group them on"}
        vectors = _lsa(matrix) if vectors is None else vectors
        labels, found["silhouette"] = kinds(vectors)
    found["labels"] = labels.astype(np.uint8)  # small: a forked child's result fits the pipe and it exits at once
    found["clusters"] = [{"top_words": distinctive_words(matrix, terms, labels, kind),
                          "examples": _examples(vectors, labels, kind, texts, positions, originals, names)}
                         for kind in range(labels.max() + 1)]
    return found


def summary(found: dict, positions: np.ndarray, rows: list, warn_share: float) -> dict:
    """The report's variety section from group()'s kinds and the final rejections: each kind's count and share
    among the deduplicated and the kept requests, largest first, the concentration of both, and the warning."""
    labels = found.pop("labels", None)
    found = {**found, "warn_share": warn_share, "warning": None}
    if labels is None:
        return found
    labels = labels.astype(np.int64)
    kept = np.array([rows[p].rejection is None for p in positions.tolist()], bool)
    counts, kept_counts = np.bincount(labels), np.bincount(labels[kept], minlength=labels.max() + 1)
    found["deduplicated"], found["kept"] = concentration(counts), concentration(kept_counts)
    found["clusters"] = [{"label": " · ".join(found["clusters"][kind]["top_words"][:3]) or "(no distinctive words)",
                          **found["clusters"][kind], "count": int(counts[kind]),
                          "share": round(counts[kind] / counts.sum(), 4), "kept": int(kept_counts[kind]),
                          "kept_share": round(kept_counts[kind] / max(1, kept_counts.sum()), 4)}
                         for kind in np.lexsort((-counts, -kept_counts)).tolist()]
    found["warning"] = warning(found)
    return found


class Grouping:
    """group() while the rest of the clean runs, in a forked process where it pays (scikit-learn's import alone is
    ~1.7 s, a tenth of a 100k clean); in this process with a model (a forked child must not run torch) or a small
    set. `result()` adds what needs the final rejections."""

    def __init__(self):
        self.pending = None

    def start(self, corpus, distinct: list, originals) -> None:
        """The sample is read here (the child touches no file the parent writes), grouped there."""
        self.rows, self.warn_share, self.deduplicated = corpus.rows, corpus.cfg.variety_warn_share, len(distinct)
        self.positions, texts = requests(corpus, distinct)
        work = functools.partial(group, self.positions, texts, corpus.names, originals, corpus.cfg.score_model)
        self.pending = Forked(work) if can_fork(len(distinct)) and not corpus.cfg.score_model else work

    def stop(self) -> None:
        if isinstance(self.pending, Forked):
            self.pending.stop()

    def result(self) -> dict:
        found = self.pending.result() if isinstance(self.pending, Forked) else self.pending()
        return summary({"deduplicated_requests": self.deduplicated, **found}, self.positions, self.rows, self.warn_share)


def warning(found: dict) -> str | None:
    """One line when one kind holds more than `warn_share` of the kept requests (of the deduplicated ones when
    nothing is kept)."""
    by = "kept" if found["kept"]["requests"] else "deduplicated"
    top = max(found["clusters"], key=lambda c: c["kept_share" if by == "kept" else "share"])
    share = top["kept_share" if by == "kept" else "share"]
    if share <= found["warn_share"]:
        return None
    before = f" ({top['share']:.0%} of the deduplicated)" if by == "kept" else ""
    example = f', e.g. "{top["examples"][0]["text"][:100]}"' if top["examples"] else ""
    return (f"one kind of request holds {share:.0%} of the {by} conversations{before}: {top['label']}{example}; "
            f"{found[by]['effective_kinds']} effective kinds of request")
