"""The messaging app on the module contract (core.modules): a platform app that other modules call
(messaging.services.notify); it has no pages, cards or permissions of its own yet."""

from core.modules import Module

MODULE = Module(label="messaging")
