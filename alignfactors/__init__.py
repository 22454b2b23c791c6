"""alignfactors"""
