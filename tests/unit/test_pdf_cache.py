"""The per-process cache of laid-out PDFs (services/reports/documents.py PdfCache): a state laid
out once however many ask for it at the same time (the approval's warm-up and a download), the
least recently used state dropped first. No I/O."""

from __future__ import annotations

import threading

from services.reports.documents import PdfCache


def test_a_state_asked_for_twice_at_once_is_laid_out_once() -> None:
    cache = PdfCache()
    started, release = threading.Event(), threading.Event()
    calls: list[str] = []

    def slow() -> bytes:
        calls.append("slow")
        started.set()
        release.wait(10)
        return b"%PDF-first"

    got: list[bytes] = []
    first = threading.Thread(target=lambda: got.append(cache.made("k", slow)))
    first.start()
    started.wait(10)
    second = threading.Thread(target=lambda: got.append(cache.made("k", lambda: b"%PDF-again")))
    second.start()
    release.set()
    first.join(10)
    second.join(10)
    assert got == [b"%PDF-first", b"%PDF-first"] and calls == ["slow"]
    assert cache.made("k", lambda: b"%PDF-third") == b"%PDF-first"


def test_the_least_recently_used_state_goes_first() -> None:
    cache = PdfCache(size=2)
    cache.made("a", lambda: b"a")
    cache.made("b", lambda: b"b")
    assert cache.get("a") == b"a"  # a is used again: b is the oldest now
    cache.made("c", lambda: b"c")
    assert cache.get("b") is None and cache.get("a") == b"a" and len(cache) == 2
