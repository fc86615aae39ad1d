"""One typed configuration object, grouped by pipeline stage.

Precedence (lowest to highest): defaults here, a TOML file (``--config FILE``,
``$RAG_CONFIG``, or ``rag.toml`` in the project root), then environment
variables ``RAG_<SECTION>__<FIELD>`` (for example ``RAG_RETRIEVAL__K=8`` or
``RAG_PATHS__INDEX_DIR=/data/idx``). Relative paths are resolved against the
project root, so the CLI behaves the same from any working directory.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from rag.errors import BadInputError

PROJECT_ROOT = Path(__file__).resolve().parents[1]

EMBEDDING_SHA256 = "cbf5a78393b6a033e0b8a63a57549964f7ed5c6fbeb4ba0694214f36123f2fd2"
LLM_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"


@dataclass(frozen=True)
class PathsConfig:
    corpus_dir: Path = Path("seeds")
    index_dir: Path = Path("index")
    models_dir: Path = Path("models")
    runs_dir: Path = Path("eval/runs")
    # `rag eval` builds (incrementally) its own index of seeds/ + eval/corpus/ here.
    eval_index_dir: Path = Path("eval/index")


@dataclass(frozen=True)
class ChunkingConfig:
    chunk_size: int = 700  # characters
    chunk_overlap: int = 120


@dataclass(frozen=True)
class EmbeddingConfig:
    # A sentence-transformers folder; relative paths live under paths.models_dir.
    model_path: Path = Path("embeddinggemma-300m")
    model_id: str = "google/embeddinggemma-300m"
    backend: str = "sentence-transformers"  # a key of rag.embed.BACKENDS
    # sha256 of the weights file (model.safetensors); empty disables the check.
    sha256: str = EMBEDDING_SHA256
    batch_size: int = 8
    max_seq_length: int = 512
    dimension: int = 768  # Matryoshka: 512/256/128 are valid truncations
    # "auto": the GPU when torch sees one (cuda, then mps), else the CPU; or name one
    # ("cpu", "cuda", "cuda:1", "mps"). `rag index status` shows the one in use.
    device: str = "auto"


@dataclass(frozen=True)
class IndexConfig:
    # Each `rag index add` writes one segment; past this many, the small ones are
    # merged into one (compaction; `rag index compact` merges all of them).
    max_segments: int = 8
    # Share of deleted rows (removed or replaced articles) above which the next
    # write compacts everything, so searches do not skip over dead rows.
    max_deleted_share: float = 0.25
    # A build commits its vectors to a checkpoint every this many passages; a killed
    # build resumes from there (at most this many passages are embedded again).
    checkpoint_passages: int = 256
    # Near-duplicates (reprints, lightly edited copies): an article whose estimated
    # Jaccard similarity of word 4-gram shingles (MinHash) to an indexed one reaches
    # this is stored once, as a copy of it (rag.ingest.dedup); 0 turns folding off.
    near_duplicate_threshold: float = 0.6


@dataclass(frozen=True)
class RetrievalConfig:
    # dense | lexical | hybrid (rag.retrieve.hybrid.MODES). Dense is the default:
    # on the gold set hybrid fusion lowered hit@1 (see eval/README.md).
    mode: str = "dense"
    k: int = 5  # passages shown to the model
    # Below this cosine score the best passage is taken as "nothing relevant".
    min_score: float = 0.30


@dataclass(frozen=True)
class GenerationConfig:
    model_path: Path = Path("qwen2.5-coder-1.5b-instruct-q4_k_m.gguf")
    model_id: str = "Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF:Q4_K_M"
    sha256: str = LLM_SHA256
    n_ctx: int = 4096
    n_threads: int = 0  # 0: all cores
    max_tokens: int = 200
    temperature: float = 0.0
    # Tokens of passages in the prompt (the best passage always goes in whole). Chosen
    # from the eval's curve (eval/experiments/context-budget.md): 250 against 900 was
    # 2.5x faster to the first token and more accurate (a 1.5B model is distracted by
    # more text).
    context_budget_tokens: int = 250
    trim_context: bool = True  # passages after the first: best sentences only
    mode: str = "generative"  # or "extractive": best sentences, no LLM
    verify: bool = True  # check each answer sentence against its passages
    # When no generated sentence survives verification: "abstain" says the sources do
    # not answer; "extractive" answers with the passages' best sentences instead (and
    # says so: kind "extractive-fallback"). On the gold set the fallback rescued 2
    # answers and made 5 hallucinations out of refusals (eval/experiments/).
    fallback: str = "abstain"
    # The answer step (rag.generate.registry): "quote" (the default) lets the model draft
    # and checks each sentence like "free", then answers with the source sentence the
    # checked draft rests on, verbatim (English: the draft, names spelled as the
    # source's); "free" shows the checked draft itself. On the 163 gold questions quote
    # answered more right than free (same refusals, same generation); the retired
    # "select" strategy refused too many answerable ones (eval/experiments/answer-step.md).
    strategy: str = "quote"


@dataclass(frozen=True)
class LimitsConfig:
    max_question_chars: int = 1000
    max_upload_bytes: int = 5_000_000


@dataclass(frozen=True)
class UIConfig:
    host: str = "127.0.0.1"  # any other address, or share, needs a password
    port: int = 7860
    share: bool = False
    title: str = "Kazakhstan space news — ask the articles"  # the page's title and heading
    username: str = "rag"  # the login when there is a password
    password: str = field(default="", repr=False)  # set it with $RAG_UI__PASSWORD
    read_only: bool = False  # no upload or removal (hidden, and refused by the server)
    max_queue: int = 32  # questions waiting for the model; more are refused
    allowed_hosts: str = ""  # comma-separated Host values allowed besides loopback names


@dataclass(frozen=True)
class ServerConfig:
    """`rag serve`: the HTTP API (OpenAI-compatible, REST, MCP over streamable HTTP)."""

    host: str = "127.0.0.1"  # any other address needs api_key
    port: int = 8000
    # A Bearer token checked on every route but /healthz; empty: none. Set it with
    # $RAG_SERVER__API_KEY or `rag serve --api-key-file`, not on the command line.
    api_key: str = field(default="", repr=False)
    read_only: bool = False  # refuse uploads and deletes
    cors_origins: str = ""  # comma-separated origins allowed by CORS; empty: CORS off
    max_body_bytes: int = 1_000_000  # any request body but uploads
    max_upload_request_bytes: int = 20_000_000  # one POST /v1/documents (each file: limits)
    max_pending: int = 64  # answers waiting for the model; more get 503
    max_messages: int = 100  # messages in one chat completion request
    max_history_turns: int = 20  # earlier question/answer pairs in one request
    max_turn_chars: int = 20_000  # characters of one earlier question or answer
    workers: int = 4  # threads that run model and index work (the rest wait in the queue)
    # Host values allowed besides this machine's loopback names (comma-separated,
    # "name:port"); a request naming another host is refused (DNS rebinding).
    allowed_hosts: str = ""
    max_connections: int = 256  # open connections (uvicorn's limit_concurrency); more: 503
    keep_alive_s: int = 5  # an idle connection is closed after this
    max_header_bytes: int = 16_384  # request line and headers (h11)
    model_name: str = "kzspace-rag"  # the model id /v1/models lists


@dataclass(frozen=True)
class ScaleConfig:
    """The heavy stages on a Ray cluster (the optional extra: ``pip install -e .[scale]``)."""

    engine: str = "local"  # "local" (one process, no Ray) or "ray"
    ray_address: str = ""  # a cluster to join ("auto", "ray://h:10001", "h:6379"); empty:
    # $RAY_ADDRESS, else a local Ray starts with this machine's CPUs
    embed_actors: int = 1  # the build's embedding actor pool (each loads the model once)
    embed_cpus: float = 1.0  # CPUs per embedding actor (also its torch threads)
    load_cpus: float = 1.0  # CPUs per file read/clean/chunk task
    replicas: int = 1  # `rag serve --engine ray`: replicas at start
    min_replicas: int = 0  # autoscaling bounds; 0 with max 0: a fixed number (replicas)
    max_replicas: int = 0
    replica_cpus: float = 1.0  # CPUs per answering replica (also its model threads)
    target_ongoing_requests: float = 2.0  # per replica, what autoscaling aims at


# The settings with a fixed set of values, checked once, when a Config is made (loaded
# or replaced), so a bad value is a one-line error at start, not on every request.
# retrieval.mode: the keys of rag.retrieve.hybrid.MODES (a unit test keeps them equal);
# scale.engine: also rag.scale.ENGINES (case and spaces ignored, as --engine ignores them).
CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("retrieval", "mode"): ("dense", "lexical", "hybrid"),
    ("generation", "mode"): ("generative", "extractive"),
    ("generation", "fallback"): ("abstain", "extractive"),
    ("scale", "engine"): ("local", "ray"),
}


@dataclass(frozen=True)
class Config:
    paths: PathsConfig = field(default_factory=PathsConfig)
    chunking: ChunkingConfig = field(default_factory=ChunkingConfig)
    embedding: EmbeddingConfig = field(default_factory=EmbeddingConfig)
    index: IndexConfig = field(default_factory=IndexConfig)
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    generation: GenerationConfig = field(default_factory=GenerationConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    ui: UIConfig = field(default_factory=UIConfig)
    server: ServerConfig = field(default_factory=ServerConfig)
    scale: ScaleConfig = field(default_factory=ScaleConfig)

    def __post_init__(self) -> None:
        for (section, name), allowed in CHOICES.items():
            value = getattr(getattr(self, section), name)
            if (value.strip().lower() if section == "scale" else value) not in allowed:
                raise BadInputError(
                    f"config: {section}.{name} must be one of {', '.join(allowed)}, got {value!r}"
                )

    # -- resolved paths -------------------------------------------------
    def resolve(self, path: Path) -> Path:
        path = Path(os.path.expanduser(path))
        return path if path.is_absolute() else PROJECT_ROOT / path

    @property
    def corpus_dir(self) -> Path:
        return self.resolve(self.paths.corpus_dir)

    @property
    def index_dir(self) -> Path:
        return self.resolve(self.paths.index_dir)

    @property
    def models_dir(self) -> Path:
        return self.resolve(self.paths.models_dir)

    @property
    def eval_index_dir(self) -> Path:
        return self.resolve(self.paths.eval_index_dir)

    @property
    def runs_dir(self) -> Path:
        return self.resolve(self.paths.runs_dir)

    def _model(self, path: Path) -> Path:
        path = Path(os.path.expanduser(path))
        return path if path.is_absolute() else self.models_dir / path

    @property
    def embedding_path(self) -> Path:
        return self._model(self.embedding.model_path)

    @property
    def llm_path(self) -> Path:
        return self._model(self.generation.model_path)

    @property
    def threads(self) -> int:
        return self.generation.n_threads or (os.cpu_count() or 2)

    def with_overrides(self, overrides: dict[str, dict[str, Any]]) -> Config:
        """A copy with ``{section: {field: value}}`` applied, values coerced to field types."""
        sections = {}
        for section_name, values in overrides.items():
            section = getattr(self, section_name, None)
            if section is None or section_name.startswith("_"):
                raise BadInputError(f"config: unknown section [{section_name}]")
            kinds = {f.name: f.type for f in fields(section)}
            changed = {}
            for name, value in values.items():
                if name not in kinds:
                    raise BadInputError(f"config: unknown setting {section_name}.{name}")
                changed[name] = _coerce(value, getattr(section, name), f"{section_name}.{name}")
            sections[section_name] = replace(section, **changed)
        return replace(self, **sections)


SECRETS = (("server", "api_key"), ("ui", "password"))


def public_dict(config: Config) -> dict[str, Any]:
    """The config as JSON-ready values (paths as str) with every secret replaced by
    "<redacted>": what run records and logs may hold."""
    import json
    from dataclasses import asdict

    out: dict[str, Any] = json.loads(json.dumps(asdict(config), default=str))
    for section, name in SECRETS:
        if out[section][name]:
            out[section][name] = "<redacted>"
    return out


def _coerce(value: Any, current: Any, name: str) -> Any:
    try:
        if isinstance(current, bool):
            if isinstance(value, str):
                if value.lower() in {"1", "true", "yes", "on"}:
                    return True
                if value.lower() in {"0", "false", "no", "off"}:
                    return False
                raise ValueError(value)
            return bool(value)
        if isinstance(current, Path):
            return Path(value)
        return type(current)(value)
    except (TypeError, ValueError):
        raise BadInputError(
            f"config: {name} must be a {type(current).__name__}, got {value!r}"
        ) from None


def _env_overrides(environ: dict[str, str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for key, value in environ.items():
        if key.startswith("RAG_") and "__" in key:
            section, _, name = key[4:].partition("__")
            out.setdefault(section.lower(), {})[name.lower()] = value
    return out


def load_config(path: Path | str | None = None, environ: dict[str, str] | None = None) -> Config:
    """Defaults, then the TOML file, then ``RAG_SECTION__FIELD`` environment variables."""
    environ = dict(os.environ if environ is None else environ)
    config = Config()
    file = Path(path) if path else None
    if file is None and environ.get("RAG_CONFIG"):
        file = Path(environ["RAG_CONFIG"])
    if file is None and (PROJECT_ROOT / "rag.toml").is_file():
        file = PROJECT_ROOT / "rag.toml"
    if file is not None:
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BadInputError(f"config file not found: {file}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise BadInputError(f"config file {file} is not valid TOML: {exc}") from None
        config = config.with_overrides(data)
    return config.with_overrides(_env_overrides(environ))
