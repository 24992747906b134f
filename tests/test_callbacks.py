"""The callback data contracts: every button's prefix names one class, so a press is never parsed by the
wrong flow (two classes with one prefix had to be kept field for field in step by hand)."""

from __future__ import annotations

import importlib
import pkgutil

from aiogram.filters.callback_data import CallbackData

import bot
import handlers


def _every_callback_class() -> list[type[CallbackData]]:
    for package in (bot, handlers):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if ".telegram_emulator" not in module.name and not module.name.endswith("__main__"):
                importlib.import_module(module.name)
    found: list[type[CallbackData]] = []
    todo = list(CallbackData.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return [c for c in found if c.__module__.startswith(("bot.", "handlers."))]


def test_no_two_callback_classes_share_a_prefix() -> None:
    classes = _every_callback_class()
    assert len(classes) >= 20  # every flow's, not an empty walk
    by_prefix: dict[str, list[str]] = {}
    for cls in classes:
        by_prefix.setdefault(cls.__prefix__, []).append(f"{cls.__module__}.{cls.__qualname__}")
    shared = {prefix: names for prefix, names in by_prefix.items() if len(names) > 1}
    assert shared == {}
