from pathlib import Path

import pytest

from rag.config import PROJECT_ROOT, load_config
from rag.errors import BadInputError


def test_defaults_resolve_against_the_project_root() -> None:
    config = load_config(environ={})
    assert config.index_dir == PROJECT_ROOT / "index"
    assert config.llm_path.parent == PROJECT_ROOT / "models"
    assert config.retrieval.k == 5


def test_file_then_environment_override(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[retrieval]\nk = 8\n[paths]\nmodels_dir = "/opt/m"\n[ui]\nshare = true\n')
    config = load_config(path, environ={"RAG_RETRIEVAL__K": "3", "RAG_UI__PORT": "9000"})
    assert config.retrieval.k == 3  # env beats the file
    assert config.ui.port == 9000 and config.ui.share is True
    assert config.embedding_path == Path("/opt/m/embeddinggemma-300m")


def test_config_from_environment_variable(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[chunking]\nchunk_size = 500\n")
    assert load_config(environ={"RAG_CONFIG": str(path)}).chunking.chunk_size == 500


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"RAG_NOPE__X": "1"}, "unknown section"),
        ({"RAG_RETRIEVAL__NOPE": "1"}, "unknown setting retrieval.nope"),
        ({"RAG_UI__SHARE": "maybe"}, "ui.share must be a bool"),
    ],
)
def test_bad_overrides_are_user_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(BadInputError, match=message):
        load_config(environ=env)


def test_missing_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="not found"):
        load_config(tmp_path / "none.toml", environ={})
    bad = tmp_path / "bad.toml"
    bad.write_text("[x\n")
    with pytest.raises(BadInputError, match="not valid TOML"):
        load_config(bad, environ={})
