# Two commands for a fresh machine: `make chat` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: chat index test bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --quiet -e '.[test]'
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

clean:
	rm -rf $(VENV) .attache .pytest_cache
