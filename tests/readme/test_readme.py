"""Every ```console block of README.md, run as printed, prints what the README prints.

How the blocks run
  * In README order, as a newcomer who follows the README from the top: one fresh data
    directory for all of them (``XDG_DATA_HOME``, so the default SQLite store), from the
    repository root, with ``.venv/bin`` first on PATH (``make test`` creates it).
  * A line starting with ``$ `` is a command (ending in ``\\`` it goes on on the next line);
    the lines up to the next command are its output: stdout and stderr together, as a
    terminal shows them. Commands run with bash; one made only of ``NAME=value`` words sets
    variables for the commands after it.
  * ``make run`` serves until stopped: it is started on a free port, its output is read until
    uvicorn says it is running, later blocks' commands reach it on that port, and it is
    stopped (as with Ctrl-C) at the end of its section (the next ``## `` heading).
  * A command's exit status must be 0 unless its printed output has an ``error:`` line.

Directives: an HTML comment just before a block (blank lines between allowed)
  * ``<!-- readme-test: skip REASON -->``: the block is not run; every skipped block is
    listed with its reason and counted in the test's output. A block with no command and no
    skip fails: nothing is skipped silently.
  * ``<!-- readme-test: env NAME=VALUE ... -->``: environment of the block's commands (e.g.
    the fixed clock ``RATECARD_NOW`` the README's server figures were taken at).
  * ``<!-- readme-test: vary FIELD ... -->``: JSON fields whose values are measurements
    (seconds, events per second): ``"FIELD": value`` is compared without its value.
  * ``<!-- readme-test: today YYYY-MM-DD -->``: the day the block's output was recorded;
    that day and the 1st of the month after it stand for the run's today and the 1st of its
    next month (the dates a plan change "from today" or "next month" prints).

Matching (the README's lines against the run's, both normalized first)
  * Normalized, as legitimately variable: database URLs (``sqlite:///...``,
    ``postgresql://...``) and the data directory; auth tokens (32 hex digits after
    ``auth token``, ``auth token:``, ``"auth_token": "`` or a sid and a colon), where the
    README's token is also replaced by the run's in every later command; the server's port
    (as 8000).
  * Trailing whitespace of each line and trailing blank lines are ignored.
  * A line that is only ``...`` stands for any number of lines (none included).
  * A line ending in `` ...`` matches a line that starts with the text before `` ...``.
  * Every other line must be equal.
"""

from __future__ import annotations

import os
import queue
import re
import shlex
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
BIN = ROOT / ".venv" / "bin"
COMMAND_TIMEOUT = 120  # seconds; the whole README runs in well under a minute
SERVER_READY = "Uvicorn running on"
ASSIGNMENTS = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_]*=\S*\s*)+$")
DIRECTIVE = re.compile(r"<!--\s*readme-test:\s*(\w+)\s*(.*?)\s*-->")
TOKEN = re.compile(r'(auth[ _]token"?:?\s*"?|AC[0-9a-f]{32}:)([0-9a-f]{32})')
DATABASE = re.compile(r"sqlite:///\S*?\.db|postgresql(?:\+\w+)?://[^\s,)]+")


@dataclass
class Command:
    text: str
    expected: list[str] = field(default_factory=list)


@dataclass
class Block:
    line: int  # where the block starts in README.md (1-based)
    section: str  # the ``## `` heading it is under
    commands: list[Command]
    directives: dict[str, str]
    body: list[str]


def parse(text: str) -> list[Block]:
    """The console blocks of the README with their commands, outputs and directives."""
    blocks: list[Block] = []
    lines = text.splitlines()
    section = ""
    pending: dict[str, str] = {}
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("## "):
            section, pending = line[3:].strip(), {}
        for name, value in DIRECTIVE.findall(line):
            pending[name] = value
        if line.strip() == "```console":
            start, body = i + 1, []
            i += 1
            while lines[i].strip() != "```":
                body.append(lines[i])
                i += 1
            blocks.append(Block(start, section, _commands(body), pending, body))
            pending = {}
        elif line.strip() and not DIRECTIVE.search(line):
            pending = {}  # a directive belongs to the block right after it
        i += 1
    return blocks


def _commands(body: list[str]) -> list[Command]:
    commands: list[Command] = []
    lines = iter(body)
    for line in lines:
        if line.startswith("$ "):
            text = line[2:]
            while text.endswith("\\"):  # bash reads the backslash-newline as a continuation
                text += "\n" + next(lines)
            commands.append(Command(text))
        elif commands:
            commands[-1].expected.append(line)
    return commands


@dataclass
class Normalizer:
    """What is legitimately variable between the README's run and this one."""

    data: Path
    port: int = 8000
    tokens: dict[str, str] = field(default_factory=dict)  # README token -> this run's
    dates: dict[str, str] = field(default_factory=dict)  # recorded/run date -> placeholder

    def common(self, text: str, vary: list[str]) -> str:
        text = DATABASE.sub("<database>", text)
        text = TOKEN.sub(r"\1<token>", text)
        for name in vary:
            text = re.sub(rf'("{re.escape(name)}": )[^,}}]+', r"\1<varies>", text)
        return text

    def actual(self, text: str, vary: list[str], today: dict[str, str]) -> str:
        text = text.replace(str(self.data), "<data>")
        text = text.replace(f"127.0.0.1:{self.port}", "127.0.0.1:8000")
        text = text.replace(f"--port {self.port}", "--port 8000")
        for day, placeholder in today.items():
            text = text.replace(day, placeholder)
        return self.common(text, vary)

    def expected(self, text: str, vary: list[str], recorded: dict[str, str]) -> str:
        for day, placeholder in recorded.items():
            text = text.replace(day, placeholder)
        return self.common(text, vary)

    def command(self, text: str) -> str:
        for readme, ours in self.tokens.items():
            text = text.replace(readme, ours)
        return text.replace("127.0.0.1:8000", f"127.0.0.1:{self.port}")

    def learn_tokens(self, expected: str, actual: str) -> None:
        for (_, readme), (_, ours) in zip(
            TOKEN.findall(expected), TOKEN.findall(actual), strict=False
        ):
            self.tokens[readme] = ours


def matches(expected: list[str], actual: list[str]) -> bool:
    """The module docstring's matching rule: ``...`` lines and `` ...`` line ends."""

    def at(e: int, a: int) -> bool:
        if e == len(expected):
            return a == len(actual)
        want = expected[e]
        if want.strip() == "...":
            return any(at(e + 1, k) for k in range(a, len(actual) + 1))
        if a == len(actual):
            return False
        if want.endswith(" ..."):
            ok = actual[a].startswith(want[: -len(" ...")])
        else:
            ok = actual[a] == want
        return ok and at(e + 1, a + 1)

    return at(0, 0)


def _lines(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _first_of_next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _date_placeholders(day: date) -> dict[str, str]:
    return {day.isoformat(): "<today>", _first_of_next_month(day).isoformat(): "<next-month>"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _shell(command: str, env: dict[str, str]) -> dict[str, Any]:
    """How every command runs: bash, from the repository root, stdout and stderr as one."""
    return {
        "args": ["bash", "-c", command],
        "cwd": ROOT,
        "env": env,
        "stdout": subprocess.PIPE,
        "stderr": subprocess.STDOUT,
        "text": True,
    }


class Server:
    """``make run`` in the background: its output so far, and a Ctrl-C to stop it."""

    def __init__(self, command: str, env: dict[str, str]) -> None:
        # its own process group: make, ratecard and uvicorn are stopped together
        self.process = subprocess.Popen(**_shell(command, env), start_new_session=True)
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:  # read to the end, or the server blocks on logging
            self.lines.put(line)
        self.lines.put(None)

    def ready_output(self, timeout: float = 90) -> str:
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            seen.append(line)
            if SERVER_READY in line:
                return "".join(seen)
        self.stop()
        pytest.fail("make run did not start serving:\n" + "".join(seen))

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@dataclass
class Run:
    """The README being run: environment, shell variables, what was skipped, failures."""

    env: dict[str, str]
    normalizer: Normalizer
    variables: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    ran: int = 0
    server: Server | None = None
    server_section: str = ""


def _run_block(run: Run, block: Block) -> None:
    env = dict(run.env)
    for assignment in shlex.split(block.directives.get("env", "")):
        name, _, value = assignment.partition("=")
        env[name] = value
    vary = block.directives.get("vary", "").split()
    recorded = {}
    today: dict[str, str] = {}
    if "today" in block.directives:
        recorded = _date_placeholders(date.fromisoformat(block.directives["today"]))
        today = _date_placeholders(datetime.now(UTC).date())
    norm = run.normalizer
    for command in block.commands:
        text = norm.command(command.text)
        expected_text = "\n".join(command.expected)
        if ASSIGNMENTS.match(text.strip()):
            for word in shlex.split(text):
                name, _, value = word.partition("=")
                run.variables[name] = value
            continue
        run.ran += 1
        env.update(run.variables)
        if text.strip().startswith("make run"):
            env["PORT"] = str(norm.port)
            run.server = Server(text, env)
            run.server_section = block.section
            output, code = run.server.ready_output(), 0
        else:
            done = subprocess.run(**_shell(text, env), timeout=COMMAND_TIMEOUT, check=False)
            output, code = done.stdout, done.returncode
        norm.learn_tokens(expected_text, output)
        want = _lines(norm.expected(expected_text, vary, recorded))
        got = _lines(norm.actual(output, vary, today))
        place = f"README.md:{block.line} $ {command.text.splitlines()[0]}"
        if not matches(want, got):
            run.failures.append(
                f"{place}\n--- the README prints:\n"
                + "\n".join(want)
                + "\n--- the run printed:\n"
                + "\n".join(got)
            )
        expects_error = any(line.startswith("error:") for line in want)
        if (code != 0) != expects_error:
            run.failures.append(f"{place}: exit status {code}\n" + "\n".join(got))


def _blocks_in_order(run: Run, blocks: list[Block]) -> Iterator[Block]:
    for block in blocks:
        if run.server is not None and block.section != run.server_section:
            run.server.stop()  # the end of the server's section: Ctrl-C
            run.server = None
        yield block


def test_every_console_block_of_the_readme_prints_what_the_readme_prints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (BIN / "ratecard").exists(), "run 'make test' (it creates .venv) first"
    data = tmp_path / "data"
    data.mkdir()
    # a newcomer's shell: no ratecard settings, and not inside a make (under 'make test' the
    # nested 'make run' would print "Entering directory" lines)
    inherited = ("VIRTUAL_ENV", "PORT", "MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("RATECARD_") and key not in inherited
    }
    env |= {"XDG_DATA_HOME": str(data), "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}"}
    run = Run(env, Normalizer(data, _free_port()))
    blocks = parse(README.read_text(encoding="utf-8"))
    results = ROOT / "bench" / "RESULTS.md"
    results_before = results.read_bytes()
    try:
        for block in _blocks_in_order(run, blocks):
            if "skip" in block.directives:
                run.skipped.append(f"README.md:{block.line}: {block.directives['skip']}")
                continue
            if not block.commands:
                run.failures.append(
                    f"README.md:{block.line}: a console block with no '$ ' command and no "
                    "'<!-- readme-test: skip REASON -->' before it"
                )
                continue
            _run_block(run, block)
    finally:
        if run.server is not None:
            run.server.stop()
    with capsys.disabled():
        print(
            f"\nREADME console blocks: {len(blocks)}, commands run: {run.ran}, "
            f"blocks skipped: {len(run.skipped)}"
        )
        for skipped in run.skipped:
            print(f"  skipped {skipped}")
    assert results.read_bytes() == results_before, "a README command changed bench/RESULTS.md"
    assert not run.failures, "\n\n".join(run.failures)


@pytest.mark.parametrize(
    ("expected", "actual", "ok"),
    [
        (["a", "b"], ["a", "b"], True),
        (["a", "b"], ["a", "b", "c"], False),  # unprinted lines are not elided by default
        (["a", "..."], ["a", "b", "c"], True),
        (["...", "c"], ["c"], True),  # ``...`` may stand for no line
        (["a", "...", "c"], ["a", "x", "y", "c"], True),
        (["a", "...", "c"], ["a", "x", "y"], False),
        (['{"x": 1, ...'], ['{"x": 1, "y": 2}'], True),
        (['{"x": 1, ...'], ['{"x": 2, "y": 2}'], False),
        (["a"], ["b"], False),
    ],
)
def test_the_matching_rule(expected: list[str], actual: list[str], ok: bool) -> None:
    assert matches(expected, actual) is ok


def test_directives_belong_to_the_block_right_after_them() -> None:
    text = (
        "## One\n<!-- readme-test: skip why -->\n\n```console\nmake x\n```\n"
        "<!-- readme-test: vary seconds -->\nprose in between\n```console\n$ echo hi \\\n"
        "  there\nhi there\n```\n"
    )
    first, second = parse(text)
    assert first.directives == {"skip": "why"}
    assert first.commands == []
    assert second.directives == {}
    assert [(c.text, c.expected) for c in second.commands] == [
        ("echo hi \\\n  there", ["hi there"])
    ]
    assert second.section == "One"


def test_tokens_are_normalized_and_carried_into_later_commands(tmp_path: Path) -> None:
    norm = Normalizer(tmp_path, port=4321)
    readme, ours = "a" * 32, "b" * 32
    norm.learn_tokens(f"auth token {readme}", f"auth token {ours}")
    assert norm.command(f"curl -u AC:{readme} http://127.0.0.1:8000/x") == (
        f"curl -u AC:{ours} http://127.0.0.1:4321/x"
    )
    assert norm.actual(f"auth token: {ours} at 127.0.0.1:4321", [], {}) == (
        "auth token: <token> at 127.0.0.1:8000"
    )
