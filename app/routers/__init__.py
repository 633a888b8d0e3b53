"""Thin routes: parse, authorise, call a service, render or serialise, notify."""
