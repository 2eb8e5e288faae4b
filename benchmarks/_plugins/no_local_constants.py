"""Benchmark helper: stop Hypothesis from mining "local" modules for constants, in every variant alike.

Hypothesis (6.131+) biases generation with constants it reads from the source of every imported module it
considers the user's own: anything outside site-packages and the standard library that is not a test file.
pytest-memguard installed editable (``pip install -e``) and these helper plugins are such modules, so with
them loaded Hypothesis draws different examples (in attrs' suite, ~6% more draws and slower tests, with
no memguard marker at all): a difference in the tests run, not a cost of the plugin. A regular install
lives in site-packages and is never mined. This plugin, loaded in every variant (``-p no_local_constants``),
makes Hypothesis mine no module at all, so all variants run the same examples.
"""

from __future__ import annotations

try:
    from hypothesis.internal.conjecture import providers as _providers
except ImportError:  # no Hypothesis, or a version without local constants: nothing to do
    _providers = None  # type: ignore[assignment]

if _providers is not None and hasattr(_providers, "is_local_module_file"):
    _providers.is_local_module_file = lambda path: False  # type: ignore[assignment]
