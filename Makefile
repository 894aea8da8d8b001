# Two commands for a newcomer: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
FLASK  := $(VENV)/bin/flask --app wsgi
STAMP  := $(VENV)/.installed

.PHONY: run test install test-deps translations messages screenshots clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP) translations

translations: $(STAMP)
	$(VENV)/bin/pybabel compile -D "messages maild" -d translations -f >/dev/null

# Re-extract strings and merge them into the catalogues (then translate the new ja entries):
# `messages` is the panel's domain, `maild` the daemon's own mail (warnings, bounces).
messages: $(STAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location -o translations/messages.pot .
	$(VENV)/bin/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching
	$(VENV)/bin/pybabel extract -F babel-maild.cfg -k N_ --no-location -o translations/maild.pot .
	$(VENV)/bin/pybabel update -D maild -i translations/maild.pot -d translations --no-fuzzy-matching

run: install
	$(FLASK) db upgrade
	$(FLASK) setup
	scripts/run-dev

test-deps:
	scripts/install-test-deps

test: install test-deps
	$(VENV)/bin/pytest -n 2 --dist loadgroup

screenshots: install test-deps
	$(PY) scripts/screenshots.py

clean:
	rm -rf $(VENV) instance
