"""The model at the bottom of mesh: requests, platform config, resolved specs, names, errors, the graph.

Everything above (per-cloud homes, components, stacks, services, the CLI) imports from here;
nothing here imports from any of them.
"""
