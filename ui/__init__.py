"""The browser client (HTML, CSS, plain JS modules), shipped as the package `safestream.ui`.

Nothing here runs as Python: the server reads these files with `importlib.resources`
(`files("safestream.ui")`), so an installed wheel serves the same client as a checkout.
"""
