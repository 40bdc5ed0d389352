"""The prediction log: a hash chain that names the first removed, edited or reordered line."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

import provaudit
from provaudit.errors import InputError, ProvauditError
from provaudit.versions.commands import log_group
from provaudit.versions.predictions import LOG_ENV, log_files, log_prediction, read_prediction, verify_log

MODEL = {"id": "model:acme/credit-scorer", "version": "3f2a9c1"}


def write(log: Path, n: int, start: int = 0, **kwargs: object) -> list[str]:
    return [
        log_prediction(model=MODEL, inputs={"row": i, "x": [i, i / 2]}, output={"score": i % 7}, log=log, **kwargs)  # type: ignore[arg-type]
        for i in range(start, start + n)
    ]


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def independent_chain_check(files: list[Path]) -> int:
    """Verify the chain from the documented format alone (no provaudit code): returns the line count."""
    prev = None
    count = 0
    for file in files:
        for raw in lines(file):
            record = json.loads(raw)
            digest = record.pop("hash")
            body = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
            assert hashlib.sha256(body).hexdigest() == digest
            assert record["prev"] == prev
            prev = digest
            count += 1
    return count


def verify_cli(log: Path) -> tuple[int, str]:
    result = CliRunner().invoke(log_group, ["verify", str(log)])
    return result.exit_code, result.output


def test_line_format_and_chain(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    ids = write(log, 5)
    pid = log_prediction(
        model=MODEL, inputs={"b": 1, "a": "é"}, output=[1], request_id="req-1", log=log, keep_inputs=True
    )
    assert pid == "req-1" and len(set(ids)) == 5
    records = [json.loads(raw) for raw in lines(log)]
    assert records[0]["prev"] is None
    assert [r["id"] for r in records] == [*ids, "req-1"]
    last = records[-1]
    assert last["model"] == MODEL and last["output"] == [1] and last["v"] == 1
    assert last["inputs"] == {"a": "é", "b": 1}
    assert last["input_sha256"] == hashlib.sha256('{"a":"é","b":1}'.encode()).hexdigest()
    assert "inputs" not in records[0]
    assert last["time"].endswith("Z") and last["time"][:4].isdigit()
    assert independent_chain_check([log]) == 6
    report = verify_log(log)
    assert report.ok and report.lines == 6 and report.last_hash == last["hash"]
    code, out = verify_cli(log)
    assert code == 0, out
    assert "6 predictions" in out and last["hash"] in out


@pytest.mark.parametrize(
    ("damage", "bad_line", "kind"),
    [
        ("delete", 4, "removed"),  # line 4 is gone: the old line 5 (now 4) follows a missing line
        ("edit", 4, "edited"),
        ("swap", 4, "reordered"),
        ("delete-first", 1, "removed"),
        ("duplicate", 5, "duplicated"),
        ("truncate", 4, "malformed"),
    ],
)
def test_damage_is_found_and_named(tmp_path: Path, damage: str, bad_line: int, kind: str) -> None:
    log = tmp_path / "log.jsonl"
    write(log, 8)
    raw = lines(log)
    if damage == "delete":
        del raw[3]
    elif damage == "edit":
        raw[3] = raw[3].replace(b'"score":3', b'"score":4')
        assert b'"score":4' in raw[3]
    elif damage == "swap":
        raw[3], raw[4] = raw[4], raw[3]
    elif damage == "delete-first":
        del raw[0]
    elif damage == "duplicate":
        raw.insert(4, raw[3])
    elif damage == "truncate":
        raw[3] = raw[3][:50] + b"\n"
    log.write_bytes(b"".join(raw))
    report = verify_log(log)
    assert report.problem is not None
    assert (report.problem.line, report.problem.kind) == (bad_line, kind), str(report.problem)
    code, out = verify_cli(log)
    assert code == 1
    assert f"log.jsonl:{bad_line}: {kind}" in out


def test_swap_message_names_the_line_it_follows(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    write(log, 6)
    raw = lines(log)
    raw[1], raw[4] = raw[4], raw[1]
    log.write_bytes(b"".join(raw))
    problem = verify_log(log).problem
    assert problem is not None and problem.line == 2 and problem.kind == "reordered"
    assert "log.jsonl:4, which comes later" in problem.message


def test_rotation_keeps_one_chain(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    ids = write(log, 400, max_bytes=8_000)
    files = log_files(log)
    assert len(files) > 5
    assert files[-1] == log and files[0].name == f"log.jsonl.{len(files) - 1}"
    assert all(f.stat().st_size <= 8_000 for f in files)
    assert independent_chain_check(files) == 400
    assert json.loads(lines(log)[0])["prev"] == json.loads(lines(files[-2])[-1])["hash"]
    report = verify_log(log)
    assert report.ok and report.lines == 400 and len(report.files) == len(files)
    found = read_prediction(log, ids[3])
    assert found.file == files[0] and found.line == 4 and found.id == ids[3] and found.model == MODEL
    assert read_prediction(log, ids[-1]).file == log
    with pytest.raises(InputError, match="no prediction with id 'nope'"):
        read_prediction(log, "nope")

    files[2].unlink()  # a whole rotated file removed: the next file's first line names the gap
    problem = verify_log(log).problem
    assert problem is not None and problem.file == files[3] and problem.line == 1 and problem.kind == "removed"


def test_a_new_writer_continues_the_chain_of_a_rotated_log(tmp_path: Path) -> None:
    """An empty live file (just rotated) links to the last line of log.jsonl.1, also in a fresh process."""
    log = tmp_path / "log.jsonl"
    write(log, 3)
    log.rename(tmp_path / "log.jsonl.1")
    log.touch()
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(target=_log_many, args=(str(log), "fresh", 2))
    proc.start()
    proc.join(60)
    assert proc.exitcode == 0
    assert verify_log(log).ok and verify_log(log).lines == 5


def _log_many(log: str, worker: str, n: int) -> None:
    for i in range(n):
        log_prediction(model=MODEL, inputs=[worker, i], output=i, request_id=f"{worker}-{i}", log=log)


def test_threads_write_one_chain(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    threads = [threading.Thread(target=_log_many, args=(str(log), f"t{k}", 1500)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert independent_chain_check([log]) == 12_000
    ids = [json.loads(raw)["id"] for raw in lines(log)]
    assert len(set(ids)) == 12_000


def test_four_processes_times_ten_thousand(tmp_path: Path) -> None:
    """4 processes × 10,000 predictions at once (forked after the parent logged): one valid chain."""
    log = tmp_path / "log.jsonl"
    log_prediction(model=MODEL, inputs=None, output="parent", request_id="parent", log=log)
    ctx = multiprocessing.get_context("fork")  # children inherit the parent's open log: the hard case
    started = time.perf_counter()
    procs = [ctx.Process(target=_log_many, args=(str(log), f"p{k}", 10_000)) for k in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    elapsed = time.perf_counter() - started
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    report = verify_log(log)
    assert report.ok, str(report.problem)
    assert report.lines == 40_001
    records = [json.loads(raw) for raw in lines(log)]
    assert len({r["id"] for r in records}) == 40_001
    for k in range(4):  # each writer's own lines stay in its order
        mine = [int(r["id"].split("-")[1]) for r in records if r["id"].startswith(f"p{k}-")]
        assert mine == list(range(10_000))
    assert elapsed < 60, f"{elapsed:.1f} s"


def test_parallel_processes_across_rotation(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_log_rotating, args=(str(log), f"r{k}", 1_000)) for k in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    files = log_files(log)
    assert len(files) > 3
    assert independent_chain_check(files) == 3_000


def _log_rotating(log: str, worker: str, n: int) -> None:
    for i in range(n):
        log_prediction(model=MODEL, inputs=[worker, i], output=i, log=log, max_bytes=40_000)


@dataclass
class _Model:
    id: str
    digest: str


def test_model_forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "log.jsonl"
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"\x00weights" * 1000)
    monkeypatch.setenv(LOG_ENV, str(log))
    provaudit.log_prediction(model=weights, inputs=1, output=2, request_id="file")
    provaudit.log_prediction(model=str(weights), inputs=1, output=2, request_id="file-str")
    log_prediction(model="model:acme/m", inputs=1, output=2, request_id="id")
    log_prediction(model=_Model("model:acme/m", "sha256:abc"), inputs=1, output=2, request_id="obj")
    digest = "sha256:" + hashlib.sha256(weights.read_bytes()).hexdigest()
    assert read_prediction(None, "file").model == {"id": str(weights), "digest": digest}
    assert read_prediction(None, "file-str").model["digest"] == digest
    assert read_prediction(None, "id").model == {"id": "model:acme/m"}
    assert read_prediction(None, "obj").model == {"id": "model:acme/m", "digest": "sha256:abc"}
    weights.write_bytes(b"\x01weights" * 1000)  # a replaced model file gets its new digest
    log_prediction(model=weights, inputs=1, output=2, request_id="file-2")
    assert (
        read_prediction(None, "file-2").model["digest"] == "sha256:" + hashlib.sha256(weights.read_bytes()).hexdigest()
    )
    with pytest.raises(ProvauditError, match="needs an id"):
        log_prediction(model={"version": "1"}, inputs=1, output=2)
    with pytest.raises(ProvauditError, match="cannot log a value of type object"):
        log_prediction(model="m", inputs=object(), output=2)
    monkeypatch.delenv(LOG_ENV)
    with pytest.raises(ProvauditError, match=LOG_ENV):
        log_prediction(model="m", inputs=1, output=2)


def test_numpy_inputs_are_digested_as_lists(tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    log = tmp_path / "log.jsonl"
    log_prediction(model="m", inputs={"x": np.arange(3)}, output=np.float64(0.25), request_id="np", log=log)
    record = read_prediction(log, "np").record
    assert record["input_sha256"] == hashlib.sha256(b'{"x":[0,1,2]}').hexdigest()
    assert record["output"] == 0.25


def test_torn_tail_is_reported_and_writers_continue(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    write(log, 3)
    with open(log, "ab") as fh:
        fh.write(b'{"hash":"')  # an interrupted write
    problem = verify_log(log).problem
    assert problem is not None and (problem.line, problem.kind) == (4, "torn")
    write(log, 2, start=3)
    problem = verify_log(log).problem
    assert problem is not None and (problem.line, problem.kind) == (4, "malformed")
    assert json.loads(lines(log)[4])["prev"] == json.loads(lines(log)[2])["hash"]  # chained past the tear


def test_cli_registration_and_missing_log(tmp_path: Path) -> None:
    from provaudit.cli import main

    result = CliRunner().invoke(main, ["log", "verify", str(tmp_path / "none.jsonl")])
    assert result.exit_code == 2
    assert "no such prediction log" in result.output


def test_depends_on_and_code_are_chained_members_in_key_order(tmp_path: Path) -> None:
    log = tmp_path / "answers.jsonl"
    first = log_prediction(model=MODEL, inputs=1, output=2, log=log)
    pid = log_prediction(
        model=MODEL, inputs=2, output=3, log=log, depends_on=[first, "../emb/e.jsonl#e-1"], code={"commit": "1a2b"}
    )
    raw = lines(log)[1]
    keys = list(json.loads(raw))
    assert keys == ["hash", "code", "depends_on", "id", "input_sha256", "model", "output", "prev", "time", "v"]
    assert independent_chain_check([log]) == 2
    found = read_prediction(log, pid)
    assert found.depends_on == [first, "../emb/e.jsonl#e-1"] and found.code == {"commit": "1a2b"}
    with pytest.raises(ProvauditError, match="depends_on is a list"):
        log_prediction(model=MODEL, inputs=1, output=1, log=log, depends_on=first)  # type: ignore[arg-type]
    added = CliRunner().invoke(
        log_group,
        [
            *("add", str(log), "--model", "model:acme/m", "--digest", "sha256:ff", "--output", '{"s": 1}'),
            *("--depends-on", pid, "--code", "v2", "--id", "cli-1"),
        ],
    )
    assert added.exit_code == 0 and added.output.strip() == "cli-1"
    record = read_prediction(log, "cli-1").record
    assert record["model"] == {"id": "model:acme/m", "digest": "sha256:ff"} and record["output"] == {"s": 1}
    assert record["depends_on"] == [pid] and record["code"] == "v2" and verify_log(log).ok


def test_log_query_by_model_and_through_depends_on_across_logs(tmp_path: Path) -> None:
    emb_log, ans_log = tmp_path / "emb" / "e.jsonl", tmp_path / "answers.jsonl"
    old = {"id": "model:acme/emb", "digest": "sha256:" + "1" * 64}
    new = {"id": "model:acme/emb", "digest": "sha256:" + "2" * 64}
    e1 = log_prediction(model=old, inputs=1, output=[0.1], log=emb_log, request_id="e-1")
    e2 = log_prediction(model=new, inputs=2, output=[0.2], log=emb_log, request_id="e-2")
    s1 = log_prediction(model=MODEL, inputs=1, output=1, log=ans_log, depends_on=["emb/e.jsonl#e-1"])
    s2 = log_prediction(model=MODEL, inputs=2, output=0, log=ans_log, depends_on=["emb/e.jsonl#e-2"])
    final = log_prediction(model={"id": "model:acme/combiner"}, inputs=0, output=1, log=ans_log, depends_on=[s1])
    runner = CliRunner()
    result = runner.invoke(log_group, ["query", str(emb_log), str(ans_log), "--model", old["digest"], "--json"])
    assert result.exit_code == 0, result.output
    found = {p["id"]: p for p in json.loads(result.output)["predictions"]}
    assert set(found) == {e1, s1, final}  # e-2 (the new version) and what used it are not affected
    assert found[e1]["direct"] and not found[e1]["final"] and found[final]["via"] == [e1, s1]
    assert found[final]["final"] and found[final]["file"] == str(ans_log) and found[final]["line"] == 3
    by_id = runner.invoke(log_group, ["query", str(emb_log), str(ans_log), "--model", "acme/emb", "--json"])
    assert {p["id"] for p in json.loads(by_id.output)["predictions"]} == {e1, e2, s1, s2, final}
    window = runner.invoke(
        log_group, ["query", str(ans_log), "--model", MODEL["id"], "--since", read_prediction(ans_log, s2).time]
    )
    assert window.exit_code == 0 and s2 in window.output and s1 not in window.output
    text = lines(emb_log)
    emb_log.write_bytes(text[0].replace(b"0.1", b"0.9") + text[1])
    broken = runner.invoke(log_group, ["query", str(emb_log), str(ans_log), "--model", old["digest"]])
    assert broken.exit_code == 1 and f"chain broken at {emb_log}:1: edited" in broken.output


def test_a_reader_whose_files_another_reader_indexed_further_sees_no_truncation(tmp_path: Path) -> None:
    from provaudit.versions.logindex import LogIndex

    log = tmp_path / "p.jsonl"
    ids = write(log, 5)
    with LogIndex(log) as early:
        assert early.stream.end == log.stat().st_size  # its view of the files, taken now
        later_ids = write(log, 3, start=5)
        with LogIndex(log) as other:
            assert other.update() is None  # indexes all 8 lines
        assert early.update() is None
        assert early.prediction(ids[2]).line == 3 and early.prediction(later_ids[-1]).line == 8
