import itertools
import shutil

import pytest

from tasks.corpus.build import build_corpus, read_sources
from tasks.corpus.chunks import chunk_spans, tables
from tasks.corpus.config import CorpusConfig
from tasks.corpus.sources import Document, read_austen, read_reuters
from tasks.errors import InfopipeError

from ..conftest import ROOT

DEBIAN = ROOT / ".cache" / "debian"
# CI and `make install` fetch the packages with apt-get; only a machine without apt-get skips.
needs_debs = pytest.mark.skipif(shutil.which("apt-get") is None, reason="no apt-get on this machine")


def test_chunks_cover_the_text_at_sentence_ends():
    text = " ".join(f"Sentence number {i} has six words." for i in range(40))
    spans = chunk_spans(text, 25)
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert text[end - 1] == "." and text[end:start] == " "
    assert all(25 <= len(text[s:e].split()) <= 30 for s, e in spans[:-1])


def test_tables_keep_provenance():
    doc = Document("reuters", "acq-1", "TITLE", "One two. Three four. Five six.")
    frames = tables([doc], 2)
    assert frames["chunks"]["chunk_id"].to_list() == ["acq-1-000", "acq-1-001", "acq-1-002"]
    for start, end, text in frames["chunks"].select("start", "end", "text").rows():
        assert doc.text[start:end] == text


def test_missing_packages_are_skipped_in_one_line_or_fail_when_required(tmp_path, caplog):
    documents, skipped = read_sources(CorpusConfig(debian_root=str(tmp_path)))
    assert documents == [] and skipped == ["janeausten", "reuters"]
    assert "Debian package r-cran-janeaustenr not found" in caplog.text
    with pytest.raises(InfopipeError, match="r-cran-tm not found"):
        read_sources(CorpusConfig(debian_root=str(tmp_path), sources=["reuters"], required=True))
    frames, metrics = build_corpus(CorpusConfig(debian_root=str(tmp_path)))
    assert frames["chunks"].height == 0 and metrics["skipped"] == ["janeausten", "reuters"]


@needs_debs
def test_austen_novels_read_without_r():
    chapters = read_austen(DEBIAN)
    books = {d.doc_id.split("-")[0] for d in chapters}
    assert books == {"emma", "mansfieldpark", "northangerabbey", "persuasion", "prideprejudice",
                     "sensesensibility"}  # fmt: skip
    assert len(chapters) == 269  # 55 + 48 + 31 + 24 + 61 + 50
    pride = next(d for d in chapters if d.doc_id == "prideprejudice-001")
    assert pride.text.startswith("It is a truth universally acknowledged")
    assert 700_000 < sum(len(d.text.split()) for d in chapters) < 730_000


@needs_debs
def test_reuters_articles():
    articles = read_reuters(DEBIAN)
    assert len(articles) == 70
    shamrock = next(d for d in articles if d.doc_id == "crude-reut-00001")
    assert shamrock.title == "DIAMOND SHAMROCK (DIA) CUTS CRUDE PRICES"
    assert shamrock.text.startswith("Diamond Shamrock Corp said")
    assert not any(d.text.endswith("Reuter") or "&quot;" in d.text for d in articles)
