"""The core's public surface is small and deliberate; changing it should be a conscious act."""

from __future__ import annotations

import inspect

import comeback.testing
import lifecycle


def test_exported_members() -> None:
    assert sorted(lifecycle.__all__) == [
        "ApiSpec",
        "ComebackError",
        "Finding",
        "Lifecycle",
        "SourceError",
        "State",
        "load_spec",
    ]
    for name in lifecycle.__all__:
        assert getattr(lifecycle, name).__module__.startswith("lifecycle.")


def test_the_testing_module_exports_what_a_test_scripts_the_mock_with() -> None:
    module = comeback.testing
    assert sorted(module.__all__) == [
        "Journal",
        "MockServer",
        "START",
        "ScenarioPath",
        "at_once",
        "bundled_catalog",
    ]
    for name in module.__all__:
        assert hasattr(module, name), name
    # every public class or function the module defines is exported on purpose (or made private)
    defined = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and value.__module__ == module.__name__
    }
    assert defined <= set(module.__all__)
    for name in defined:
        assert inspect.getdoc(getattr(module, name)), f"{name} has no docstring"
