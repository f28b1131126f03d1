"""The keys of the metadata every stored chunk carries: one place names them.

The write path (index/build.py) sets them; the catalog and the read path
(retrieval/search.py, retrieval/extractive.py) read them back.
"""

from __future__ import annotations

SOURCE = "source"  # the document's path relative to the documents folder
TITLE = "title"
KIND = "kind"  # txt, md, html, pdf
POSITION = "position"  # the chunk's rank in its document
START = "start"  # offsets of the chunk in the document's clean text
END = "end"
DOC_SHA = "doc_sha"  # SHA-256 of the document's bytes
TEXT_SHA = "text_sha"  # hash of the embedded text (title and chunk)
OUTLET = "outlet"
AUTHOR = "author"
DATE = "date"
URL = "url"  # where the document can be read (front matter `url`)
# The chunk's sentences as "start-end;…" offsets into the chunk text, and their
# vectors (see index.embedding.pack_vectors), in the same order.
SENTENCE_SPANS = "sentence_spans"
SENTENCE_VECTORS = "sentence_vectors"

# Document fields copied onto each chunk when the document has them.
DOCUMENT_FIELDS = (OUTLET, AUTHOR, DATE, URL)

# Structure (index.documents.structure), offsets relative to the chunk text:
HEADING = "heading"  # the heading path at the chunk's start, "Charter › Priorities"
SECTIONS = "sections"  # JSON [[offset, heading path], …]: where each path takes over
PAGES = "pages"  # PDF: JSON [[offset, page], …], 1-based pages
ITEMS = "items"  # JSON [[start, end, ordinal, context], …]: list items and their list
LINKS = "links"  # JSON [[start, end, url], …]
