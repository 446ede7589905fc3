"""The generic registry: lazy entries, did-you-mean errors, duplicates, builtins and entry points."""

from __future__ import annotations

import math
import sys
import types
from importlib.metadata import EntryPoint

import pytest

from teachenv.core import registry as registry_module
from teachenv.core.errors import TeachEnvError, UnknownNameError
from teachenv.core.registry import Registry, import_string


@pytest.fixture
def no_entry_points(monkeypatch):
    monkeypatch.setattr(registry_module, "entry_points", lambda group: [])


def test_import_string_returns_the_named_attribute():
    assert import_string("math:sqrt") is math.sqrt


def test_import_string_without_a_colon_is_a_clear_error():
    with pytest.raises(TeachEnvError, match="module:attr"):
        import_string("math.sqrt")


def test_import_string_of_a_missing_attribute_names_module_and_attribute():
    with pytest.raises(TeachEnvError, match="'math' has no attribute 'nope'"):
        import_string("math:nope")


def test_lazy_entry_is_imported_only_on_first_get(tmp_path, monkeypatch, no_entry_points):
    module_name = "_teachenv_test_lazy_target"
    (tmp_path / f"{module_name}.py").write_text("class Thing:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, module_name, raising=False)
    reg = Registry("widget", "teachenv.widgets")
    reg.register("thing", f"{module_name}:Thing")
    assert "thing" in reg
    assert reg.names() == ["thing"]
    assert module_name not in sys.modules
    thing = reg.get("thing")
    assert module_name in sys.modules
    assert thing.__name__ == "Thing"
    assert reg.get("thing") is thing
    monkeypatch.delitem(sys.modules, module_name, raising=False)


def test_registered_objects_are_returned_as_is(no_entry_points):
    reg = Registry("widget", "teachenv.widgets")
    reg.register("sqrt", math.sqrt)
    assert reg.get("sqrt") is math.sqrt


def test_unknown_name_suggests_the_closest_and_lists_the_available(no_entry_points):
    reg = Registry("policy", "teachenv.policies")
    reg.register("weakest-skill", "math:sqrt")
    reg.register("uniform", "math:floor")
    with pytest.raises(UnknownNameError) as info:
        reg.get("weakest-skil")
    message = str(info.value)
    assert "Did you mean 'weakest-skill'?" in message
    assert "Available: uniform, weakest-skill." in message
    assert "'weakest-skil'" in message


def test_unknown_name_error_is_a_key_error_whose_message_is_not_quoted(no_entry_points):
    reg = Registry("widget", "teachenv.widgets")
    with pytest.raises(KeyError) as info:
        reg.get("x")
    assert isinstance(info.value, TeachEnvError)
    assert str(info.value).startswith("Unknown widget 'x'.")


def test_unknown_name_far_from_all_gives_no_suggestion(no_entry_points):
    reg = Registry("widget", "teachenv.widgets")
    reg.register("uniform", "math:floor")
    message = reg.unknown_message("zzzzzzzz")
    assert "Did you mean" not in message
    assert "Available: uniform." in message


def test_empty_registry_says_none_are_available(no_entry_points):
    assert "Available: (none)." in Registry("widget", "teachenv.widgets").unknown_message("x")


def test_registering_a_taken_name_to_another_target_raises(no_entry_points):
    reg = Registry("widget", "teachenv.widgets")
    reg.register("thing", "math:sqrt")
    with pytest.raises(TeachEnvError, match="'thing' is already registered"):
        reg.register("thing", "math:floor")
    assert reg.get("thing") is math.sqrt


def test_registering_the_same_target_twice_is_allowed(no_entry_points):
    reg = Registry("widget", "teachenv.widgets")
    reg.register("thing", "math:sqrt")
    reg.register("thing", "math:sqrt")
    assert reg.get("thing") is math.sqrt


def test_overwrite_replaces_a_registered_target(no_entry_points):
    reg = Registry("widget", "teachenv.widgets")
    reg.register("thing", "math:sqrt")
    reg.register("thing", "math:floor", overwrite=True)
    assert reg.get("thing") is math.floor


def test_registering_the_same_lazy_target_after_it_was_imported_is_allowed(no_entry_points):
    reg = Registry("widget", "teachenv.widgets")
    reg.register("thing", "math:sqrt")
    reg.get("thing")
    reg.register("thing", "math:sqrt")
    assert reg.get("thing") is math.sqrt


def test_builtins_module_is_imported_on_first_lookup(tmp_path, monkeypatch, no_entry_points):
    holder = types.ModuleType("_teachenv_test_holder")
    holder.REG = Registry("widget", "teachenv.widgets", builtins="_teachenv_test_builtins")
    monkeypatch.setitem(sys.modules, "_teachenv_test_holder", holder)
    (tmp_path / "_teachenv_test_builtins.py").write_text(
        "from _teachenv_test_holder import REG\nREG.register('builtin-thing', 'math:sqrt')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "_teachenv_test_builtins", raising=False)
    assert "_teachenv_test_builtins" not in sys.modules
    assert holder.REG.get("builtin-thing") is math.sqrt
    assert "_teachenv_test_builtins" in sys.modules
    monkeypatch.delitem(sys.modules, "_teachenv_test_builtins", raising=False)


def test_entry_points_of_the_kind_group_are_added(monkeypatch):
    groups = []

    def fake_entry_points(group):
        groups.append(group)
        return [EntryPoint(name="plugin", value="math:floor", group=group)] if group == "teachenv.widgets" else []

    monkeypatch.setattr(registry_module, "entry_points", fake_entry_points)
    reg = Registry("widget", "teachenv.widgets")
    reg.register("own", "math:sqrt")
    assert reg.names() == ["own", "plugin"]
    assert reg.get("plugin") is math.floor
    assert groups == ["teachenv.widgets"]


def test_entry_point_does_not_replace_an_entry_registered_in_code(monkeypatch):
    monkeypatch.setattr(
        registry_module, "entry_points",
        lambda group: [EntryPoint(name="own", value="math:floor", group=group)],
    )
    reg = Registry("widget", "teachenv.widgets")
    reg.register("own", "math:sqrt")
    assert reg.get("own") is math.sqrt


def test_module_registries_hold_the_builtin_components():
    assert "arith" in registry_module.tasks.names()
    assert {"uniform", "random", "weakest-skill"} <= set(registry_module.policies.names())
    assert "procedural" in registry_module.engines.names()
    assert "transformers" in registry_module.backends.names()
    assert registry_module.tasks.get("arith").__name__ == "ArithTask"


@pytest.mark.parametrize("reg", [registry_module.tasks, registry_module.policies, registry_module.engines,
                                 registry_module.backends], ids=lambda r: r.kind)
def test_every_registered_class_is_of_its_interface_and_named_by_its_id(reg):
    for name in reg.names():
        cls = reg.get(name)  # the base check runs here
        assert getattr(cls, "name", name) == name, f"{cls.__name__}.name is {cls.name!r}, registered as {name!r}"


def test_an_entry_that_is_not_a_subclass_of_the_interface_is_refused(no_entry_points):
    reg = Registry("task", "teachenv.test-none", base="teachenv.tasks.base:Task")
    reg.register("not-a-task", "math:sqrt")
    with pytest.raises(TeachEnvError, match="'not-a-task' is registered to 'math:sqrt', which is not a subclass of "
                                             "teachenv.tasks.base:Task; register a subclass of Task"):
        reg.get("not-a-task")
