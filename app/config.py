"""Settings read from environment variables, each with a documented default."""
from __future__ import annotations

import os
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
    index_dir: str = str(ROOT / "var" / "index")
    database_url: str = f"sqlite:///{ROOT / 'var' / 'lba.sqlite'}"
    demo_scale: str = "national"
    demo_dir: str = str(ROOT / "var" / "demo")
    port: int = 8000
    ratelimit_path: str = str(ROOT / "var" / "ratelimit.sqlite")
    anonymous_rate: int = 10
    ranking_weights: str = ""

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        """Read the settings from `environ` (default: the process environment).

        LBA_DATA_DIR   reference data directory (default ../shared/data when it exists)
        SEARCH_ENGINE  embedded | elasticsearch | opensearch (default embedded)
        SEARCH_URL     URL of the Elasticsearch/OpenSearch cluster (unused by the embedded engine)
        LBA_INDEX_DIR  directory of the embedded engine's index generations (default var/index)
        DATABASE_URL   transactional store (default sqlite:///var/lba.sqlite)
        DEMO_SCALE     small | national (default national)
        LBA_DEMO_DIR   where demo source files are written and read (default var/demo)
        PORT           HTTP port of the service (default 8000)
        LBA_RATELIMIT_PATH  shared rate-limit counters (default var/ratelimit.sqlite)
        LBA_ANONYMOUS_RATE  requests per second allowed per IP without an API key (default 10)
        LBA_RANKING_WEIGHTS TOML file overriding ranking weights (default: the built-in weights)
        """
        env = os.environ if environ is None else environ
        base = cls()
        port = _int(env, "PORT", base.port)
        anonymous_rate = _int(env, "LBA_ANONYMOUS_RATE", base.anonymous_rate)
        settings = cls(
            data_dir=env.get("LBA_DATA_DIR") or base.data_dir,
            search_engine=env.get("SEARCH_ENGINE", base.search_engine).strip().lower(),
            search_url=env.get("SEARCH_URL", base.search_url),
            index_dir=env.get("LBA_INDEX_DIR") or base.index_dir,
            database_url=env.get("DATABASE_URL") or base.database_url,
            demo_scale=env.get("DEMO_SCALE", base.demo_scale).strip().lower(),
            demo_dir=env.get("LBA_DEMO_DIR") or base.demo_dir,
            port=port,
            ratelimit_path=env.get("LBA_RATELIMIT_PATH") or base.ratelimit_path,
            anonymous_rate=anonymous_rate,
            ranking_weights=env.get("LBA_RANKING_WEIGHTS", base.ranking_weights),
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
        if self.search_engine != "embedded" and not self.search_url:
            raise ConfigError(f"SEARCH_URL is required when SEARCH_ENGINE={self.search_engine}")
