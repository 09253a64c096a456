"""docker-compose.yml parses and wires the app and scheduler to Elasticsearch (no Docker engine runs here)."""
from __future__ import annotations

from pathlib import Path

import yaml

from app.config import ENGINES

COMPOSE = Path(__file__).resolve().parent.parent / "docker-compose.yml"


def test_compose_file_wires_app_scheduler_and_elasticsearch():
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    assert set(services) == {"app", "scheduler", "elasticsearch"}
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
