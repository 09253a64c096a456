"""docker-compose.yml parses and wires nginx, the app, the scheduler, Elasticsearch and Redis (no Docker engine)."""
from __future__ import annotations

from pathlib import Path

import yaml

from app.config import ENGINES

COMPOSE = Path(__file__).resolve().parent.parent / "docker-compose.yml"


def test_compose_file_wires_app_scheduler_and_elasticsearch():
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    assert set(services) == {"migrate", "app", "scheduler", "worker", "elasticsearch", "nginx", "redis"}
    assert services["migrate"]["command"] == ["lba", "db", "upgrade"]
    assert services["worker"]["command"] == ["lba", "worker"]
    for name in ("app", "worker"):  # nothing serves or sends before the store is migrated
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["elasticsearch"]["image"].startswith("docker.elastic.co/elasticsearch/elasticsearch:8.")
    assert services["elasticsearch"]["environment"]["discovery.type"] == "single-node"
    for name in ("app", "scheduler"):
        service = services[name]
        env = service["environment"]
        assert env["SEARCH_ENGINE"] in ENGINES and env["SEARCH_ENGINE"] == "elasticsearch"
        assert env["SEARCH_URL"].endswith("@elasticsearch:9200")
        assert service["depends_on"]["elasticsearch"]["condition"] == "service_healthy"
        assert "../shared/data:/data:ro" in service["volumes"]
    assert services["app"]["command"] == ["lba", "serve"]
    assert services["scheduler"]["command"] == ["lba", "scheduler"]
    declared = set(compose["volumes"])
    for service in services.values():
        named = {v.split(":")[0] for v in service.get("volumes", []) if not v.startswith((".", "/"))}
        assert named <= declared
    assert (COMPOSE.parent / "Dockerfile").is_file()


def test_compose_puts_a_buffering_nginx_in_front_and_shares_limits_through_redis():
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    nginx, app = services["nginx"], services["app"]
    assert "ports" not in app and app["expose"] == ["8000"]  # the app is reached only through nginx
    assert any(p.endswith(":8080") for p in nginx["ports"])
    mount = next(v for v in nginx["volumes"] if v.endswith(":/etc/nginx/nginx.conf:ro"))
    config = (COMPOSE.parent / mount.split(":")[0]).read_text()
    assert "server app:8000" in config and "listen 8080" in config
    for directive in ("proxy_request_buffering on", "client_header_timeout", "X-Forwarded-For",
                      "X-Request-Id $request_id", "client_max_body_size"):
        assert directive in config
    assert app["environment"]["LBA_TRUSTED_PROXIES"] == "1"  # exactly the one nginx hop
    for name in ("app", "scheduler"):
        assert services[name]["environment"]["LBA_RATELIMIT_STORAGE"] == "redis://redis:6379/0"
    assert services["app"]["depends_on"]["redis"]["condition"] == "service_healthy"
