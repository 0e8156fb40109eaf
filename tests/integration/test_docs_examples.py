"""Every block marked `sh example` in README.md and docs/ runs, in order, against a fresh
`just up` (its ports and its `data/` files, in a directory of its own): each command ends with
status 0 and prints what its `# ->` line names. An example that stops working fails here."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINKED = ["justfile", ".venv", "proto", "buf.yaml", "docs"]  # what the examples and `up` use
PORTS = (50051, 8002, 8003)  # just up's: master-data gRPC and HTTP, cart
BLOCK = re.compile(r"^```sh example\n(.*?)^```$", re.MULTILINE | re.DOTALL)


@dataclass
class Step:
    """Commands up to a `# -> fragment` line (or a block's end), and the fragment."""

    page: str
    commands: str
    expected: str | None


def steps_of(page: Path) -> list[Step]:
    steps = []
    for block in BLOCK.findall(page.read_text()):
        lines: list[str] = []
        for line in block.splitlines():
            if line.startswith("# -> "):
                steps.append(Step(page.name, "\n".join(lines), line.removeprefix("# -> ")))
                lines = []
            else:
                lines.append(line)
        if any(line.strip() for line in lines):
            steps.append(Step(page.name, "\n".join(lines), None))
    return steps


def test_the_pages_have_examples() -> None:
    assert len(steps_of(ROOT / "README.md")) >= 8  # the quick tour
    assert all(step.commands.strip() for page in PAGES for step in steps_of(page))


@pytest.fixture
def just_up(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Path]:
    if request.config.getoption("--database") == "postgres":
        pytest.skip("`just up` runs on SQLite files; the SQLite pass runs the examples")
    for port in PORTS:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                pytest.fail(f"port {port} is in use: stop `just up` (or what holds it) first")
    for name in LINKED:
        (tmp_path / name).symlink_to(ROOT / name)
    with (tmp_path / "up.log").open("wb") as log:  # the child keeps its own descriptor
        up = subprocess.Popen(
            [str(ROOT / ".venv/bin/just"), "up"],
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
            process_group=0,
        )
    deadline = time.monotonic() + 60
    text = ""
    while time.monotonic() < deadline:
        text = (tmp_path / "up.log").read_text(errors="replace")
        if "master-data ready" in text and "cart ready" in text:
            break
        assert up.poll() is None, text
        time.sleep(0.1)
    else:
        pytest.fail(f"just up did not become ready:\n{text}")
    yield tmp_path
    os.killpg(up.pid, signal.SIGINT)  # what Ctrl-C does
    assert up.wait(30) in {0, 130}, (tmp_path / "up.log").read_text()  # 130: just's own word
    assert "Traceback" not in (tmp_path / "up.log").read_text()


def _run_page(folder: Path, steps: list[Step]) -> list[tuple[int, str]]:
    """The page's steps in one shell (variables carry over), each step's status and output."""
    outputs = folder / "outputs" / steps[0].page
    outputs.mkdir(parents=True)
    script = []
    for n, step in enumerate(steps):
        out = outputs / f"step-{n}.out"
        script.append(f"{{\n{step.commands}\n}} > {out} 2>&1\necho $? > {out}.status")
    subprocess.run(["bash", "-c", "\n".join(script)], cwd=folder, timeout=120, check=False)
    results = []
    for n in range(len(steps)):
        out = outputs / f"step-{n}.out"
        status = (outputs / f"step-{n}.out.status").read_text().strip()
        results.append((int(status), out.read_text(errors="replace")))
    return results


def test_every_example_runs_as_written(just_up: Path) -> None:
    failures = []
    for page in PAGES:
        steps = steps_of(page)
        if not steps:
            continue
        for step, (status, output) in zip(steps, _run_page(just_up, steps), strict=True):
            if status != 0 or (step.expected is not None and step.expected not in output):
                failures.append(
                    f"{step.page}:\n{step.commands}\n-> exit {status}, expected "
                    f"{step.expected!r} in:\n{output[-600:]}"
                )
    assert not failures, "\n\n".join(failures)
