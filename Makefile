# meetq: `make demo` runs the whole product against the built-in simulator; `make test` proves it.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: install test demo browser soak bench example-config clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

test: $(STAMP) browser
	$(BIN)/pytest

# The dashboard tests drive Debian's chromium. Installed when missing and we may (root, apt).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is missing: install Debian's chromium to run the dashboard tests"; fi; }

# The long versions of the reliability tests: 10,000 chaotic answers, 200 kills, 5 minutes of readers.
soak: $(STAMP) browser
	MEETQ_SOAK=1 $(BIN)/pytest tests/test_reliability.py

demo: $(STAMP)
	$(BIN)/meetq demo

example-config: $(STAMP)
	$(BIN)/python -c "from meetq.config import example_toml; print(example_toml(), end='')" > config/meetq.example.toml

clean:
	rm -rf $(VENV) data/demo .pytest_cache
