"""A local stand-in for the Azure Functions host (Core Tools cannot be installed here).

It reads ``host.json`` and every ``function.json``, imports each function's
``main`` and delivers blob and queue triggers with Azure's semantics, passing
real ``azure.functions`` objects, so the function folders run unchanged on Azure.
"""
