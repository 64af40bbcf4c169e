"""The ledger app on the module contract (core.modules): a platform app that modules credit. Its one page
(a certificate) is mounted by the parent school's URLs, which declare it for the scope-leak walk."""

from core.modules import Module

MODULE = Module(label="ledger")
