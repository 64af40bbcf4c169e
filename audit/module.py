"""The audit app on the module contract (core.modules): its permission only (no pages of its own)."""

from audit import perms
from core.modules import Module

MODULE = Module(label="audit", perms=(perms.VIEW,))
