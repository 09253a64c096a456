"""Demo data is never a silent production default: explicit LBA_DEMO=1, and no production import of demo code."""
from __future__ import annotations

import ast
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from app.config import Settings
from app.store import upgraded_store
from indexers.job_settings import JobSettings
from indexers.pipeline import run_job

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = ("app", "indexers", "mappings", "ranking")


def test_without_demo_mode_no_source_defaults_to_the_demo_files(tmp_path):
    from indexers.sources import DEMO_FILES
    settings = replace(Settings.from_env({}), demo_dir=str(tmp_path))
    plain = JobSettings.from_env(settings, {})
    assert (plain.ft_offers_file, plain.catalogue_source, plain.recruiters_source) == ("", "", "")
    demo = JobSettings.from_env(replace(settings, demo=True), {})
    assert demo.catalogue_source == str(tmp_path / settings.demo_scale / DEMO_FILES["formations"])
    assert Settings.from_env({"LBA_DEMO": "1"}).demo and not Settings.from_env({}).demo


@pytest.mark.parametrize("job, variable", [("formations", "LBA_CATALOGUE_SOURCE"),
                                           ("recruiters", "LBA_RECRUITERS_SOURCE"),
                                           ("offers", "LBA_FT_OFFERS_FILE")])
def test_a_job_without_its_source_fails_naming_the_variable(tmp_path, monkeypatch, job, variable):
    for name in ("LBA_FT_CLIENT_ID", "LBA_FT_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    settings = replace(Settings.from_env({}), index_dir=str(tmp_path / "index"),
                       database_url=f"sqlite:///{tmp_path / 'lba.sqlite'}", demo_dir=str(tmp_path / "demo"))
    upgraded_store(settings.database_url)
    result = run_job(job, settings=settings, job_settings=JobSettings.from_env(settings, {}))
    assert result.outcome == "failed"
    assert variable in (result.error or "") and "LBA_DEMO=1" in (result.error or "")


def test_configured_names_the_variable():
    from indexers.sources import SourceNotConfigured, configured
    assert configured("x.json", "LBA_CATALOGUE_SOURCE") == "x.json"
    with pytest.raises(SourceNotConfigured, match="LBA_RECRUITERS_SOURCE is not set"):
        configured("", "LBA_RECRUITERS_SOURCE")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_production_code_never_imports_scripts_or_demo_modules():
    offenders = []
    for package in PRODUCTION:
        for path in (ROOT / package).rglob("*.py"):
            for name in _imports(path):
                if name == "scripts" or name.startswith("scripts.") or "demo" in name.split("."):
                    offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert offenders == []
    assert not (ROOT / "indexers" / "demo.py").exists()


def test_importing_the_app_and_the_jobs_loads_no_demo_code():
    code = ("import sys, app.factory, indexers.pipeline, indexers.scheduler; "
            "bad = sorted(m for m in sys.modules if m == 'scripts' or m.startswith('scripts.') or 'demo' in m); "
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "LBA_EMBEDDING_MODEL": "none"})
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]


def test_lba_run_and_make_run_set_demo_mode():
    assert "LBA_DEMO=1 $(VENV)/bin/lba run" in (ROOT / "Makefile").read_text()
    assert 'os.environ["LBA_DEMO"] = "1"' in (ROOT / "scripts" / "cli.py").read_text()
