"""Loaded by Python at start-up in test subprocesses: block non-loopback network."""

import attache_netguard

attache_netguard.install()
