"""The periods app on the module contract (core.modules): school years and terms, used by the other
modules; no pages, permissions or cards of its own."""

from core.modules import Module

MODULE = Module(label="periods")
