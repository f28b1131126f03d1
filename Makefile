# Two commands for a fresh machine: `make chat` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements.lock
UV_VERSION := 0.13.9

.PHONY: chat index test bench lock clean

# Exact versions with their hashes from the lock file, then Attaché itself (editable).
$(STAMP): pyproject.toml $(LOCK)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

# Index the documents folder (only what changed), then open the chat.
chat: $(STAMP)
	@$(BIN)/attache index rebuild
	@$(BIN)/attache chat

index: $(STAMP)
	$(BIN)/attache index rebuild

# pytest exits 5 when it collects no test: that is a failure too.
test: $(STAMP)
	@$(BIN)/python -m pytest -q; status=$$?; \
	if [ $$status -eq 5 ]; then echo "error: no tests were collected" >&2; exit 1; fi; \
	exit $$status

bench: $(STAMP)
	$(BIN)/attache bench

# Re-resolve every dependency of pyproject.toml (and the test extra) to its newest allowed
# version, for Python 3.11+ on every platform, with hashes. Commit the result.
lock: $(STAMP)
	$(BIN)/python -m pip install --quiet --quiet uv==$(UV_VERSION)
	$(BIN)/uv pip compile pyproject.toml --extra test --universal --python-version 3.11 \
		--generate-hashes --no-header --quiet build-requirements.in -o $(LOCK)

clean:
	rm -rf $(VENV) .attache .pytest_cache
