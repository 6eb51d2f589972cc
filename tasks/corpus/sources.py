"""Corpus readers, one per Debian package, registered by source name.

`make install` fetches the packages with `apt-get download` and unpacks them under
`corpus.debian_root` (no R needed): a reader finds its files there or raises InfopipeError.
"""

import bz2
import html
import lzma
import re
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

from tasks.errors import InfopipeError
from tasks.registry import Registry

R_LIBRARY = Path("usr/lib/R/site-library")


@dataclass(frozen=True)
class Document:
    source: str
    doc_id: str
    title: str  # provenance: book and chapter, or article title
    text: str


CORPORA: Registry[Callable[[Path], list[Document]]] = Registry("corpus source")


def _package_dir(root: Path, package: str, debian: str) -> Path:
    path = root / R_LIBRARY / package
    if not path.is_dir():
        raise InfopipeError(
            f"corpus.sources: {package}",
            f"Debian package {debian} not found under {root} (run `make install`, which uses apt-get)",
        )
    return path


def _unpack_rdb_blob(blob: bytes) -> bytes:
    """An R lazy-load blob: 4-byte big-endian length, a type byte (Z/2/X/0), then the stream."""
    size, kind = struct.unpack(">I", blob[:4])[0], blob[4:5]
    unpack: dict[bytes, Callable[[bytes], bytes]] = {
        b"X": lzma.decompress,
        b"2": bz2.decompress,
        b"0": bytes,
        b"Z": zlib.decompress,
    }
    data = unpack[kind](blob[5:]) if kind in unpack else zlib.decompress(blob[4:])
    if len(data) != size:
        raise InfopipeError("janeaustenr Rdata.rdb", f"corrupt blob ({len(data)} bytes, expected {size})")
    return data


@CORPORA.register("janeausten")
def read_austen(root: Path) -> list[Document]:
    """Six novels, one document per chapter."""
    import rdata  # the R-data adapter: only this reader needs it

    base = _package_dir(root, "janeaustenr", "r-cran-janeaustenr") / "data" / "Rdata"
    index = rdata.read_rds(str(base.with_suffix(".rdx")))
    blob = base.with_suffix(".rdb").read_bytes()
    documents = []
    for book, (offset, length) in sorted(index["variables"].items()):
        raw = _unpack_rdb_blob(blob[int(offset) : int(offset) + int(length)])
        lines = [str(line) for line in rdata.conversion.convert(rdata.parser.parse_data(raw))]
        for number, chapter in enumerate(_chapters(lines), start=1):
            documents.append(
                Document("janeausten", f"{book}-{number:03d}", f"{book}, chapter {number}", chapter)
            )
    return documents


def _chapters(lines: list[str]) -> list[str]:
    chapters: list[list[str]] = []
    for line in lines:
        if re.match(r"^\s*chapter\s+([0-9]+|[ivxlc]+)\b", line, re.IGNORECASE):
            chapters.append([])
        elif chapters:
            chapters[-1].append(line)
    paragraphs = ("\n".join(c).strip() for c in chapters)
    return [re.sub(r"(?<!\n)\n(?!\n)", " ", p) for p in paragraphs if p]


@CORPORA.register("reuters")
def read_reuters(root: Path) -> list[Document]:
    """The 20 'crude' and 50 'acq' Reuters-21578 articles shipped with tm, one document each."""
    texts = _package_dir(root, "tm", "r-cran-tm") / "texts"
    documents = []
    for path in sorted([*texts.glob("crude/*.xml"), *texts.glob("acq/*.xml")]):
        node = ElementTree.fromstring(path.read_bytes()).find("TEXT")
        if node is None:
            continue
        body = html.unescape(node.findtext("BODY") or "").replace("Reuter\n&#3;", "").strip()
        body = re.sub(r"\s*\n\s*", " ", re.sub(r"\n\s{3,}", "\n\n", body)).removesuffix(" Reuter")
        if body:
            documents.append(
                Document(
                    "reuters", f"{path.parent.name}-{path.stem}", node.findtext("TITLE") or path.stem, body
                )
            )
    return documents
