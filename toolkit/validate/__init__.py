"""`toolkit validate`: what a rendered environment would meet at the API server, found first.

schemas (built-in kinds), crds (custom kinds), apis (removed and deprecated versions) and
policies each turn resources into findings; check runs them over one environment's render.
"""
