# meetq: `make demo` runs the whole product against the built-in simulator; `make test` proves it.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml setup.py | cksum | cut -d' ' -f1)

.PHONY: install lint test quick demo browser sqlite3-shell soak bench example-config clean

# Benchmarks: quick by default (they run, figures to bench/results/quick/); FULL=1 for RESULTS.md.
bench: $(STAMP)
	$(BIN)/python -m bench.run $(if $(FULL),--full,)

$(STAMP): pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,bench]'
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

# Two workers: the suite mostly waits (simulators, daemons, chromium); every test has its own
# ports and folders, the viewer's database is built once per worker.
test: lint browser sqlite3-shell
	$(BIN)/pytest -n 2

# One style, checked before any test runs (settings in pyproject.toml, [tool.ruff]).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The unit tests alone: pure functions, the schema on real files, settings. No simulator, no browser.
quick: lint
	$(BIN)/pytest -m "not e2e and not slow" -q

# The dashboard tests drive Debian's chromium. Installed when missing and we may (root, apt).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is missing: install Debian's chromium to run the dashboard tests"; fi; }

# The plain `sqlite3` shell reads the file as any client does (tests/test_plain_sql.py). Same rule.
sqlite3-shell:
	@command -v sqlite3 >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlite3 >/dev/null; \
	  else echo "sqlite3 is missing: install Debian's sqlite3 to run the plain-client test"; fi; }

# The long versions of the reliability tests: 10,000 chaotic answers, 200 kills, 5 minutes of readers.
soak: $(STAMP) browser
	MEETQ_SOAK=1 $(BIN)/pytest tests/test_reliability.py

demo: $(STAMP)
	$(BIN)/meetq demo

# The example settings file and the settings table of docs/settings.md, both generated from meetq/config.py.
example-config: $(STAMP)
	$(BIN)/python -c "from meetq.config import example_toml; print(example_toml(), end='')" > config/meetq.example.toml
	$(BIN)/python -c "import re, pathlib; from meetq.config import settings_markdown as t; \
	  p = pathlib.Path('docs/settings.md'); s = p.read_text(); \
	  p.write_text(re.sub(r'(<!-- settings:start[^>]*-->\n).*?(\n<!-- settings:end -->)', \
	  lambda m: m.group(1) + t() + m.group(2), s, flags=re.S))"

clean:
	rm -rf $(VENV) data/demo .pytest_cache
