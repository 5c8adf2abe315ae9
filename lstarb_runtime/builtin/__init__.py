"""Plugins that ship with the runtime, registered through entry points like any other."""
