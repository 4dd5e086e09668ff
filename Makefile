# The two commands a user needs: `make run` and `make test`. Everything they install lives here.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint format bench mutants schema clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/spyglass serve --demo --host 127.0.0.1 --port 8000

test: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -q -n auto

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Every benchmark at the 10M-event demo scale (the data set is built once, into .spyglass/).
bench: $(VENV)/.installed
	$(BIN)/python bench/data.py --events 10000000
	$(BIN)/python bench/properties.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/filters.py
	$(BIN)/python bench/trends.py
	$(BIN)/python bench/funnels.py
	$(BIN)/python bench/retention.py
	$(BIN)/python bench/paths.py
	$(BIN)/python bench/sampling.py

schema: $(VENV)/.installed
	$(BIN)/python -c "from gateway.schema import schema; open('schema.graphql', 'w').write(str(schema) + '\\n')"

mutants: $(VENV)/.installed
	$(BIN)/python tests/mutants.py

clean:
	rm -rf $(VENV) .spyglass .pytest_cache
