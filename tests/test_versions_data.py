"""Data versions equal dvc-data's own directory hash; the digest cache re-reads only changed files."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import dvc_data.hashfile.build as dvc_build  # the reference: dvc-data is a test dependency
import dvc_data.hashfile.db as dvc_db
import dvc_data.hashfile.tree as dvc_tree
import dvc_objects.fs.local as dvc_fs
import pytest

from provaudit.errors import InputError
from provaudit.versions.data import DigestCache, data_version

OLD = time.time_ns() - 3600 * 1_000_000_000  # an hour ago: outside the racy window


def dvc_hash(folder: Path, odb_dir: Path) -> tuple[str, dict[str, str]]:
    """dvc-data's own ``.dir`` hash of ``folder`` and the md5 of each file in its tree."""
    fs = dvc_fs.LocalFileSystem()
    odb = dvc_db.HashFileDB(fs, str(odb_dir))
    _, _, tree = dvc_build.build(odb, str(folder), fs, "md5", dry_run=True)
    assert isinstance(tree, dvc_tree.Tree) and tree.hash_info.value is not None
    files = {"/".join(key): str(hi.value) for key, _, hi in tree}
    return tree.hash_info.value, files


def make_folder(root: Path) -> Path:
    data = root / "data"
    (data / "sub" / "deeper").mkdir(parents=True)
    (data / "train.csv").write_text("a,b\n1,2\n3,4\n")
    (data / "windows.txt").write_bytes(b"line one\r\nline two\r\n")  # md5 of the bytes, no dos2unix
    (data / "empty").write_bytes(b"")
    (data / "with space.bin").write_bytes(bytes(range(256)) * 9)
    (data / "sub" / "données-ü.json").write_text('{"k": "v"}', encoding="utf-8")
    (data / "sub" / "deeper" / "x.npy").write_bytes(os.urandom(3000))
    (data / "sub-a").mkdir()  # sorts between "sub/" entries and "sub" as a string: order by relpath
    (data / "sub-a" / "f").write_text("f")
    (data / "sub" / "link.csv").symlink_to("../train.csv")  # inside the folder: hashed like DVC does
    for path in data.rglob("*"):
        if not path.is_symlink():
            os.utime(path, ns=(OLD, OLD))
    return data


def test_dir_hash_equals_dvc_data(tmp_path: Path) -> None:
    data = make_folder(tmp_path)
    expected, expected_files = dvc_hash(data, tmp_path / "odb")
    version = data_version(data, cache=False, with_files=True)
    assert version.dir_hash == expected
    assert version.dir_hash.endswith(".dir") and version.md5 == expected.removesuffix(".dir")
    assert version.files == len(expected_files) == 8
    assert version.entries is not None
    assert {e.relpath: e.md5 for e in version.entries} == expected_files
    assert expected_files["windows.txt"] == hashlib.md5(b"line one\r\nline two\r\n").hexdigest()
    assert (
        version.size
        == sum(e.size for e in version.entries)
        == sum(p.stat().st_size for p in data.rglob("*") if p.is_file())
    )
    assert version.skipped == () and version.dvc_compatible


def test_one_changed_byte_gives_a_new_version(tmp_path: Path) -> None:
    data = make_folder(tmp_path)
    before = data_version(data, cache=tmp_path / "cache.sqlite")
    raw = bytearray((data / "sub" / "deeper" / "x.npy").read_bytes())
    raw[1234] ^= 0x01
    (data / "sub" / "deeper" / "x.npy").write_bytes(bytes(raw))
    after = data_version(data, cache=tmp_path / "cache.sqlite")
    assert after.dir_hash != before.dir_hash
    assert after.dir_hash == dvc_hash(data, tmp_path / "odb")[0]
    assert after.hashed_paths == ("sub/deeper/x.npy",)
    (data / "sub" / "deeper" / "x.npy").unlink()  # a removed file is a new version as well
    assert data_version(data, cache=False).dir_hash not in {before.dir_hash, after.dir_hash}


def test_cache_rehashes_only_changed_files(tmp_path: Path) -> None:
    data = make_folder(tmp_path)
    for i in range(50):
        path = data / "many" / f"{i:03d}.txt"
        path.parent.mkdir(exist_ok=True)
        path.write_text(f"row {i}\n")
        os.utime(path, ns=(OLD, OLD))
    cache = tmp_path / "cache.sqlite"
    first = data_version(data, cache=cache)
    assert (first.files, first.hashed) == (58, 58)
    second = data_version(data, cache=cache)
    assert (second.hashed, second.reused, second.hashed_bytes) == (0, 58, 0)
    assert second.dir_hash == first.dir_hash

    target = data / "many" / "017.txt"
    target.write_text("row X\n")  # same size, new content
    os.utime(target, ns=(OLD + 5_000_000_000, OLD + 5_000_000_000))
    third = data_version(data, cache=cache)
    assert third.hashed_paths == ("many/017.txt",)
    assert third.dir_hash == dvc_hash(data, tmp_path / "odb")[0] != first.dir_hash
    assert data_version(data, cache=cache).hashed == 0  # the new digest was cached


def test_same_size_and_mtime_rewrite_is_not_trusted_when_racy(tmp_path: Path) -> None:
    """A file hashed within the racy window may change again in the same timestamp tick: not cached."""
    data = tmp_path / "d"
    data.mkdir()
    f = data / "a.txt"
    f.write_text("aaaa")
    cache = tmp_path / "cache.sqlite"
    first = data_version(data, cache=cache)
    st = f.stat()
    f.write_text("bbbb")
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size and mtime_ns, same inode
    second = data_version(data, cache=cache)
    assert second.hashed == 1
    assert second.dir_hash != first.dir_hash
    assert second.dir_hash == dvc_hash(data, tmp_path / "odb")[0]


def test_cache_is_keyed_by_inode(tmp_path: Path) -> None:
    data = make_folder(tmp_path)
    cache = tmp_path / "cache.sqlite"
    data_version(data, cache=cache)
    target = data / "train.csv"
    st = target.stat()
    replacement = tmp_path / "new.csv"
    replacement.write_text("a,b\n9,9\n3,4\n")  # same size
    os.utime(replacement, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(replacement, target)  # new inode, same size and mtime
    again = data_version(data, cache=cache)
    assert "train.csv" in again.hashed_paths
    assert again.dir_hash == dvc_hash(data, tmp_path / "odb")[0]


def test_cache_forgets_removed_files(tmp_path: Path) -> None:
    data = make_folder(tmp_path)
    with DigestCache(tmp_path / "cache.sqlite") as cache:
        data_version(data, cache=cache)
        assert len(cache.under(str(data))) == 8
        (data / "empty").unlink()
        data_version(data, cache=cache)
        assert sorted(Path(p).name for p in cache.under(str(data))).count("empty") == 0
        assert len(cache.under(str(data))) == 7


def test_symlinks_outside_and_special_files_are_skipped_with_a_reason(tmp_path: Path) -> None:
    data = make_folder(tmp_path)
    plain = data_version(data, cache=False).dir_hash
    outside = tmp_path / "secret.txt"
    outside.write_text("not part of the data")
    (data / "leak.txt").symlink_to(outside)
    (data / "dirlink").symlink_to(data / "sub", target_is_directory=True)
    (data / "dangling").symlink_to(data / "nope")
    os.mkfifo(data / "pipe")
    version = data_version(data, cache=False)
    kinds = {s.relpath: s.kind for s in version.skipped}
    assert kinds == {
        "leak.txt": "symlink-outside",
        "dirlink": "symlink-dir",
        "dangling": "broken-symlink",
        "pipe": "special",
    }
    reasons = {s.relpath: s.reason for s in version.skipped}
    assert "outside the folder" in reasons["leak.txt"] and "FIFO" in reasons["pipe"]
    assert version.dir_hash == plain  # none of them is part of the version
    assert not version.dvc_compatible  # DVC would have followed leak.txt (and stumbled on the rest)


def test_folder_symlink_alone_matches_dvc(tmp_path: Path) -> None:
    data = make_folder(tmp_path)
    (data / "dirlink").symlink_to(data / "sub", target_is_directory=True)
    version = data_version(data, cache=False)
    assert version.dvc_compatible
    assert version.dir_hash == dvc_hash(data, tmp_path / "odb")[0]


def test_progress_and_errors(tmp_path: Path) -> None:
    data = make_folder(tmp_path)
    calls: list[tuple[int, int]] = []
    data_version(data, cache=False, progress=lambda done, total: calls.append((done, total)))
    assert calls[0] == (0, 8) and calls[-1] == (8, 8)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    with pytest.raises(InputError, match="not a folder"):
        data_version(data / "train.csv", cache=False)


def test_large_files_hashed_on_threads_match(tmp_path: Path) -> None:
    data = tmp_path / "big"
    data.mkdir()
    for i in range(3):
        (data / f"part-{i}.bin").write_bytes(os.urandom((1 << 20) + 17 * i + 1))
    version = data_version(data, cache=False, with_files=True, jobs=3)
    assert version.dir_hash == dvc_hash(data, tmp_path / "odb")[0]
    assert version.entries is not None
    assert [e.md5 for e in version.entries] == [
        hashlib.md5((data / f"part-{i}.bin").read_bytes()).hexdigest() for i in range(3)
    ]
