"""One module per document format: each turns decoded text (or PDF bytes) into clean text and metadata."""
